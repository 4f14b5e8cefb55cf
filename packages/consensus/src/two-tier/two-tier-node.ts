// TwoTierNode: one node of one AZ in the two-tier design (docs/architecture.md §3).
//
// It runs the AZ's local group through a NodeDriver and the AZ's global seat through a SeatHost,
// and feeds the application (the PKI state machine, for us) two ordered streams, both derived from
// the local log alone so that every node of the AZ applies exactly the same sequence:
//   - local commands (`proposeLocal`), applied when their local entry commits;
//   - global commands (`proposeGlobal`), applied when the seat record that marks them committed
//     in the global group is itself committed locally.
// Every applied command gets the next value of one counter (`seq`), which the application uses
// as its own monotonically increasing index.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type ClockTimer } from '../clock.ts';
import type { RaftConfig } from '../config.ts';
import { decodeValue, encodeValue } from '../codec.ts';
import { DriverError, type Applied } from '../driver-requests.ts';
import type { Message } from '../messages.ts';
import { NodeDriver, type DriverStatus, type StateMachine } from '../node-driver.ts';
import type { RaftStatus } from '../raft-core.ts';
import type { RandomSource } from '../random.ts';
import type { Storage } from '../storage.ts';
import type { Transport } from '../transport.ts';
import type { ConfChange, ConfState, Entry, NodeId, Role, SnapshotMetadata } from '../types.ts';
import { decodeGlobalEntry, decodeLocalEntry, encodeGlobalEntry, encodeLocalEntry } from './envelope.ts';
import { SeatHost } from './seat-host.ts';
import { decodeSeatState, encodeSeatState } from './seat-log.ts';
import { StateTransfer, type StateFrameChannel, type StateOnDisk } from './state-transfer.ts';

/** Where an applied command came from. */
export interface CommandMeta {
  /** The application's index: one counter over local and global commands, in apply order. */
  seq: number;
  tier: 'local' | 'global';
  /** The AZ whose node proposed it (global commands; the own AZ for local ones). */
  az: string;
}

/** The replicated application under both tiers. Must be deterministic. */
export interface TwoTierApplication<R> {
  apply(data: Uint8Array, meta: CommandMeta): R | Promise<R>;
  /** Application state as of the last applied command. */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the whole state (`seq` is the last applied command's). */
  restore(data: Uint8Array, seq: number): void | Promise<void>;
  /** Forget everything (a node starting from an empty local log). */
  reset(): void | Promise<void>;
  /**
   * For an application that keeps its state on disk: the `seq` of the last command it holds.
   * A local snapshot at or below it is not restored (the state on disk is at least as new), and
   * the commands replayed from the log up to it are the application's to skip. Without it, the
   * application is restored from every snapshot.
   */
  appliedSeq?(): number;
  /**
   * Called after each batch of applied commands (one local Ready's committed entries, before the
   * driver reports them applied): an application on disk writes them here, in one write.
   */
  flush?(): void | Promise<void>;
  /**
   * For an application on disk whose state can travel in chunks (state-transfer.ts): with a
   * `stateChannel`, local snapshots then only describe the state (`seq`), and a replica whose
   * state is behind a snapshot it installs fetches the state from a peer of its AZ, so no one
   * holds the whole state in memory. Every `flush` must then be durable.
   */
  stateOnDisk?: DurableState;
}

/** The state on disk, and making what was applied so far durable (before a snapshot compacts the log over it). */
export interface DurableState extends StateOnDisk {
  sync(): Promise<void>;
}

export interface TwoTierNodeOptions<R> {
  nodeId: NodeId;
  az: string;
  storage: Storage;
  /** Local group messages (addressed by node id). */
  localTransport: Transport;
  /** Seat messages (addressed by AZ name): route them to the AZ's nodes; deliver ours here. */
  seatTransport: Transport;
  app: TwoTierApplication<R>;
  localRaft?: Partial<RaftConfig>;
  /** The global group is slower per round (each seat step is a local commit): longer timeouts. */
  globalRaft: RaftConfig;
  tickMs: number;
  clock?: Clock;
  random: RandomSource;
  /** Local membership for a node that founds its AZ: itself as the only voter. */
  localInitialConfState?: ConfState;
  /** Global membership for the seat that founds the cluster: its AZ as the only voter. */
  globalInitialConfState?: ConfState;
  snapshotEveryEntries?: number;
  /** Frames between the nodes of this AZ for state transfer (with `app.stateOnDisk`: descriptor snapshots). */
  stateChannel?: StateFrameChannel;
  /** What the state transfer does (a fetch begun and ended, a peer given up), for the operator's log. */
  onStateTransfer?: (message: string) => void;
  /** Ticks a global proposal may wait for its local apply before it fails (default 10 global election timeouts). */
  globalRequestTimeoutTicks?: number;
  /** Request ids (only for matching outcomes to local waiters; defaults to UUIDs). */
  newRequestId?: () => string;
  /**
   * Do not act for the AZ's seat until `releaseSeat()`. A node founding its AZ holds it until the
   * global leader has accepted it as the founder: another node of the AZ may be founding at the
   * same moment, and seat messages are addressed to the AZ, so only the accepted founder's local
   * group may ever answer them (two groups answering would be two Raft members with one id).
   */
  seatHeld?: boolean;
}

export interface TwoTierStatus {
  nodeId: NodeId;
  az: string;
  local: DriverStatus;
  /** The seat's Raft status, only on the AZ's local leader while it acts for the seat. */
  seat: RaftStatus | null;
  seq: number;
  globalApplied: number;
}

export type TwoTierErrorCode = 'ERR_NOT_LOCAL_LEADER' | 'ERR_SEAT_INACTIVE' | 'ERR_GLOBAL_TIMEOUT' | 'ERR_STOPPED' | 'ERR_STATE_LOST';

export class TwoTierError extends Error {
  constructor(
    readonly code: TwoTierErrorCode,
    message: string,
    readonly localLeaderId: NodeId | null = null,
  ) {
    super(`${code}: ${message}`);
    this.name = 'TwoTierError';
  }
}

interface GlobalWaiter<R> {
  resolve(r: R): void;
  reject(e: Error): void;
  deadlineTick: number;
}

type Listener = (e: { tier: 'local' | 'global'; role: Role; leaderId: NodeId | null; term: number }) => void;

export class TwoTierNode<R> {
  readonly nodeId: NodeId;
  readonly az: string;
  private driver!: NodeDriver<R | null>;
  private readonly seat: SeatHost;
  private seq = 0;
  private ticks = 0;
  private timer: ClockTimer | null = null;
  private readonly globalWaiters = new Map<string, GlobalWaiter<R>>();
  private readonly listeners = new Set<Listener>();
  private localRole: Role = 'follower';
  private localTerm = 0;
  private activating: number | null = null;
  private activateRetryTick = 0;
  private lastSeatRole: Role | null = null;
  private seatHeld: boolean;
  private lastSeatLeader: NodeId | null = null;
  private stopped = false;
  private driverFailed = false;
  /** Serves this node's state to peers and fetches theirs (only with `stateOnDisk` and `stateChannel`). */
  private readonly transfer: StateTransfer | null;
  /** False while NodeDriver.start recovers the state machine. */
  private driverStarted = false;

  private constructor(private readonly options: TwoTierNodeOptions<R>) {
    this.seatHeld = options.seatHeld ?? false;
    this.nodeId = options.nodeId;
    this.az = options.az;
    const onDisk = options.app.stateOnDisk;
    this.transfer =
      onDisk && options.stateChannel
        ? new StateTransfer({
            self: options.nodeId,
            channel: options.stateChannel,
            state: onDisk,
            clock: options.clock ?? systemClock,
            tickMs: options.tickMs,
            ...(options.onStateTransfer ? { log: options.onStateTransfer } : {}),
          })
        : null;
    this.seat = new SeatHost({
      az: options.az,
      config: options.globalRaft,
      random: options.random,
      ...(options.globalInitialConfState ? { initialConfState: options.globalInitialConfState } : {}),
      proposeRecord: (record, origin) => {
        if (this.stopped) return;
        // Lost proposals are retried by the seat; a deposed local leader's are refused here.
        this.driver.propose(encodeLocalEntry({ kind: 'seat', origin, record })).catch(() => {});
      },
      send: (messages) => options.seatTransport.send(messages),
    });
  }

  static async start<R>(options: TwoTierNodeOptions<R>): Promise<TwoTierNode<R>> {
    const node = new TwoTierNode(options);
    await options.app.reset();
    options.seatTransport.onMessage((m) => node.onSeatMessage(m));
    node.driver = await NodeDriver.start<R | null>({
      id: options.nodeId,
      storage: options.storage,
      transport: options.localTransport,
      stateMachine: node.stateMachine(),
      ...(options.localRaft ? { raft: options.localRaft } : {}),
      tickMs: options.tickMs,
      ...(options.clock ? { clock: options.clock } : {}),
      random: options.random,
      ...(options.localInitialConfState ? { initialConfState: options.localInitialConfState } : {}),
      ...(options.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: options.snapshotEveryEntries } : {}),
    });
    node.driverStarted = true;
    node.driver.on('fatal', () => (node.driverFailed = true));
    node.driver.on('roleChange', (e) => node.onLocalRole(e.role, e.term));
    node.driver.on('leaderChange', (e) => node.emit({ tier: 'local', role: node.localRole, leaderId: e.leaderId, term: e.term }));
    node.timer = (options.clock ?? systemClock).setInterval(() => node.onTick(), options.tickMs);
    return node;
  }

  // ---- client API ----

  /** Applies `data` through the local group; only the local leader proposes. */
  async proposeLocal(data: Uint8Array): Promise<R> {
    const applied = await this.localPropose(encodeLocalEntry({ kind: 'app', reqId: null, data }));
    return applied.result as R;
  }

  /**
   * Applies `data` through the global group; resolves once the global commit has been applied
   * in this AZ (so every AZ will apply it). Only the local leader, acting for the seat, proposes.
   */
  proposeGlobal(data: Uint8Array): Promise<R> {
    if (this.stopped) return Promise.reject(new TwoTierError('ERR_STOPPED', 'node stopped'));
    if (!this.seatActsLive()) {
      return Promise.reject(
        new TwoTierError('ERR_SEAT_INACTIVE', `${this.nodeId} does not act for seat ${this.az}`, this.driver.status().leaderId),
      );
    }
    const reqId = (this.options.newRequestId ?? randomUUID)();
    const timeout = this.options.globalRequestTimeoutTicks ?? 10 * this.options.globalRaft.electionTimeoutTicks;
    return new Promise<R>((resolve, reject) => {
      this.globalWaiters.set(reqId, { resolve, reject, deadlineTick: this.ticks + timeout });
      try {
        this.seat.propose(encodeGlobalEntry({ reqId, az: this.az, data }));
      } catch (error) {
        this.globalWaiters.delete(reqId);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Local membership (learner first, then promote: thesis §4.2.1). Local leader only. */
  changeLocalMembership(cc: ConfChange): Promise<Applied<R | null>> {
    return this.driver.changeMembership(cc);
  }

  /** Global membership (AZ seats). Acting seat only; the change is forwarded to the global leader. */
  changeGlobalMembership(cc: ConfChange): void {
    this.seatActsLive();
    this.seat.proposeConfChange(cc);
  }

  /** Linearizable local read barrier (ReadIndex on the local group). */
  readIndex(): Promise<void> {
    return this.driver.readIndex();
  }

  campaignLocal(): void {
    this.driver.campaign();
  }

  /** True until `releaseSeat()` for a node started with `seatHeld` (its group may not be the AZ's). */
  isSeatHeld(): boolean {
    return this.seatHeld;
  }

  /** Ends `seatHeld`: this AZ's local group is the one that acts for its seat. */
  releaseSeat(): void {
    if (!this.seatHeld) return;
    this.seatHeld = false;
    if (this.localRole === 'leader' && !this.seat.isActive()) this.proposeActivate();
  }

  /** Starts a global election for this AZ's seat now (e.g. the founding seat). */
  campaignGlobal(): void {
    if (this.seatActsLive()) this.seat.campaign();
  }

  transferLocalLeadership(to: NodeId): Promise<void> {
    return this.driver.transferLeadership(to);
  }

  status(): TwoTierStatus {
    return {
      nodeId: this.nodeId,
      az: this.az,
      local: this.driver.status(),
      seat: this.seat.status(),
      seq: this.seq,
      globalApplied: this.seat.globalAppliedIndex(),
    };
  }

  /** True once stopped, or once the local driver stopped itself (status().local.stopped, without building a status). */
  isHalted(): boolean {
    return this.stopped || this.driverFailed;
  }

  isLocalLeader(): boolean {
    return this.localRole === 'leader';
  }

  /** True while this node is the global leader's acting seat and holds both leases. */
  isGlobalLeader(): boolean {
    return this.isLocalLeader() && this.driver.hasQuorumLease() && this.seat.hasGlobalLease();
  }

  hasLocalLease(): boolean {
    return this.isLocalLeader() && this.driver.hasQuorumLease();
  }

  /** Local leader: ticks until every earlier local leader's lease has provably lapsed (RaftCore.priorLeaseRemainingTicks). */
  localPriorLeaseRemainingTicks(): number | null {
    return this.driver.priorLeaseRemainingTicks();
  }

  /** Role and leader changes of either tier. */
  onRoleChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.seat.deactivate();
    for (const w of this.globalWaiters.values()) w.reject(new TwoTierError('ERR_STOPPED', 'node stopped'));
    this.globalWaiters.clear();
    await this.options.seatTransport.close();
    // The driver halts at once and then waits for its Ready, which a fetch in progress holds
    // (a snapshot being restored): closing the transfer ends it.
    const driverStopped = this.driver.stop();
    await this.transfer?.close();
    await driverStopped;
  }

  // ---- local state machine: local entries, seat records, global entries ----

  private stateMachine(): StateMachine<R | null> {
    return {
      apply: (entries) => this.applyLocalEntries(entries),
      snapshot: async () => {
        // Read before the awaits: the driver snapshots between Readies, nothing applies meanwhile.
        const seat = encodeSeatState(this.seat.seatState());
        const common = { seq: this.seq, seat, globalApplied: this.seat.globalAppliedIndex() };
        if (this.transfer === null) return encodeValue({ v: 1, ...common, app: await this.options.app.snapshot() });
        // v2 names the state instead of holding it: durable first, as the log is compacted over it.
        await this.options.app.stateOnDisk!.sync();
        return encodeValue({ v: 2, ...common });
      },
      restore: async (data: Uint8Array, metadata: SnapshotMetadata) => {
        const m = decodeValue(data) as { v: 1 | 2; seq: number; app?: Uint8Array; seat: Uint8Array; globalApplied: number };
        const durableSeq = this.options.app.appliedSeq?.() ?? null;
        if (durableSeq === null || durableSeq < m.seq) {
          if (m.v !== 2) await this.options.app.restore(m.app!, m.seq);
          else await this.fetchState(m.seq, metadata);
        }
        this.seq = m.seq;
        this.seat.restoreSeatState(decodeSeatState(m.seat), m.globalApplied);
      },
    };
  }

  /**
   * A descriptor snapshot whose state this node lacks: the state of a peer at `seq` or later
   * replaces ours, and the log's commands up to the peer's `seq` are then skipped (appliedSeq).
   * Not at start-up (before the network is up, nothing could answer): the state on disk is
   * synced before every snapshot, so only a lost or damaged state directory gets here.
   */
  private async fetchState(seq: number, metadata: SnapshotMetadata): Promise<void> {
    if (this.transfer === null || !this.driverStarted) {
      throw new TwoTierError(
        'ERR_STATE_LOST',
        `the state on disk holds seq ${this.options.app.appliedSeq?.() ?? 0}, behind the local snapshot's ${seq}: the state directory was lost or damaged (remove this node's data and join again)`,
      );
    }
    const members = [...metadata.confState.voters, ...metadata.confState.learners].filter((id) => id !== this.nodeId);
    const log = this.options.onStateTransfer;
    log?.(`state transfer: the local snapshot at index ${metadata.index} names seq ${seq}, the state on disk holds ${this.options.app.appliedSeq?.() ?? 0}: fetching it from a peer of ${this.az}`);
    const installed = await this.transfer.fetch(seq, () => {
      const leader = this.driver.status().leaderId;
      return leader !== null && members.includes(leader) ? [leader, ...members.filter((id) => id !== leader)] : members;
    });
    log?.(`state transfer: installed the state at seq ${installed}`);
  }

  private async applyLocalEntries(entries: readonly Entry[]): Promise<(R | null)[]> {
    const results: (R | null)[] = [];
    for (const entry of entries) results.push(await this.applyLocalEntry(entry));
    const flushed = this.options.app.flush?.();
    if (flushed !== undefined) await flushed;
    return results;
  }

  private async applyLocalEntry(entry: Entry): Promise<R | null> {
    if (entry.type !== 'normal' || entry.data.byteLength === 0) return null;
    const e = decodeLocalEntry(entry.data);
    if (e === null) return null; // not ours: skipped alike on every replica
    switch (e.kind) {
      case 'app':
        return this.options.app.apply(e.data, { seq: ++this.seq, tier: 'local', az: this.az });
      case 'activate':
        if (e.localTerm === this.activating && this.localRole === 'leader' && this.localTerm === e.localTerm && this.isLiveLocalLeader()) {
          this.activating = null;
          this.seat.activate(e.localTerm);
          this.noteSeatRole();
        }
        return null;
      case 'seat': {
        if (e.record.az !== this.az) return null;
        // Entries committed by a successor are applied before the driver reports our step-down
        // (apply precedes advance): a deposed leader never sends the messages of a record it did
        // not see committed as leader.
        this.seatActsLive();
        let committed;
        try {
          committed = this.seat.applyRecord(e.record, e.origin);
        } catch {
          return null; // a record breaking the seat's durable invariants is refused alike everywhere
        }
        if (committed.snapshot) throw new Error('global snapshots are not produced by this version');
        for (const ge of committed.entries) await this.applyGlobalEntry(ge);
        this.noteSeatRole();
        return null;
      }
    }
  }

  private async applyGlobalEntry(entry: Entry): Promise<void> {
    if (entry.type !== 'normal' || entry.data.byteLength === 0) return;
    const g = decodeGlobalEntry(entry.data);
    if (g === null) return;
    const result = await this.options.app.apply(g.data, { seq: ++this.seq, tier: 'global', az: g.az });
    if (g.reqId !== null && g.az === this.az) {
      const w = this.globalWaiters.get(g.reqId);
      if (w) {
        this.globalWaiters.delete(g.reqId);
        w.resolve(result);
      }
    }
  }

  // ---- roles ----

  private async localPropose(bytes: Uint8Array): Promise<Applied<R | null>> {
    try {
      return await this.driver.propose(bytes);
    } catch (error) {
      if (error instanceof DriverError && error.code === 'ERR_NOT_LEADER') {
        throw new TwoTierError('ERR_NOT_LOCAL_LEADER', `${this.nodeId} is not the local leader of ${this.az}`, error.leaderId);
      }
      throw error;
    }
  }

  private onLocalRole(role: Role, term: number): void {
    this.localRole = role;
    this.localTerm = term;
    if (role !== 'leader') {
      this.activating = null;
      this.seat.deactivate();
    } else if (!this.seatHeld) {
      // Raft §8: entries of earlier terms are known committed only once one of this term is.
      // Activation waits for that, so the seat is rebuilt from everything ever committed.
      this.proposeActivate();
    }
    this.emit({ tier: 'local', role, leaderId: role === 'leader' ? this.nodeId : this.driver.status().leaderId, term });
    this.noteSeatRole();
  }

  /**
   * True while the seat is active and this node's Raft core still leads the local term the seat
   * was activated in; otherwise deactivates it. The driver reports a step-down only after the Ready
   * carrying it is persisted and applied (node-driver.ts handleReady), while its core is a follower
   * from the moment it stepped the higher-term message; a seat stepped or ticked in between would
   * act for the AZ next to its successor's seat: two members of the global group with one id.
   * Every seat input checks here first.
   */
  private seatActsLive(): boolean {
    if (!this.seat.isActive()) return false;
    if (this.isLiveLocalLeader()) return true;
    this.seat.deactivate();
    this.noteSeatRole();
    return false;
  }

  private isLiveLocalLeader(): boolean {
    const live = this.driver.status();
    return live.role === 'leader' && live.term === this.localTerm;
  }

  /** The marker may be lost (e.g. proposed as leadership moves): retried from onTick. */
  private proposeActivate(): void {
    this.activating = this.localTerm;
    this.activateRetryTick = this.ticks + (this.options.localRaft?.electionTimeoutTicks ?? 10);
    this.driver.propose(encodeLocalEntry({ kind: 'activate', localTerm: this.localTerm })).catch(() => {});
  }

  private onSeatMessage(message: Message): void {
    if (this.stopped || !this.seatActsLive()) return;
    this.seat.step(message);
    this.noteSeatRole();
  }

  private onTick(): void {
    if (this.stopped) return;
    this.ticks++;
    // A local leader that lost its quorum steps down by check-quorum (RaftCore), which
    // deactivates the seat through onLocalRole; records it proposes meanwhile cannot commit.
    if (this.localRole === 'leader' && !this.seatHeld && !this.seat.isActive() && this.ticks >= this.activateRetryTick) this.proposeActivate();
    if (this.seatActsLive()) this.seat.tick();
    this.noteSeatRole();
    for (const [id, w] of this.globalWaiters) {
      if (this.ticks >= w.deadlineTick) {
        this.globalWaiters.delete(id);
        w.reject(new TwoTierError('ERR_GLOBAL_TIMEOUT', 'global commit not applied in time (no global quorum?)'));
      }
    }
  }

  private noteSeatRole(): void {
    const s = this.seat.status();
    const role = s?.role ?? 'follower';
    const leader = s?.leaderId ?? null;
    if (role === this.lastSeatRole && leader === this.lastSeatLeader) return;
    this.lastSeatRole = role;
    this.lastSeatLeader = leader;
    this.emit({ tier: 'global', role, leaderId: leader, term: s?.term ?? 0 });
  }

  private emit(e: Parameters<Listener>[0]): void {
    for (const l of this.listeners) l(e);
  }
}
