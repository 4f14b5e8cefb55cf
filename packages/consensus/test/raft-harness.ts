// A tiny deterministic network for RaftCore tests: cores in a map, storage as plain arrays
// (persisted exactly as ready.ts prescribes), messages delivered in FIFO order until quiet.
// Faults are explicit: partitions (cut links), a drop filter, restarts from "disk".
import { DEFAULT_RAFT_CONFIG, type RaftConfig } from '../src/config.ts';
import type { Message } from '../src/messages.ts';
import { RaftCore } from '../src/raft-core.ts';
import { SeededRandom } from '../src/random.ts';
import type { Ready } from '../src/ready.ts';
import type { ConfState, Entry, HardState, NodeId, ReadState, Snapshot } from '../src/types.ts';

export interface Disk {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
}

/** The replicated state machine of the tests: the list of applied payloads, as text. */
export interface Applied {
  values: string[];
  appliedIndex: number;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

const TEST_CONFIG: RaftConfig = {
  ...DEFAULT_RAFT_CONFIG,
  electionTimeoutTicks: 10,
  heartbeatIntervalTicks: 1,
};

export interface NetworkOptions {
  config?: Partial<RaftConfig>;
  seed?: number;
  learners?: NodeId[];
}

export class Network {
  readonly cores = new Map<NodeId, RaftCore>();
  readonly disks = new Map<NodeId, Disk>();
  readonly sm = new Map<NodeId, Applied>();
  readonly reads = new Map<NodeId, ReadState[]>();
  readonly readies = new Map<NodeId, Ready[]>();
  readonly down = new Set<NodeId>();
  private readonly cut = new Set<string>();
  private queue: Message[] = [];
  readonly delivered: Message[] = [];
  /** Reorders each delivery round and duplicates some messages (percent), from a seed. */
  chaos: { rng: SeededRandom; duplicatePct: number } | null = null;
  /** Return false to drop a message. */
  filter: ((m: Message) => boolean) | null = null;
  readonly config: RaftConfig;
  private readonly rng: SeededRandom;
  /** Passed again to founders restarted with empty storage (as a driver must). */
  private readonly foundingConf: ConfState;
  /** Raft §5.2 election safety, checked on every Ready: term → the one leader it had. */
  readonly leadersByTerm = new Map<number, NodeId>();

  constructor(
    ids: NodeId[],
    opts: NetworkOptions = {},
  ) {
    this.config = { ...TEST_CONFIG, ...opts.config };
    this.rng = new SeededRandom(opts.seed ?? 1);
    const conf: ConfState = { voters: [...ids], learners: [...(opts.learners ?? [])], votersOutgoing: [] };
    this.foundingConf = conf;
    for (const id of [...ids, ...(opts.learners ?? [])]) this.addNode(id, conf);
  }

  /** Adds a node with empty storage; `initialConfState` only for founders. */
  addNode(id: NodeId, initialConfState?: ConfState): RaftCore {
    const disk: Disk = { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] };
    this.disks.set(id, disk);
    this.sm.set(id, { values: [], appliedIndex: 0 });
    this.reads.set(id, []);
    this.readies.set(id, []);
    const core = new RaftCore({
      id,
      config: this.config,
      random: this.rng.fork(),
      storage: { hardState: { ...disk.hardState }, snapshot: null, entries: [] },
      ...(initialConfState ? { initialConfState } : {}),
    });
    this.cores.set(id, core);
    return core;
  }

  core(id: NodeId): RaftCore {
    const c = this.cores.get(id);
    if (!c) throw new Error(`no core ${id}`);
    return c;
  }

  /** Crash and restart `id` from its disk (state machine restored from the snapshot). */
  restart(id: NodeId, initialConfState?: ConfState): RaftCore {
    const disk = this.disks.get(id)!;
    const founder = this.foundingConf.voters.includes(id) || this.foundingConf.learners.includes(id);
    if (!initialConfState && founder && !disk.snapshot && disk.entries.length === 0) initialConfState = this.foundingConf;
    const sm: Applied = disk.snapshot
      ? { values: JSON.parse(dec(disk.snapshot.data)) as string[], appliedIndex: disk.snapshot.metadata.index }
      : { values: [], appliedIndex: 0 };
    this.sm.set(id, sm);
    const core = new RaftCore({
      id,
      config: this.config,
      random: this.rng.fork(),
      storage: structuredClone({ hardState: disk.hardState, snapshot: disk.snapshot, entries: disk.entries }),
      ...(initialConfState ? { initialConfState } : {}),
    });
    this.cores.set(id, core);
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
    return core;
  }

  isolate(id: NodeId): void {
    for (const other of this.cores.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  /** Cuts every link between the two sides. */
  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) for (const y of b) {
      this.cut.add(`${x}>${y}`);
      this.cut.add(`${y}>${x}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Runs every pending Ready of every core once; returns whether anything happened. */
  processReadies(): boolean {
    let any = false;
    for (const [id, core] of this.cores) {
      if (this.down.has(id) || !core.hasReady()) continue;
      any = true;
      const rd = core.ready();
      this.readies.get(id)!.push(rd);
      this.checkElectionSafety(id, rd);
      this.persist(id, rd);
      for (const m of rd.messages) this.queue.push(m);
      this.apply(id, rd);
      core.advance(rd);
    }
    return any;
  }

  private checkElectionSafety(id: NodeId, rd: Ready): void {
    if (rd.softState?.role !== 'leader') return;
    const prev = this.leadersByTerm.get(rd.softState.term);
    if (prev !== undefined && prev !== id) throw new Error(`two leaders in term ${rd.softState.term}: ${prev}, ${id}`);
    this.leadersByTerm.set(rd.softState.term, id);
  }

  /**
   * Log matching and state machine safety over what is on every disk: committed prefixes agree
   * entry for entry, and every state machine is a prefix of the longest one.
   */
  checkSafety(): void {
    const ids = [...this.disks.keys()];
    for (const x of ids) for (const y of ids) {
      if (x >= y) continue;
      const dx = this.disks.get(x)!;
      const dy = this.disks.get(y)!;
      const upTo = Math.min(dx.hardState.commit, dy.hardState.commit);
      const byIndex = new Map(dy.entries.map((e) => [e.index, e]));
      for (const e of dx.entries) {
        if (e.index > upTo) break;
        const o = byIndex.get(e.index);
        if (o && (o.term !== e.term || dec(o.data) !== dec(e.data))) {
          throw new Error(`committed entry ${e.index} differs on ${x} and ${y}`);
        }
      }
      const vx = this.values(x);
      const vy = this.values(y);
      const n = Math.min(vx.length, vy.length);
      for (let i = 0; i < n; i++) if (vx[i] !== vy[i]) throw new Error(`state machines of ${x} and ${y} diverge at ${i}`);
    }
  }

  private persist(id: NodeId, rd: Ready): void {
    const disk = this.disks.get(id)!;
    if (rd.snapshot) {
      disk.snapshot = rd.snapshot;
      disk.entries = disk.entries.filter((e) => e.index > rd.snapshot!.metadata.index);
    }
    const first = rd.entries[0];
    if (first) {
      disk.entries = disk.entries.filter((e) => e.index < first.index).concat(rd.entries);
    }
    if (rd.hardState) disk.hardState = { ...rd.hardState };
  }

  private apply(id: NodeId, rd: Ready): void {
    const sm = this.sm.get(id)!;
    if (rd.snapshot) {
      sm.values = JSON.parse(dec(rd.snapshot.data)) as string[];
      sm.appliedIndex = rd.snapshot.metadata.index;
    }
    const disk = this.disks.get(id)!;
    const persistedLast = disk.entries[disk.entries.length - 1]?.index ?? disk.snapshot?.metadata.index ?? 0;
    for (const e of rd.committedEntries) {
      // ready.ts: committed entries are only ever ones persisted locally.
      if (e.index > persistedLast) throw new Error(`${id} applies ${e.index} beyond persisted ${persistedLast}`);
      if (e.index !== sm.appliedIndex + 1) throw new Error(`${id} applied ${e.index} after ${sm.appliedIndex}`);
      sm.appliedIndex = e.index;
      if (e.type === 'normal' && e.data.byteLength > 0) sm.values.push(dec(e.data));
    }
    this.reads.get(id)!.push(...rd.readStates);
  }

  /** Delivers queued messages (one round) respecting cuts, down nodes and the filter. */
  deliverRound(): boolean {
    const batch = this.queue;
    this.queue = [];
    if (this.chaos) shuffleAndDuplicate(batch, this.chaos);
    for (const m of batch) {
      if (this.cut.has(`${m.from}>${m.to}`) || this.down.has(m.to) || this.down.has(m.from)) continue;
      if (this.filter && !this.filter(m)) continue;
      const core = this.cores.get(m.to);
      if (!core) continue;
      this.delivered.push(m);
      core.step(m);
    }
    return batch.length > 0;
  }

  /** Runs readies and deliveries until nothing moves (bounded). */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      const a = this.processReadies();
      const b = this.deliverRound();
      if (!a && !b) return;
    }
    throw new Error('network did not stabilize');
  }

  tick(n = 1, ids?: NodeId[]): void {
    for (let i = 0; i < n; i++) {
      for (const [id, core] of this.cores) {
        if (this.down.has(id) || (ids && !ids.includes(id))) continue;
        core.tick();
      }
      this.stabilize();
    }
  }

  /** Ticks until some node is leader (and the network is quiet), or throws. */
  tickUntilLeader(maxTicks = 200, ids?: NodeId[]): NodeId {
    for (let i = 0; i < maxTicks; i++) {
      this.tick(1, ids);
      const l = this.leader(ids);
      if (l) return l;
    }
    throw new Error('no leader');
  }

  elect(id: NodeId): void {
    this.core(id).campaign();
    this.stabilize();
    const st = this.core(id).status();
    if (st.role !== 'leader') throw new Error(`${id} failed to become leader (role ${st.role})`);
  }

  /** The leader with the highest term among the (given, up) nodes, if any. */
  leader(ids?: NodeId[]): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const [id, core] of this.cores) {
      if (this.down.has(id) || (ids && !ids.includes(id))) continue;
      const st = core.status();
      if (st.role === 'leader' && (!best || st.term > best.term)) best = { id, term: st.term };
    }
    return best?.id ?? null;
  }

  propose(id: NodeId, value: string): void {
    this.core(id).propose(enc(value));
    this.stabilize();
  }

  values(id: NodeId): string[] {
    return this.sm.get(id)!.values;
  }

  /** Every message queued but not yet delivered (for tests that inspect traffic). */
  pending(): Message[] {
    return this.queue;
  }

  clearPending(): void {
    this.queue = [];
  }
}

function shuffleAndDuplicate(batch: Message[], chaos: { rng: SeededRandom; duplicatePct: number }): void {
  const n = batch.length;
  for (let i = 0; i < n; i++) if (chaos.rng.nextInt(100) < chaos.duplicatePct) batch.push(batch[i]!);
  for (let i = batch.length - 1; i > 0; i--) {
    const j = chaos.rng.nextInt(i + 1);
    [batch[i], batch[j]] = [batch[j]!, batch[i]!];
  }
}

/** Replaces `id`'s disk with the given state and restarts it from there. */
export function setDisk(net: Network, id: NodeId, disk: Disk, conf: ConfState): RaftCore {
  net.disks.set(id, structuredClone(disk));
  return net.restart(id, conf);
}

/** A standalone core over the given durable state, for unit-level tests. */
export function mkCore(
  id: NodeId,
  opts: { voters?: NodeId[]; entries?: Entry[]; term?: number; vote?: NodeId | null; commit?: number; config?: Partial<RaftConfig>; seed?: number } = {},
): RaftCore {
  const config = { ...TEST_CONFIG, ...opts.config };
  const core = new RaftCore({
    id,
    config,
    random: new SeededRandom(opts.seed ?? 7),
    storage: {
      hardState: { term: opts.term ?? 0, vote: opts.vote ?? null, commit: opts.commit ?? 0 },
      snapshot: null,
      entries: opts.entries ?? [],
    },
    initialConfState: { voters: opts.voters ?? ['a', 'b', 'c'], learners: [], votersOutgoing: [] },
    appliedIndex: opts.commit ?? 0,
  });
  // A core with a non-zero term is a restarted one and first sits out its lease grace period.
  if ((opts.term ?? 0) > 0) {
    for (let i = 0; i < config.electionTimeoutTicks; i++) core.tick();
    drain(core);
  }
  return core;
}

/** Drains `core` (ready + advance, trivially persisted) and returns the messages it sent. */
export function drain(core: RaftCore): Message[] {
  const out: Message[] = [];
  while (core.hasReady()) {
    const rd = core.ready();
    out.push(...rd.messages);
    core.advance(rd);
  }
  return out;
}

/** Entries with payloads, for building conflicting logs by hand. */
export function entries(spec: [index: number, term: number][]): Entry[] {
  return spec.map(([index, term]) => ({ index, term, type: 'normal', data: enc(`i${index}t${term}`) }));
}
