// NodeDriver: runs one RaftCore against real I/O. The core is a pure state machine; the driver
// owns the clock, the disk (Storage), the network (Transport) and the application (StateMachine),
// and carries out each Ready's duties in the order ready.ts prescribes:
//   persist (sync) → send → apply (snapshot first) → advance,
// one Ready at a time. Everything the core does is triggered from here: ticks from the Clock,
// messages from the Transport, and client calls (propose, readIndex, membership, transfer).
import { systemClock, type Clock, type ClockTimer } from './clock.ts';
import { encodeConfChange } from './conf-change.ts';
import { validateRaftConfig, type RaftConfig } from './config.ts';
import {
  ApplyWaiters,
  DriverError,
  ProposalTracker,
  ReadTracker,
  type Applied,
} from './driver-requests.ts';
import { RaftError } from './errors.ts';
import type { Message } from './messages.ts';
import { RaftCore, type RaftStatus } from './raft-core.ts';
import { systemRandom, type RandomSource } from './random.ts';
import type { Ready } from './ready.ts';
import type { Storage, StorageState } from './storage.ts';
import type { Transport } from './transport.ts';
import type { ConfChange, ConfState, Entry, NodeId, Role, Snapshot, SnapshotMetadata } from './types.ts';

/**
 * The replicated application. It receives EVERY committed entry in log order, including Raft's
 * own: the leader's empty no-op of each term (Raft §8) and `confChange` entries (membership,
 * already applied by the core) — skip those, but they still advance the applied index.
 */
export interface StateMachine<R = unknown> {
  /** Applies entries in order; may return one result per entry (given back to propose()). */
  apply(entries: readonly Entry[]): readonly R[] | void | Promise<readonly R[] | void>;
  /** The whole state as of the last applied entry (the driver does not apply while it runs). */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the whole state with a snapshot's data. */
  restore(data: Uint8Array, metadata: SnapshotMetadata): void | Promise<void>;
  /**
   * For a state machine that persists itself: the index it has durably applied through. The
   * driver then restores from the snapshot only if the snapshot is newer. In-memory state
   * machines leave this out and are restored from the snapshot on every start.
   */
  appliedIndex?(): number | Promise<number>;
}

export interface NodeDriverOptions<R> {
  id: NodeId;
  storage: Storage;
  transport: Transport;
  stateMachine: StateMachine<R>;
  raft?: Partial<RaftConfig>;
  /** Wall-clock length of one Raft tick. */
  tickMs: number;
  clock?: Clock;
  random?: RandomSource;
  /** Membership when storage has neither snapshot nor conf entries (bootstrap, joining node). */
  initialConfState?: ConfState;
  /** Take a snapshot and compact the log after this many applied entries; 0 never. */
  snapshotEveryEntries?: number;
  /** Entries kept in memory before a snapshot point, for slightly slow followers. */
  retainEntriesAfterSnapshot?: number;
  /** Proposals and reads not completed after this many ticks reject (default 5 election timeouts). */
  requestTimeoutTicks?: number;
  /**
   * Runs the Ready loop on a later turn of the event loop (default `setImmediate`). A simulator
   * passes its own queue, so the loop runs at a point of virtual time it controls.
   */
  defer?: (run: () => void) => void;
}

export interface DriverStatus extends RaftStatus {
  /** Index the state machine has applied through (RaftStatus.applied lags it until advance). */
  appliedIndex: number;
  stopped: boolean;
}

export interface DriverEvents {
  roleChange: { role: Role; term: number };
  leaderChange: { leaderId: NodeId | null; term: number };
  applied: { index: number };
  snapshot: { index: number; term: number };
  /** Storage, state machine or an invariant failed; the driver has stopped itself. */
  fatal: { error: Error };
}

type Listener<T> = (event: T) => void;

/** A minimal typed emitter: listeners run synchronously, in registration order. */
class Emitter<E> {
  private readonly listeners = new Map<keyof E, Set<Listener<never>>>();
  on<K extends keyof E>(name: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
  emit<K extends keyof E>(name: K, event: E[K]): void {
    for (const l of this.listeners.get(name) ?? []) (l as Listener<E[K]>)(event);
  }
}

export class NodeDriver<R = unknown> extends Emitter<DriverEvents> {
  readonly id: NodeId;
  private readonly core: RaftCore;
  private readonly config: RaftConfig;
  private readonly proposals = new ProposalTracker<R>();
  private readonly reads = new ReadTracker();
  private readonly applyWaiters = new ApplyWaiters();
  private readonly snapshotEveryEntries: number;
  private readonly retainEntries: number;
  private readonly requestTimeoutTicks: number;
  private timer: ClockTimer | null = null;
  private ticks = 0;
  private appliedIndex: number;
  /** Term of the entry at appliedIndex: the term of a snapshot taken there. */
  private appliedTerm: number;
  private snapshotIndex: number;
  private leaderId: NodeId | null = null;
  private role: Role = 'follower';
  private loopRunning = false;
  private loopScheduled = false;
  private loopIdle: Promise<void> = Promise.resolve();
  private stopped = false;
  private failure: DriverError | null = null;

  private constructor(
    private readonly options: NodeDriverOptions<R>,
    recovered: StorageState,
    appliedIndex: number,
  ) {
    super();
    this.id = options.id;
    this.config = validateRaftConfig(options.raft ?? {});
    this.snapshotEveryEntries = nonNegative(options.snapshotEveryEntries ?? 10_000, 'snapshotEveryEntries');
    this.retainEntries = nonNegative(options.retainEntriesAfterSnapshot ?? 0, 'retainEntriesAfterSnapshot');
    this.requestTimeoutTicks = nonNegative(
      options.requestTimeoutTicks ?? 5 * this.config.electionTimeoutTicks,
      'requestTimeoutTicks',
    );
    this.appliedIndex = appliedIndex;
    this.appliedTerm = termAt(recovered, appliedIndex);
    this.snapshotIndex = recovered.snapshot?.metadata.index ?? 0;
    this.core = new RaftCore({
      id: options.id,
      config: this.config,
      random: options.random ?? systemRandom,
      storage: { hardState: recovered.hardState, snapshot: recovered.snapshot, entries: recovered.entries },
      ...(options.initialConfState ? { initialConfState: options.initialConfState } : {}),
      appliedIndex,
    });
  }

  /**
   * Recovery (Raft §5.1 persistent state, §7): load the durable state, bring the state machine to
   * the snapshot, and hand the rest to the core, which re-emits committed entries past it.
   */
  static async start<R>(options: NodeDriverOptions<R>): Promise<NodeDriver<R>> {
    if (!(options.tickMs > 0)) throw new TypeError(`NodeDriver: tickMs must be positive, got ${options.tickMs}`);
    const recovered = await options.storage.load();
    const appliedIndex = await recoverStateMachine(options.stateMachine, recovered);
    const driver = new NodeDriver(options, recovered, appliedIndex);
    options.transport.onMessage((m) => driver.receive(m));
    driver.timer = (options.clock ?? systemClock).setInterval(() => driver.onTick(), options.tickMs);
    driver.scheduleLoop(); // a restarted single-node group may have entries to commit at once
    return driver;
  }

  // ---- client API ----

  /** Resolves once the entry is applied locally; only the leader accepts proposals. */
  propose(data: Uint8Array): Promise<Applied<R>> {
    return this.appendAndTrack(() => this.core.propose(data));
  }

  addLearner(nodeId: NodeId): Promise<Applied<R>> {
    return this.changeMembership({ changes: [{ op: 'addLearner', nodeId }] });
  }

  /** Learner → voter (thesis §4.2.1: add as non-voting member first, promote once caught up). */
  promote(nodeId: NodeId): Promise<Applied<R>> {
    return this.changeMembership({ changes: [{ op: 'addVoter', nodeId }] });
  }

  remove(nodeId: NodeId): Promise<Applied<R>> {
    return this.changeMembership({ changes: [{ op: 'removeNode', nodeId }] });
  }

  changeMembership(cc: ConfChange): Promise<Applied<R>> {
    encodeConfChange(cc); // TypeError early for a malformed change
    return this.appendAndTrack(() => this.core.proposeConfChange(cc));
  }

  /**
   * Linearizable read barrier (Raft thesis §6.4 ReadIndex): resolves once this node has applied
   * everything committed at the time of the call, as confirmed by a quorum of the leader.
   */
  readIndex(): Promise<void> {
    const dead = this.unusable();
    if (dead) return Promise.reject(dead);
    const { requestCtx, promise } = this.reads.add(this.ticks + this.requestTimeoutTicks);
    try {
      this.core.readIndex(requestCtx);
    } catch (error) {
      this.reads.cancel(requestCtx, this.translate(error));
    }
    this.scheduleLoop();
    return promise;
  }

  /** Resolves when `to` is leader; rejects with ERR_TRANSFER_TIMEOUT after two election timeouts. */
  transferLeadership(to: NodeId): Promise<void> {
    const dead = this.unusable();
    if (dead) return Promise.reject(dead);
    try {
      this.core.transferLeadership(to);
    } catch (error) {
      return Promise.reject(this.translate(error));
    }
    this.scheduleLoop();
    return this.waitFor(
      (resolve) => this.on('leaderChange', (e) => e.leaderId === to && resolve()),
      2 * this.config.electionTimeoutTicks,
      () => new DriverError('ERR_TRANSFER_TIMEOUT', `leadership did not move to ${to}`),
    );
  }

  /** Starts an election now (e.g. to bootstrap a single-node group without waiting a timeout). */
  campaign(): void {
    if (this.unusable()) return;
    this.core.campaign();
    this.scheduleLoop();
  }

  /** Resolves once the local state machine has applied `index`. */
  waitApplied(index: number): Promise<void> {
    const dead = this.unusable();
    if (dead) return Promise.reject(dead);
    return this.applyWaiters.wait(index, this.appliedIndex);
  }

  status(): DriverStatus {
    return { ...this.core.status(), appliedIndex: this.appliedIndex, stopped: this.stopped };
  }

  /** Check-quorum lease of a leader (for fencing, e.g. VIPs). */
  hasQuorumLease(): boolean {
    return !this.stopped && this.core.hasQuorumLease();
  }

  /** Leader: ticks until every earlier leader's lease has provably lapsed (RaftCore.priorLeaseRemainingTicks). */
  priorLeaseRemainingTicks(): number | null {
    return this.stopped ? null : this.core.priorLeaseRemainingTicks();
  }

  /**
   * Stops ticking and receiving, rejects waiting requests with ERR_STOPPED, waits for a storage
   * write in progress (the rest of that Ready is dropped, as a crash would), then closes the
   * transport and the storage.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.halt(new DriverError('ERR_STOPPED', 'driver stopped'));
    await this.loopIdle;
    await this.options.transport.close();
    await this.options.storage.close();
  }

  // ---- inputs ----

  private onTick(): void {
    if (this.stopped) return;
    this.ticks++;
    this.guard(() => this.core.tick());
    this.proposals.expire(this.ticks);
    this.reads.expire(this.ticks);
    this.scheduleLoop();
  }

  private receive(message: Message): void {
    if (this.stopped) return;
    this.guard(() => this.core.step(message));
    this.scheduleLoop();
  }

  private appendAndTrack(append: () => void): Promise<Applied<R>> {
    const dead = this.unusable();
    if (dead) return Promise.reject(dead);
    const before = this.core.status();
    // Only the leader knows the index its entry gets; a follower would forward it untracked.
    if (before.role !== 'leader') {
      return Promise.reject(new DriverError('ERR_NOT_LEADER', `${this.id} is ${before.role}`, { leaderId: before.leaderId }));
    }
    try {
      append();
    } catch (error) {
      return Promise.reject(this.translate(error));
    }
    const after = this.core.status();
    if (after.lastIndex !== before.lastIndex + 1 || after.term !== before.term) {
      throw new Error(`propose: leader log went ${before.lastIndex}@${before.term} → ${after.lastIndex}@${after.term}`);
    }
    this.scheduleLoop();
    return this.proposals.add(after.lastIndex, after.term, this.ticks + this.requestTimeoutTicks);
  }

  // ---- the Ready loop ----

  /** Batches every input of this turn of the event loop into the next Ready. */
  private scheduleLoop(): void {
    if (this.loopScheduled || this.loopRunning || this.stopped) return;
    this.loopScheduled = true;
    (this.options.defer ?? setImmediate)(() => {
      this.loopScheduled = false;
      if (!this.loopRunning && !this.stopped) this.loopIdle = this.runLoop();
    });
  }

  private async runLoop(): Promise<void> {
    this.loopRunning = true;
    try {
      while (!this.stopped && this.core.hasReady()) {
        await this.handleReady(this.core.ready());
        await this.maybeSnapshot();
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.loopRunning = false;
    }
  }

  /** The four duties of a Ready (ready.ts), strictly in order, one Ready at a time. */
  private async handleReady(rd: Ready): Promise<void> {
    // 1. Persist before sending: a vote or an acknowledged entry must survive a crash (Raft §5.1, Figure 2).
    if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {
      await this.options.storage.save(
        { hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot },
        { sync: rd.mustSync },
      );
    }
    if (this.stopped) return; // crashed or stopped mid-write: nothing after persistence may happen
    // 2. Send. Loss is fine; Raft retries.
    if (rd.messages.length > 0) this.options.transport.send(rd.messages);
    // 3. Apply: the snapshot first, then committed entries in order.
    if (rd.snapshot) await this.applySnapshot(rd.snapshot);
    const results = rd.committedEntries.length > 0 ? await this.applyEntries(rd.committedEntries) : undefined;
    // 4. Advance. Only then are waiters told: the core has taken in the applied conf changes, so
    //    status() already shows the membership a resolved addLearner/promote/remove produced.
    this.core.advance(rd);
    this.notifyApplied(rd, results);
    if (rd.softState) this.noteSoftState(rd.softState.role, rd.softState.leaderId, rd.softState.term);
  }

  private async applySnapshot(snapshot: Snapshot): Promise<void> {
    await this.options.stateMachine.restore(snapshot.data, snapshot.metadata);
    this.appliedIndex = snapshot.metadata.index;
    this.appliedTerm = snapshot.metadata.term;
    this.snapshotIndex = snapshot.metadata.index;
  }

  private async applyEntries(entries: readonly Entry[]): Promise<readonly R[] | undefined> {
    const first = entries[0]!;
    if (first.index !== this.appliedIndex + 1) {
      throw new Error(`apply: expected entry ${this.appliedIndex + 1}, got ${first.index}`);
    }
    const results = (await this.options.stateMachine.apply(entries)) ?? undefined;
    if (results && results.length !== entries.length) {
      throw new Error(`apply: ${results.length} results for ${entries.length} entries`);
    }
    const last = entries[entries.length - 1]!;
    this.appliedIndex = last.index;
    this.appliedTerm = last.term;
    return results;
  }

  private notifyApplied(rd: Ready, results: readonly R[] | undefined): void {
    if (rd.snapshot) {
      this.proposals.onSnapshot(rd.snapshot.metadata.index);
      this.emit('snapshot', { index: rd.snapshot.metadata.index, term: rd.snapshot.metadata.term });
    }
    rd.committedEntries.forEach((e, i) => this.proposals.onApplied(e, results?.[i]));
    for (const rs of rd.readStates) this.reads.onReadState(rs, this.appliedIndex);
    this.reads.onApplied(this.appliedIndex);
    this.applyWaiters.onApplied(this.appliedIndex);
    if (rd.snapshot || rd.committedEntries.length > 0) this.emit('applied', { index: this.appliedIndex });
  }

  /** Raft §7: bound the log by snapshotting the state machine every snapshotEveryEntries entries. */
  private async maybeSnapshot(): Promise<void> {
    if (this.snapshotEveryEntries === 0 || this.stopped) return;
    if (this.appliedIndex - this.snapshotIndex < this.snapshotEveryEntries) return;
    const data = await this.options.stateMachine.snapshot();
    // Called between Readies, after advance(): the core's membership is the one as of appliedIndex.
    const metadata: SnapshotMetadata = {
      index: this.appliedIndex,
      term: this.appliedTerm,
      confState: this.core.status().confState,
    };
    // Durable first (snapshot and deletions in one batch), then the core drops its entries.
    await this.options.storage.compact({ metadata, data });
    // A leader's snapshot (Raft §7) may have reached the core during the awaits: it covers this one.
    if (this.core.status().snapshotIndex < metadata.index) this.core.compact(metadata.index, data, this.retainEntries);
    this.snapshotIndex = metadata.index;
  }

  private noteSoftState(role: Role, leaderId: NodeId | null, term: number): void {
    if (role !== this.role) {
      this.role = role;
      this.emit('roleChange', { role, term });
    }
    if (leaderId !== this.leaderId) {
      this.leaderId = leaderId;
      this.emit('leaderChange', { leaderId, term });
    }
  }

  // ---- failure and shutdown ----

  /** Core calls may throw typed RaftErrors (caller mistakes) or invariant errors (fatal). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (error instanceof RaftError) return;
      this.fail(error);
    }
  }

  private translate(error: unknown): Error {
    if (error instanceof RaftError && error.code === 'ERR_NOT_LEADER') {
      return new DriverError('ERR_NOT_LEADER', error.message, { leaderId: this.core.status().leaderId });
    }
    if (error instanceof RaftError || error instanceof TypeError) return error;
    this.fail(error);
    return this.failure!;
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    const cause = error instanceof Error ? error : new Error(String(error));
    this.failure = new DriverError('ERR_DRIVER_FAILED', cause.message, { cause });
    this.halt(this.failure);
    this.emit('fatal', { error: cause });
  }

  private halt(reason: DriverError): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.proposals.rejectAll(reason);
    this.reads.rejectAll(reason);
    this.applyWaiters.rejectAll(reason);
  }

  private unusable(): DriverError | null {
    if (this.failure) return this.failure;
    return this.stopped ? new DriverError('ERR_STOPPED', 'driver stopped') : null;
  }

  /** Waits for a condition signalled through an event, bounded in ticks. */
  private waitFor(subscribe: (resolve: () => void) => () => void, ticks: number, onTimeout: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const deadline = this.ticks + ticks;
      let offTick = (): void => {};
      const offEvent = subscribe(() => {
        offTick();
        offEvent();
        resolve();
      });
      const timer = (this.options.clock ?? systemClock).setInterval(() => {
        if (this.ticks < deadline && !this.stopped) return;
        offTick();
        offEvent();
        reject(this.stopped ? (this.unusable() ?? onTimeout()) : onTimeout());
      }, this.options.tickMs);
      offTick = () => timer.cancel();
    });
  }
}

function termAt(recovered: StorageState, index: number): number {
  const snapshot = recovered.snapshot?.metadata;
  if (index === (snapshot?.index ?? 0)) return snapshot?.term ?? 0;
  const entry = recovered.entries[index - (snapshot?.index ?? 0) - 1];
  if (entry?.index !== index) throw new Error(`recovery: no stored entry at applied index ${index}`);
  return entry.term;
}

function nonNegative(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`NodeDriver: ${name} must be a non-negative integer, got ${v}`);
  return v;
}

/** Brings the state machine to the recovered snapshot; returns the index it has applied. */
async function recoverStateMachine<R>(sm: StateMachine<R>, recovered: StorageState): Promise<number> {
  const snapshotIndex = recovered.snapshot?.metadata.index ?? 0;
  const durable = sm.appliedIndex ? await sm.appliedIndex() : null;
  if (recovered.snapshot && (durable === null || durable < snapshotIndex)) {
    await sm.restore(recovered.snapshot.data, recovered.snapshot.metadata);
    return snapshotIndex;
  }
  const applied = durable ?? snapshotIndex;
  const lastIndex = snapshotIndex + recovered.entries.length;
  if (applied > lastIndex) {
    throw new DriverError('ERR_DRIVER_FAILED', `state machine applied ${applied} beyond the stored log ${lastIndex}`);
  }
  // Only committed entries are ever applied, so an applied index past a stale (unsynced) commit
  // is still committed: raise the commit so the core never sees applied > commit.
  if (applied > recovered.hardState.commit) recovered.hardState = { ...recovered.hardState, commit: applied };
  return applied;
}
