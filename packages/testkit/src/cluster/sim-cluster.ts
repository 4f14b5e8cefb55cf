// A two-tier cluster on virtual time: AZs of real TwoTierNodes (NodeDriver + SeatHost + RaftCore,
// unchanged) over a SimNetwork, each on its own SimDisk and skewed SimClock, all driven by one
// seeded Scheduler. Crashing a node is a power cut (timers stop, endpoints close, unsynced writes
// are lost); restarting it is a new process on the same disk.
import { TwoTierError, TwoTierNode, validateRaftConfig } from '@adrestia/consensus';
import type { ConfState, RaftConfig } from '@adrestia/consensus';
import { ClusterChecker } from './checkers.ts';
import { cutPower } from './power-cut.ts';
import { RecordingApp, type AppliedCommand } from './recording-app.ts';
import { SimDisk, type FsyncLatency } from './sim-storage.ts';
import { SimNetwork } from './sim-network.ts';
import { Scheduler, SimClock, type RunBudget } from './virtual-time.ts';

export interface SimClusterOptions {
  seed: number;
  azs?: readonly string[];
  nodesPerAz?: number;
  /** Virtual length of one Raft tick. */
  tickMs?: number;
  /** Each node's clock runs at 1 ± up to this many thousandths (clock skew). */
  maxSkewPermille?: number;
  /** Local snapshot and compaction every this many applied entries (Raft §7). */
  snapshotEveryEntries?: number;
  localRaft?: { electionTimeoutTicks: number; heartbeatIntervalTicks: number };
  globalRaft?: { electionTimeoutTicks: number; heartbeatIntervalTicks: number };
  globalRequestTimeoutTicks?: number;
  /**
   * 'static' (default): every node starts with the full membership (etcd-style bootstrap).
   * 'grown': as the product grows a cluster — the first node of each AZ founds its local group,
   * the first AZ's seat founds the global group; everything else joins (grow.ts).
   */
  formation?: 'static' | 'grown';
  /** Events and virtual time the run may take (default DEFAULT_RUN_BUDGET); past it: `hung`. */
  budget?: RunBudget;
  /** Seeded fsync latency of every disk (default: a synced save is durable at once). */
  fsync?: FsyncShape;
}

/** Fsync takes minUs..maxUs; tailPermille of synced writes take up to tailUs more (a long tail). */
export interface FsyncShape {
  minUs: number;
  maxUs: number;
  tailPermille: number;
  tailUs: number;
}

export interface SimNode {
  id: string;
  az: string;
  disk: SimDisk;
  clock: SimClock | null;
  node: TwoTierNode<number> | null;
  app: RecordingApp | null;
  alive: boolean;
  incarnation: number;
  /** Clock rate of this node (skew), fixed for the run. */
  rate: number;
  halted: boolean;
}

export const DEFAULT_AZS = ['a', 'b', 'c'] as const;

export class SimCluster {
  readonly scheduler: Scheduler;
  readonly network: SimNetwork;
  readonly checker: ClusterChecker;
  readonly azs: readonly string[];
  readonly nodes = new Map<string, SimNode>();
  readonly tickMs: number;
  private readonly globalRaft: RaftConfig;
  private readonly localRaft: { electionTimeoutTicks: number; heartbeatIntervalTicks: number };

  constructor(private readonly options: SimClusterOptions) {
    this.scheduler = new Scheduler(options.seed, options.budget ? { budget: options.budget } : {});
    this.network = new SimNetwork(this.scheduler, this.scheduler.random.fork());
    this.checker = new ClusterChecker(() => this.scheduler.nowUs);
    this.azs = options.azs ?? DEFAULT_AZS;
    this.tickMs = options.tickMs ?? 10;
    this.localRaft = options.localRaft ?? { electionTimeoutTicks: 10, heartbeatIntervalTicks: 1 };
    // The global group is slower per round (each seat step is a local commit): longer timeouts.
    this.globalRaft = validateRaftConfig(options.globalRaft ?? { electionTimeoutTicks: 40, heartbeatIntervalTicks: 4 });
    const skew = options.maxSkewPermille ?? 0;
    for (const az of this.azs) {
      for (let i = 1; i <= (options.nodesPerAz ?? 3); i++) {
        const id = `${az}${i}`;
        const rate = 1 + (this.scheduler.random.nextInt(2 * skew + 1) - skew) / 1000;
        const disk = new SimDisk(id);
        if (options.fsync) disk.useFsyncLatency(fsyncLatency(this.scheduler, options.fsync));
        this.nodes.set(id, { id, az, disk, clock: null, node: null, app: null, alive: false, incarnation: 0, rate, halted: false });
      }
    }
    this.network.onLocalSend = (id, m) => this.checker.observeSend(m, this.nodes.get(id)!.disk.durableHardState());
    this.scheduler.afterInstant = () => this.checkInstant();
    this.scheduler.onNodeError = (owner, label, error) => this.onNodeError(owner, label, error);
  }

  nodesOf(az: string): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.az === az);
  }

  alive(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive);
  }

  get(id: string): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new TypeError(`no node ${id}`);
    return n;
  }

  /**
   * A node's founding membership (RaftCore uses it only while its log holds no configuration).
   * Static: its AZ's nodes as local voters, every AZ as a global voter. Grown: the first node of
   * an AZ is its AZ's only voter, the first AZ the only seat; every other node starts empty.
   */
  private foundingConf(n: SimNode): { local: ConfState; global: ConfState } {
    const conf = (voters: string[]): ConfState => ({ voters, learners: [], votersOutgoing: [] });
    if (this.options.formation !== 'grown') return { local: conf(this.nodesOf(n.az).map((x) => x.id)), global: conf([...this.azs]) };
    const founder = this.nodesOf(n.az)[0]!.id === n.id;
    return { local: conf(founder ? [n.id] : []), global: conf(founder && n.az === this.azs[0] ? [n.az] : []) };
  }

  async startAll(): Promise<void> {
    for (const n of this.nodes.values()) if (!n.alive) await this.start(n.id);
  }

  /** Starts (or restarts) a node: a new process on the node's disk. */
  async start(id: string): Promise<SimNode> {
    const n = this.get(id);
    if (n.alive) throw new Error(`start: ${id} is running`);
    n.incarnation++;
    n.halted = false;
    const incarnation = n.incarnation;
    const app = new RecordingApp({
      onApply: (item, pos) => this.onApply(n, incarnation, item, pos.globalIndex),
      onReplace: (items) => this.onReplace(n, incarnation, items),
    });
    const clock = new SimClock(this.scheduler, id, n.rate);
    const conf = this.foundingConf(n);
    let requests = 0;
    n.app = app;
    n.clock = clock;
    n.alive = true;
    n.node = await TwoTierNode.start<number>({
      nodeId: id,
      az: n.az,
      storage: n.disk.open(),
      localTransport: this.network.endpoint('local', id, n.az),
      seatTransport: this.network.endpoint('seat', id, n.az),
      app,
      localRaft: this.localRaft,
      globalRaft: this.globalRaft,
      tickMs: this.tickMs,
      clock,
      random: this.scheduler.random.fork(),
      localInitialConfState: conf.local,
      globalInitialConfState: conf.global,
      ...(this.options.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: this.options.snapshotEveryEntries } : {}),
      ...(this.options.globalRequestTimeoutTicks !== undefined ? { globalRequestTimeoutTicks: this.options.globalRequestTimeoutTicks } : {}),
      newRequestId: () => `${id}.${incarnation}.${++requests}`,
    });
    n.node.onRoleChange((e) => this.onRole(n, incarnation, e));
    this.scheduler.trace(`start ${id}#${incarnation} rate=${n.rate}`);
    return n;
  }

  /** Power cut: timers stop, endpoints close, unsynced writes are lost; pending requests fail. */
  async crash(id: string): Promise<void> {
    const n = this.get(id);
    if (!cutPower(n, this.network, this.scheduler)) return;
    const node = n.node;
    n.node = null;
    n.app = null;
    // What is left of the process fails its callers (ERR_STOPPED), as broken connections would.
    await node?.stop();
  }

  async restart(id: string): Promise<SimNode> {
    await this.crash(id);
    return this.start(id);
  }

  /** The AZ's local leader holding its check-quorum lease, if any. */
  localLeaderOf(az: string): SimNode | null {
    for (const n of this.nodesOf(az)) if (n.alive && n.node?.hasLocalLease()) return n;
    return null;
  }

  globalLeader(): SimNode | null {
    for (const n of this.nodes.values()) if (n.alive && n.node?.isGlobalLeader()) return n;
    return null;
  }

  /** Every AZ has a local leader that acts for its seat, and a global leader exists. */
  hasAllLeaders(): boolean {
    return this.azs.every((az) => this.localLeaderOf(az)?.node?.status().seat != null) && this.globalLeader() !== null;
  }

  async stopAll(): Promise<void> {
    for (const n of this.nodes.values()) await this.crash(n.id);
  }

  // ---- observation ----

  private onApply(n: SimNode, incarnation: number, item: AppliedCommand, globalIndex: number | null): void {
    // A crashed process may still be finishing a Ready in memory: what it does no longer counts.
    if (!n.alive || n.incarnation !== incarnation) return;
    this.scheduler.trace(`apply ${n.id} ${item.seq} ${item.tier} ${item.text}`);
    this.checker.observeApply(n.az, n.id, item, globalIndex);
  }

  private onReplace(n: SimNode, incarnation: number, items: readonly AppliedCommand[]): void {
    if (!n.alive || n.incarnation !== incarnation) return;
    this.scheduler.trace(`replace ${n.id} ${items.length}`);
    this.checker.observeReplace(n.az, n.id, items);
  }

  private onRole(n: SimNode, incarnation: number, e: { tier: 'local' | 'global'; role: string; leaderId: string | null; term: number }): void {
    if (!n.alive || n.incarnation !== incarnation) return;
    this.scheduler.trace(`role ${n.id} ${e.tier} ${e.role} leader=${e.leaderId} t${e.term}`);
    if (e.role !== 'leader') return;
    if (e.tier === 'local') this.checker.observeLocalLeader(n.az, e.term, n.id);
    else this.checker.observeGlobalLeader(e.term, n.id);
  }

  /** An assertion thrown in a node's code: report it, and the process dies as it would. */
  private onNodeError(id: string, label: string, error: unknown): void {
    const n = this.nodes.get(id);
    const detail = error instanceof Error ? error.message : String(error);
    this.checker.observeHalted(id, `threw while handling "${label}": ${detail}`);
    if (n) n.halted = true;
    this.scheduler.after(0, `crash ${id} after assertion`, () => this.crash(id));
  }

  private checkInstant(): void {
    for (const n of this.nodes.values()) {
      if (!n.alive || n.halted || !n.node) continue;
      if (n.node.isHalted()) {
        n.halted = true;
        this.checker.observeHalted(n.id, 'driver stopped (fatal storage, state machine or invariant error)');
      }
    }
  }
}

/** Fsync latencies: SSD-like, slower, and a disk with a long tail (a few writes take 50–250 ms). */
export const FSYNC_SHAPES: readonly FsyncShape[] = [
  { minUs: 50, maxUs: 500, tailPermille: 0, tailUs: 0 },
  { minUs: 200, maxUs: 3_000, tailPermille: 10, tailUs: 50_000 },
  { minUs: 100, maxUs: 2_000, tailPermille: 30, tailUs: 250_000 },
];

/** A disk's seeded fsync latency (its own random stream, forked from the run's). */
export function fsyncLatency(scheduler: Scheduler, shape: FsyncShape): FsyncLatency {
  const r = scheduler.random.fork();
  return {
    scheduler,
    latencyUs: () => {
      const base = shape.minUs + r.nextInt(shape.maxUs - shape.minUs + 1);
      return shape.tailPermille > 0 && r.nextInt(1000) < shape.tailPermille ? base + 1 + r.nextInt(shape.tailUs) : base;
    },
  };
}

/** The stable code of an error from the system under test, for ledgers and assertions. */
export function errorCode(error: unknown): string {
  if (error instanceof TwoTierError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERR_UNKNOWN';
}
