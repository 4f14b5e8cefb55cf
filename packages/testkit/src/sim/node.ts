// One simulated node: the production NodeDriver (persist → send → apply → advance, node-driver.ts
// handleReady) over a SimDisk (DiskStorage: seeded fsync latencies), the simulated network and a
// tick clock the simulator fires, with a KvMachine as its state machine. A driver bug is therefore
// visible to the simulator. The checkers watch at the driver's edges: every write it hands to the
// disk, every message it sends, every entry it applies, every read it answers.
import {
  DriverError,
  NodeDriver,
  RaftError,
  type Clock,
  type ClockTimer,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type MessageHandler,
  type RaftConfig,
  type RaftStatus,
  type SeededRandom,
  type StateMachine,
  type StorageWrite,
  type Transport,
} from '@adrestia/consensus';
import type { KvInput, KvOutput } from '../linearizability/kv-model.ts';
import type { SafetyChecker } from './checkers.ts';
import type { RuleChecker } from './rule-checkers.ts';
import { SimDisk } from './disk.ts';
import { DiskStorage } from './disk-storage.ts';
import type { EventQueue } from './event-queue.ts';
import { KvMachine, decodeCommand, encodeCommand } from './kv-machine.ts';
import type { SimOptions } from './options.ts';

/** What the node answers a client. */
export type NodeReply =
  | { kind: 'done'; output: KvOutput; index: number }
  | { kind: 'redirect'; leaderHint: string | null }
  | { kind: 'refused'; code: string };

export interface NodeHost {
  queue: EventQueue;
  checker: SafetyChecker;
  rules: RuleChecker;
  random: SeededRandom;
  send(m: Message): void;
  trace(line: string): void;
  /** The node applied the client command of request `rid`, producing `output`. */
  applied(rid: number, output: KvOutput): void;
  /** The node's power was cut right after a write became durable, before the driver went on. */
  cutAfterSync(node: SimNode): void;
}

type Reply = (r: NodeReply) => void;

/** Intervals fired by the simulator's tick events (every driver timer runs on the tick). */
class TickClock implements Clock {
  private readonly callbacks = new Map<number, () => void>();
  private nextId = 0;
  setInterval(callback: () => void): ClockTimer {
    const id = this.nextId++;
    this.callbacks.set(id, callback);
    return { cancel: () => this.callbacks.delete(id) };
  }
  fire(): void {
    for (const cb of [...this.callbacks.values()]) cb();
  }
  clear(): void {
    this.callbacks.clear();
  }
}

/** The driver's transport: sends go through the simulator's checkers and network. */
class NodeTransport implements Transport {
  handler: MessageHandler | null = null;
  closed = false;
  constructor(private readonly host: NodeHost) {}
  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const m of messages) this.host.send(m);
  }
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

interface Incarnation {
  driver: NodeDriver<KvOutput | null> | null;
  storage: DiskStorage;
  clock: TickClock;
  transport: NodeTransport;
}

export class SimNode {
  readonly disk = new SimDisk();
  private life: Incarnation | null = null;
  private kv = new KvMachine();
  private applied = 0;
  /** Commit index of the last hard state handed to the disk (a leader's commit advance). */
  private commitWritten = 0;
  /** Commit a leader advanced in the write in flight: recorded for Leader Completeness at its fsync. */
  private commitSeen: { term: number; commit: number } | null = null;
  /** Power cut at the next completed fsync (between persist and send). */
  private cutAtNextSync = false;
  /** Entries of the write whose fsync is in flight (empty when none is). */
  private inFlight: readonly Entry[] = [];
  /** Appends that arrived rewriting an entry of the write in flight (Raft §5.3 truncation). */
  truncatingAppendsInFlight = 0;
  /** A stalled disk: synced writes started before this virtual time (ms) take `stallMs` each. */
  private stall: { untilMs: number; stallMs: number } | null = null;
  /** An invariant the driver (or a checker at its edges) broke: it stopped itself. */
  failure: unknown = null;
  /** Incremented on every crash so that stale callbacks of an earlier incarnation are ignored. */
  incarnation = 0;

  constructor(
    readonly id: string,
    private readonly host: NodeHost,
    private readonly opts: SimOptions,
    private readonly config: RaftConfig,
    private readonly voters: ConfState,
    private readonly random: SeededRandom,
  ) {}

  /** Powered on (its driver may still be recovering). */
  get alive(): boolean {
    return this.life !== null;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** The driver's Raft status; null while down or starting. */
  status(): RaftStatus | null {
    return this.life?.driver?.status() ?? null;
  }

  /** True while this node leads and holds its check-quorum lease (it heard from a quorum lately). */
  hasLease(): boolean {
    return this.life?.driver?.hasQuorumLease() ?? false;
  }

  /** Start (or restart) from the synced disk through the driver's own recovery. */
  start(): void {
    const inc = this.incarnation;
    const transport = new NodeTransport(this.host);
    const clock = new TickClock();
    const storage = new DiskStorage(this.id, this.disk, this.host.queue, () => this.fsyncMs(), {
      writing: (w) => this.onWriting(w),
      synced: (written) => this.onSynced(written),
    });
    const life: Incarnation = { driver: null, storage, clock, transport };
    this.life = life;
    this.kv = new KvMachine();
    this.applied = 0;
    this.commitWritten = this.disk.hardState.commit;
    this.commitSeen = null;
    void NodeDriver.start<KvOutput | null>({
      id: this.id,
      storage,
      transport,
      stateMachine: this.stateMachine(),
      raft: this.config,
      tickMs: this.opts.baseTickMs,
      clock,
      random: this.random.fork(),
      initialConfState: this.voters,
      snapshotEveryEntries: this.opts.compactEveryEntries,
      retainEntriesAfterSnapshot: this.opts.retainEntries,
      defer: (run) => this.host.queue.schedule(0, `ready ${this.id}`, () => inc === this.incarnation && run()),
    }).then((driver) => {
      if (inc !== this.incarnation) return;
      life.driver = driver;
      driver.on('fatal', (e) => (this.failure ??= e.error));
      driver.on('roleChange', (e) => this.host.trace(`${this.id} is ${e.role} at term ${e.term}`));
      driver.on('leaderChange', (e) => this.host.trace(`${this.id} follows ${e.leaderId ?? 'unknown'} at term ${e.term}`));
    });
  }

  /** Power loss: in-memory state is gone, an unsynced batch is lost (or kept whole). */
  crash(keepUnsynced: boolean): void {
    this.powerOff();
    const written = this.disk.hasUnsynced && keepUnsynced ? this.disk.sync() : (this.disk.crash(false), []);
    if (written.length > 0) this.host.checker.observeDurable(this.id, written, this.disk);
  }

  /** The next completed fsync cuts the power before the driver sends what it persisted for. */
  armCutAfterSync(): void {
    this.cutAtNextSync = true;
  }

  disarmCutAfterSync(): void {
    this.cutAtNextSync = false;
  }

  /** Every synced write started in the next `forMs` takes `stallMs` to reach the platter. */
  stallDisk(forMs: number, stallMs: number): void {
    this.stall = { untilMs: this.host.queue.now + forMs, stallMs };
  }

  private powerOff(): void {
    this.incarnation++;
    this.cutAtNextSync = false;
    this.inFlight = [];
    const life = this.life;
    this.life = null;
    if (life === null) return;
    life.storage.cut();
    life.clock.clear();
    void life.transport.close();
  }

  tick(): void {
    this.life?.clock.fire();
  }

  step(m: Message): void {
    if (!this.life?.driver) return;
    if (m.type === 'append' && this.inFlight.length > 0 && m.entries.some((e) => this.rewritesInFlight(e))) this.truncatingAppendsInFlight++;
    this.life.transport.handler?.(m);
  }

  /** A client request arriving at this node. */
  handle(rid: number, input: KvInput, reply: Reply): void {
    const driver = this.life?.driver;
    if (!driver) return;
    const st = driver.status();
    if (st.role !== 'leader') return reply({ kind: 'redirect', leaderHint: st.leaderId });
    const inc = this.incarnation;
    const live = (): boolean => inc === this.incarnation;
    if (input.kind === 'get') {
      // Linearizable read through ReadIndex (thesis §6.4).
      this.host.rules.readArrived(rid, this.id, st.term, st.confState);
      driver.readIndex().then(
        () => {
          if (!live()) return;
          const now = driver.status();
          try {
            this.host.rules.readServed({ id: this.id, term: now.term, applied: now.applied, confState: now.confState }, rid);
          } catch (e) {
            this.failure ??= e; // the simulator ends the run with it once the event settles
            return;
          }
          reply({ kind: 'done', output: { kind: 'get', value: this.kv.read(input.key) }, index: this.applied });
        },
        (e: unknown) => live() && reply({ kind: 'refused', code: errorCode(e) }),
      );
      return;
    }
    driver.propose(encodeCommand({ rid, input })).then(
      (a) => live() && a.result && reply({ kind: 'done', output: a.result, index: a.index }),
      (e: unknown) => {
        if (!live()) return;
        // Refused before it was appended: certain not to apply. Any later failure (overwritten,
        // timed out) leaves the outcome unknown: the client's timeout records it as pending.
        if (e instanceof DriverError && e.code === 'ERR_NOT_LEADER') reply({ kind: 'redirect', leaderHint: e.leaderId });
        else if (e instanceof RaftError) reply({ kind: 'refused', code: e.code });
      },
    );
  }

  /** Membership change through the log (thesis §4.1); refusals (one pending, invalid) are expected. */
  proposeConfChange(cc: ConfChange): boolean {
    const driver = this.life?.driver;
    const st = driver?.status();
    if (!driver || st?.role !== 'leader') return false;
    driver.changeMembership(cc).catch(() => {});
    const accepted = driver.status().lastIndex === st.lastIndex + 1;
    if (accepted) this.host.rules.confProposed(this.id, st.term, st.lastIndex + 1, st.applied);
    return accepted;
  }

  transferLeadership(to: string): void {
    const driver = this.life?.driver;
    if (driver?.status().role === 'leader') driver.transferLeadership(to).catch(() => {});
  }

  // ---- the driver's edges ----

  private stateMachine(): StateMachine<KvOutput | null> {
    return {
      apply: (entries) => entries.map((e) => this.applyEntry(e)),
      snapshot: () => {
        const data = this.kv.snapshot();
        this.host.checker.observeSnapshot(this.id, this.applied, data);
        this.host.trace(`${this.id} compacted @${this.applied}`);
        return data;
      },
      restore: (data, metadata) => {
        this.host.checker.observeSnapshot(this.id, metadata.index, data);
        this.kv.restore(data);
        this.applied = metadata.index;
        this.host.trace(`${this.id} installed snapshot @${this.applied}`);
      },
    };
  }

  private applyEntry(e: Entry): KvOutput | null {
    if (e.index !== this.applied + 1) throw new Error(`${this.id}: applying ${e.index} after ${this.applied}`);
    this.host.checker.observeApply(this.id, e);
    this.applied = e.index;
    if (e.type !== 'normal' || e.data.length === 0) return null;
    const cmd = decodeCommand(e.data);
    const output = this.kv.apply(cmd.input);
    this.host.applied(cmd.rid, output);
    return output;
  }

  private rewritesInFlight(e: Entry): boolean {
    const first = this.inFlight[0];
    if (first === undefined || e.index < first.index) return false;
    const inFlight = this.inFlight[e.index - first.index];
    return inFlight !== undefined && inFlight.term !== e.term;
  }

  /** The driver hands a Ready's durable part to the disk: a leader's commit and appends are checked. */
  private onWriting(w: StorageWrite): void {
    this.inFlight = w.entries ?? [];
    const st = this.life?.driver?.status();
    const hs = w.hardState;
    if (st === undefined || hs == null) return;
    const from = this.commitWritten;
    this.commitWritten = hs.commit;
    if (st.role !== 'leader' || hs.term !== st.term) return;
    const entries = w.entries ?? [];
    this.host.rules.leaderAppending({ id: this.id, term: st.term, applied: st.applied, confState: st.confState }, entries, this.disk);
    if (hs.commit <= from) return;
    const first = entries[0]?.index ?? Number.POSITIVE_INFINITY;
    const termAt = hs.commit >= first ? entries[hs.commit - first]?.term : this.disk.termAt(hs.commit);
    this.host.rules.leaderCommitted(this.id, st.term, from, hs.commit, termAt);
    this.commitSeen = { term: st.term, commit: hs.commit };
  }

  private onSynced(written: readonly Entry[]): boolean {
    this.inFlight = [];
    this.host.checker.observeDurable(this.id, written, this.disk);
    if (this.commitSeen) this.host.checker.observeCommit(this.commitSeen.term, this.commitSeen.commit, this.disk);
    this.commitSeen = null;
    if (!this.cutAtNextSync) return true;
    this.powerOff();
    this.host.cutAfterSync(this);
    return false;
  }

  /** Seeded fsync latency with a long tail: most writes take min..max, a few take far longer. */
  private fsyncMs(): number {
    if (this.stall !== null && this.host.queue.now < this.stall.untilMs) return this.stall.stallMs;
    const r = this.host.random;
    const o = this.opts;
    const base = o.minSyncMs + r.nextInt(o.maxSyncMs - o.minSyncMs + 1);
    return r.nextInt(1000) < o.syncTailPermille ? base + 1 + r.nextInt(o.syncTailMs) : base;
  }
}

function errorCode(e: unknown): string {
  return e instanceof DriverError || e instanceof RaftError ? e.code : 'ERR_UNKNOWN';
}
