// One simulated node: the real RaftCore, a SimDisk and a KvMachine, driven by the same Ready
// protocol as the production driver (ready.ts): persist (fsync after a seeded virtual delay) →
// send → apply (snapshot first, then committed entries) → advance.
import {
  RaftCore,
  RaftError,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type RaftConfig,
  type Ready,
  type SeededRandom,
} from '@adrestia/consensus';
import type { KvInput, KvOutput } from '../linearizability/kv-model.ts';
import type { SafetyChecker } from './checkers.ts';
import type { RuleChecker } from './rule-checkers.ts';
import { SimDisk } from './disk.ts';
import type { EventQueue } from './event-queue.ts';
import { KvMachine, decodeCommand, encodeCommand } from './kv-machine.ts';
import type { SimOptions } from './options.ts';

const ridOfRead = (ctx: Uint8Array): number => decodeCommand(ctx).rid;

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
}

type Reply = (r: NodeReply) => void;

export class SimNode {
  readonly disk = new SimDisk();
  core: RaftCore | null = null;
  private kv = new KvMachine();
  private inFlight: Ready | null = null;
  private pendingWrites = new Map<number, Reply>();
  private pendingReads: { index: number; rid: number; key: string; reply: Reply }[] = [];
  private readWaiters = new Map<number, { key: string; reply: Reply }>();
  private applied = 0;
  private sinceCompact = 0;
  /** Commit index this node advanced as leader in the Ready in flight (for Leader Completeness). */
  private commitSeen: { term: number; commit: number } | null = null;
  /** Incremented on every crash so that stale events for an earlier incarnation are ignored. */
  incarnation = 0;

  constructor(
    readonly id: string,
    private readonly host: NodeHost,
    private readonly opts: SimOptions,
    private readonly config: RaftConfig,
    private readonly voters: ConfState,
    private readonly random: SeededRandom,
  ) {}

  get alive(): boolean {
    return this.core !== null;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** Start (or restart) from the synced disk, exactly as the driver recovers. */
  start(): void {
    const storage = this.disk.load();
    this.kv = new KvMachine();
    if (storage.snapshot) this.kv.restore(storage.snapshot.data);
    this.applied = storage.snapshot?.metadata.index ?? 0;
    this.sinceCompact = 0;
    this.lastSeen = null;
    this.core = new RaftCore({
      id: this.id,
      config: this.config,
      random: this.random.fork(),
      storage,
      initialConfState: this.voters,
      appliedIndex: this.applied,
    });
  }

  /** Power loss: in-memory state is gone, an unsynced batch is lost (or kept whole). */
  crash(keepUnsynced: boolean): void {
    this.incarnation++;
    this.core = null;
    this.inFlight = null;
    this.pendingWrites.clear();
    this.pendingReads = [];
    this.readWaiters.clear();
    const before = this.disk.hasUnsynced;
    const written = before && keepUnsynced ? this.disk.sync() : (this.disk.crash(false), []);
    if (written.length > 0) this.host.checker.observeDurable(this.id, written, this.disk);
  }

  tick(): void {
    this.watchCommit((core) => core.tick());
    this.pump();
  }

  step(m: Message): void {
    this.watchCommit((core) => core.step(m));
    this.pump();
  }

  /** Runs `fn` on the core; a leader's commit advance inside it goes to the §5.4.2 check. */
  private watchCommit(fn: (core: RaftCore) => void): void {
    const core = this.core;
    if (core === null) return;
    fn(core);
    const before = this.lastSeen;
    const after = core.status();
    this.lastSeen = { role: after.role, term: after.term, commit: after.commit };
    if (before?.role !== 'leader' || after.role !== 'leader' || after.term !== before.term || after.commit <= before.commit) return;
    this.host.rules.leaderCommitted(this.id, after.term, before.commit, after.commit, this.disk.termAt(after.commit));
  }

  /** Role, term and commit after the last core call (every call that can move them goes through watchCommit). */
  private lastSeen: { role: string; term: number; commit: number } | null = null;

  /** A client request arriving at this node. */
  handle(rid: number, input: KvInput, reply: Reply): void {
    const core = this.core;
    if (core === null) return;
    const st = core.status();
    if (st.role !== 'leader') return reply({ kind: 'redirect', leaderHint: st.leaderId });
    try {
      if (input.kind === 'get') {
        // Linearizable read through ReadIndex (thesis §6.4); the context carries the request id.
        this.host.rules.readArrived(rid, this.id, st.term);
        core.readIndex(encodeCommand({ rid, input }));
        this.readWaiters.set(rid, { key: input.key, reply });
      } else {
        core.propose(encodeCommand({ rid, input }));
        this.pendingWrites.set(rid, reply);
      }
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
      reply({ kind: 'refused', code: e.code });
    }
    this.pump();
  }

  /** Membership change through the log (thesis §4.1); refusals (one pending, invalid) are expected. */
  proposeConfChange(cc: ConfChange): boolean {
    const core = this.core;
    if (core === null || core.status().role !== 'leader') return false;
    const st = core.status();
    try {
      core.proposeConfChange(cc);
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
      return false;
    }
    this.host.rules.confProposed(this.id, st.term, st.lastIndex + 1, st.applied);
    this.pump();
    return true;
  }

  transferLeadership(to: string): void {
    const core = this.core;
    if (core === null || core.status().role !== 'leader') return;
    try {
      core.transferLeadership(to);
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
    }
    this.pump();
  }

  /** Take the next Ready if none is in flight: write it, and finish once its fsync completes. */
  pump(): void {
    const core = this.core;
    if (core === null || this.inFlight !== null || !core.hasReady()) return;
    const rd = core.ready();
    this.inFlight = rd;
    if (rd.softState) {
      const ss = rd.softState;
      this.host.trace(`${this.id} is ${ss.role} at term ${ss.term} (leader ${ss.leaderId ?? 'unknown'})`);
    }
    const st = core.status();
    if (rd.hardState && st.role === 'leader' && rd.hardState.term === st.term) {
      this.commitSeen = { term: st.term, commit: rd.hardState.commit };
    }
    const leader = st.role === 'leader' ? { id: this.id, term: st.term, applied: st.applied, confState: st.confState } : null;
    this.host.rules.readyTaken(this.id, rd, leader, this.disk, ridOfRead);
    this.disk.write({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
    const inc = this.incarnation;
    const span = this.opts.maxSyncMs - this.opts.minSyncMs + 1;
    const delay = rd.mustSync ? this.opts.minSyncMs + this.host.random.nextInt(span) : 0;
    this.host.queue.schedule(delay, `fsync ${this.id}`, () => {
      if (inc === this.incarnation) this.finishReady(rd);
    });
  }

  private finishReady(rd: Ready): void {
    const written = this.disk.sync();
    this.host.checker.observeDurable(this.id, written, this.disk);
    if (this.commitSeen) this.host.checker.observeCommit(this.commitSeen.term, this.commitSeen.commit, this.disk);
    this.commitSeen = null;
    for (const m of rd.messages) this.host.send(m);
    if (rd.snapshot) {
      this.host.checker.observeSnapshot(this.id, rd.snapshot.metadata.index, rd.snapshot.data);
      this.kv.restore(rd.snapshot.data);
      this.applied = rd.snapshot.metadata.index;
      this.host.trace(`${this.id} installed snapshot @${this.applied}`);
    }
    for (const e of rd.committedEntries) this.applyEntry(e);
    for (const rs of rd.readStates) this.queueRead(rs.index, rs.requestCtx);
    this.watchCommit((c) => c.advance(rd));
    this.inFlight = null;
    this.serveReads();
    this.maybeCompact();
    this.pump();
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.applied) return; // covered by a snapshot installed in this Ready
    if (e.index !== this.applied + 1) throw new Error(`${this.id}: applying ${e.index} after ${this.applied}`);
    this.host.checker.observeApply(this.id, e);
    this.applied = e.index;
    this.sinceCompact++;
    if (e.type !== 'normal' || e.data.length === 0) return;
    const cmd = decodeCommand(e.data);
    const output = this.kv.apply(cmd.input);
    this.host.applied(cmd.rid, output);
    const reply = this.pendingWrites.get(cmd.rid);
    if (reply) {
      this.pendingWrites.delete(cmd.rid);
      reply({ kind: 'done', output, index: e.index });
    }
  }

  private queueRead(index: number, ctx: Uint8Array): void {
    const rid = decodeCommand(ctx).rid;
    const w = this.readWaiters.get(rid);
    if (w === undefined) return;
    this.readWaiters.delete(rid);
    this.pendingReads.push({ index, rid, key: w.key, reply: w.reply });
  }

  /** Serve reads whose read point is applied (thesis §6.4 step 4). */
  private serveReads(): void {
    const ready = this.pendingReads.filter((r) => r.index <= this.applied);
    if (ready.length === 0) return;
    this.pendingReads = this.pendingReads.filter((r) => r.index > this.applied);
    for (const r of ready) r.reply({ kind: 'done', output: { kind: 'get', value: this.kv.read(r.key) }, index: r.index });
  }

  /** Periodic snapshot + compaction (Raft §7), so lagging nodes need InstallSnapshot. */
  private maybeCompact(): void {
    const core = this.core!;
    if (this.sinceCompact < this.opts.compactEveryEntries || this.applied <= this.disk.snapshotIndex) return;
    // The core may already hold a newer snapshot from the leader that is not yet in a Ready.
    const st = core.status();
    if (this.applied <= st.snapshotIndex || this.disk.termAt(this.applied) === undefined) return;
    const data = this.kv.snapshot();
    this.host.checker.observeSnapshot(this.id, this.applied, data);
    core.compact(this.applied, data, this.opts.retainEntries);
    this.disk.compact({
      metadata: { index: this.applied, term: this.disk.termAt(this.applied)!, confState: st.confState },
      data,
    });
    this.sinceCompact = 0;
    this.host.trace(`${this.id} compacted @${this.applied}`);
  }
}
