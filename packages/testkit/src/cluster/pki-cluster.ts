// The same harness driving PkiNodes (pki-core's library entry point) instead of bare TwoTierNodes:
// 3 AZs × 3 PkiNodes on the virtual-time Scheduler, SimNetwork, SimDisks and skewed SimClocks,
// formed as the product forms a cluster (found the cluster, found each AZ through the global
// leader, join every other node through its local leader: learner, then voter), with peer
// requests delivered as scheduler events over the same faulty links.
//
// A PKI run replays bit for bit like the bare two-tier runs: every key is an Ed25519 key drawn
// from the seed and kept on the node's simulated disk (SimKeyStore), so no work leaves virtual
// time (no key generation on libuv's thread pool, no key files).
import { PkiError, PkiNode, buildCsr } from '@adrestia/pki-core';
import { clockDriftBoundMs } from '@adrestia/pki-core/cluster';
import type { AzSpec, PeerClient, PeerRequest, PeerResponse, PkiNodeOptions, PkiNodeStart, ProbeAnswer } from '@adrestia/pki-core';
import { ClusterChecker } from './checkers.ts';
import { cutPower } from './power-cut.ts';
import { fsyncLatency, type FsyncShape } from './sim-cluster.ts';
import { SimDisk } from './sim-storage.ts';
import { SimKeyStore, seededEd25519KeyPair } from './sim-key-store.ts';
import { SimVips } from './sim-vips.ts';
import { SimNetwork } from './sim-network.ts';
import { TinySerialRandom } from './tiny-serial-random.ts';
import { Scheduler, SimClock, type RunBudget } from './virtual-time.ts';

/** Certificates are dated from this virtual epoch (2026-01-01T00:00:00Z) plus virtual time. */
const EPOCH_MS = Date.UTC(2026, 0, 1);
/** A peer request to an unreachable or dead node fails after this long (the client's timeout). */
const PEER_TIMEOUT_US = 300_000;
const KEK = new Uint8Array(32).fill(0x5a);
const CLUSTER_ID = '0b7c6f0e-3d1a-4c55-9e2f-6a8b9c0d1e2f';
const START_ATTEMPTS_MAX = 5;
/** Discovery (`pkiInitRetry`, docs/spec.md §3.1.1) and its pause between probes, growing with the attempt. */
const DISCOVERY_RETRIES = 3;
const DISCOVERY_PAUSE_US = 200_000;
/** The cluster's pkiGlobalVip (each AZ's pkiLocalVip is in its AzSpec). */
export const SIM_GLOBAL_VIP = '10.0.10.1';
const LOCAL_RAFT = { electionTimeoutTicks: 10, heartbeatIntervalTicks: 1 };
const GLOBAL_RAFT = { electionTimeoutTicks: 40, heartbeatIntervalTicks: 4 };
/** Hooks run at once here: the margin is the two fence steps a deposed holder needs to notice. */
const VIP_RELEASE_MARGIN_TICKS = 2;
const START_RETRY_PAUSE_US = 300_000;
const TRANSIENT_START_ERRORS = new Set(['ERR_NOT_LEADER', 'ERR_TIMEOUT', 'ERR_NO_LOCAL_QUORUM', 'ERR_NO_GLOBAL_QUORUM', 'ERR_NOT_READY']);

export interface PkiSimNode {
  id: string;
  az: string;
  ordinal: number;
  disk: SimDisk;
  /** The node's key files: they survive its crashes like its disk. */
  keys: SimKeyStore;
  clock: SimClock | null;
  node: PkiNode | null;
  alive: boolean;
  incarnation: number;
  rate: number;
  /** Set while the process is stalled ({@link PkiSimCluster.stall}): peer requests wait on it. */
  stalled: { incarnation: number; resumed: Promise<void>; resume: () => void } | null;
}

export interface PkiSimClusterOptions {
  seed: number;
  azCount?: number;
  nodesPerAz?: number;
  maxSkewPermille?: number;
  snapshotEveryEntries?: number;
  /** Seeded fsync latency of every disk (default: a synced save is durable at once). */
  fsync?: FsyncShape;
  /** Aging out dead nodes (pki-core node/aging/): the PkiNode defaults (a day, a week) when absent. */
  aging?: { nodeInactiveAfterSeconds: number; nodeRemoveAfterSeconds: number };
  /** The scheduler's budget (virtual-time.ts), for runs longer than the default 150 virtual s. */
  budget?: RunBudget;
  /**
   * Signed audit checkpoints this often (pki-core node/audit/; the `audit` checker verifies them).
   * Default: the node's own (300 s), so a run of a few virtual seconds makes none.
   */
  auditCheckpointEverySeconds?: number;
}

export class PkiSimCluster {
  readonly scheduler: Scheduler;
  readonly network: SimNetwork;
  readonly checker: ClusterChecker;
  readonly azs: AzSpec[];
  readonly nodes = new Map<string, PkiSimNode>();
  /** A client CSR (Ed25519, from the seed) the clients submit with different requesters. */
  readonly csrDer: Uint8Array;
  readonly tickMs = 10;
  /** Election timeouts of the two tiers (the check-quorum leases), in ms. */
  readonly electionTimeoutMs = { local: this.tickMs * LOCAL_RAFT.electionTimeoutTicks, global: this.tickMs * GLOBAL_RAFT.electionTimeoutTicks };
  readonly nodeErrors: string[] = [];
  /** Who holds each VIP; acquiring one another node holds is reported as a 'vip' violation. */
  readonly vips: SimVips;
  /** The fences' allowance for clock disagreement over the longer (global) lease. */
  private readonly maxClockDriftMs: number;
  /** While set, serials come from the tiny range (tiny-serial-random.ts). */
  tinySerials = false;

  constructor(private readonly options: PkiSimClusterOptions) {
    this.scheduler = new Scheduler(options.seed, options.budget ? { budget: options.budget } : {});
    this.network = new SimNetwork(this.scheduler, this.scheduler.random.fork());
    this.checker = new ClusterChecker(() => this.scheduler.nowUs);
    this.vips = new SimVips(this.checker, (line) => this.scheduler.trace(line), (id) => this.nodes.get(id)?.stalled != null,
      (id) => this.nodes.get(id)?.alive === true,
    );
    this.maxClockDriftMs = clockDriftBoundMs(this.tickMs * GLOBAL_RAFT.electionTimeoutTicks, (options.maxSkewPermille ?? 0) / 1000);
    this.azs = Array.from({ length: options.azCount ?? 3 }, (_, i) => ({ name: `az${i + 1}`, subnets: [`10.${i + 1}.0.0/16`], localVip: `10.${i + 1}.0.1` }));
    const skew = options.maxSkewPermille ?? 0;
    let ordinal = 10;
    for (const [i, az] of this.azs.entries()) {
      for (let k = 1; k <= (options.nodesPerAz ?? 3); k++) {
        const id = `${String.fromCharCode(97 + i)}${k}`;
        const rate = 1 + (this.scheduler.random.nextInt(2 * skew + 1) - skew) / 1000;
        const keys = new SimKeyStore(this.scheduler.random.fork());
        this.nodes.set(id, { id, az: az.name, ordinal: ordinal++, disk: this.newDisk(id), keys, clock: null, node: null, alive: false, incarnation: 0, rate, stalled: null });
      }
    }
    const { privateKey } = seededEd25519KeyPair(this.scheduler.random.fork());
    this.csrDer = buildCsr({ subject: 'CN=svc.sim.example', privateKey, sans: [{ type: 'dns', value: 'svc.sim.example' }] });
    // Role events are subscribed once PkiNode.start returns; leaders during start-up are polled.
    this.scheduler.afterInstant = () => {
      this.pollLeaders();
      this.vips.checkResumed();
    };
    this.scheduler.onNodeError = (owner, label, error) => {
      this.checker.observeHalted(owner, `threw while handling "${label}": ${error instanceof Error ? error.message : String(error)}`);
      const where = error instanceof Error ? (error.stack ?? '').split('\n').slice(1, 8).map((l) => l.trim()).join(' < ') : '';
      this.nodeErrors.push(`at the assertion (${where}): ${this.describeSeats()}`);
      this.scheduler.after(0, `crash ${owner} after assertion`, () => this.crash(owner));
    };
  }

  /**
   * Added to every node's wall clock (`nowMs`), never to the virtual time timers run on: a run may
   * move the cluster's calendar forward by years (pki-years.ts) without simulating the ticks.
   */
  wallOffsetMs = 0;

  nowMs(): number {
    return EPOCH_MS + this.wallOffsetMs + Math.floor(this.scheduler.nowUs / 1000);
  }

  get(id: string): PkiSimNode {
    const n = this.nodes.get(id);
    if (!n) throw new TypeError(`no node ${id}`);
    return n;
  }

  /** A fresh disk, with the run's fsync latency when one is set (sim-storage.ts). */
  private newDisk(id: string): SimDisk {
    const disk = new SimDisk(id);
    if (this.options.fsync) disk.useFsyncLatency(fsyncLatency(this.scheduler, this.options.fsync));
    return disk;
  }

  nodesOf(az: string): PkiSimNode[] {
    return [...this.nodes.values()].filter((n) => n.az === az);
  }

  alive(): PkiSimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive && n.node);
  }

  localLeaderOf(az: string): PkiSimNode | null {
    return this.nodesOf(az).find((n) => n.alive && n.node?.status().pkiLocalLeader) ?? null;
  }

  globalLeader(): PkiSimNode | null {
    return this.alive().find((n) => n.node!.status().pkiGlobalLeader) ?? null;
  }

  /** Starts a PkiNode process for `id` in the given start mode (its disk and key files persist). */
  start(id: string, how: PkiNodeStart): Promise<PkiNode> {
    return this.launch(id, how.mode, (options) => PkiNode.start(options(), how));
  }

  /**
   * Starts `id` as an operator would start a fresh node: discovery (docs/spec.md §3.1) against the
   * cluster VIP (`probeStatus`), then it founds the cluster (only when `mayFoundCluster`), founds
   * its AZ, or joins. A lost race starts over with a wiped disk and new keys, as the server does.
   */
  bootstrap(id: string, mayFoundCluster: boolean): Promise<PkiNode> {
    const n = this.get(id);
    const az = this.azs.find((a) => a.name === n.az)!;
    return this.launch(id, 'bootstrap', (options) =>
      PkiNode.bootstrap(
        () => {
          // Nothing of a lost attempt is kept: endpoints, disk and keys are new.
          this.network.disconnect(id);
          n.disk = this.newDisk(id);
          n.keys = new SimKeyStore(this.scheduler.random.fork());
          return Promise.resolve(options());
        },
        {
          probe: () => this.probeStatus(id),
          pkiInitRetry: DISCOVERY_RETRIES,
          mayFoundCluster,
          pause: (attempt) => new Promise((resolve) => this.scheduler.after(Math.min(attempt, 5) * DISCOVERY_PAUSE_US, `discovery pause ${id}`, resolve)),
          hasState: false,
          clusterId: CLUSTER_ID,
          azSpec: az,
        },
      ),
    );
  }

  /**
   * Seed 000's `GET /api/v1/status` at the cluster VIP, over the faulty links: answered by the
   * VIP's holder (the global leader) — 404 for an AZ it does not hold as founded, else the AZ's
   * local leader as the holder of its local VIP — or null after the client's timeout.
   */
  private probeStatus(self: string): Promise<ProbeAnswer | null> {
    const az = this.get(self).az;
    return new Promise((resolve) => {
      const holderId = this.vips.holder(SIM_GLOBAL_VIP);
      const holder = holderId === null ? undefined : this.nodes.get(holderId);
      if (!holder?.alive || !holder.node || !this.network.reachable(self, holder.id)) {
        return void this.scheduler.after(PEER_TIMEOUT_US, `status timeout ${self}`, () => resolve(null));
      }
      const node = holder.node;
      this.scheduler.after(this.linkDelayUs(), `status ${self}>${holder.id}`, () => {
        void (async (): Promise<ProbeAnswer | null> => {
          const cluster = await node.app.store.cluster();
          if (!cluster) return null;
          const known = await node.app.store.getAz(az);
          if (!known || known.phase === 'declared') return { kind: 'azUnknown', clusterId: cluster.clusterId, globalLeaderId: holder.id };
          return { kind: 'azExists', clusterId: cluster.clusterId, localLeaderId: this.vips.holder(known.localVip) };
        })().then((answer) => this.scheduler.after(this.linkDelayUs(), `status answer ${holder.id}>${self}`, () => resolve(answer)));
      });
    });
  }

  /** One process of `id`: options for this incarnation, role tracking, crash bookkeeping. */
  private async launch(id: string, mode: string, run: (options: () => PkiNodeOptions) => Promise<PkiNode>): Promise<PkiNode> {
    const n = this.get(id);
    if (n.alive) throw new Error(`start: ${id} is running`);
    const incarnation = ++n.incarnation;
    const clock = new SimClock(this.scheduler, id, n.rate);
    n.clock = clock;
    n.alive = true;
    const node = await run(() => this.nodeOptions(n, clock)).catch((e: unknown) => {
      if (n.incarnation === incarnation) {
        n.alive = false;
        clock.stopAll();
        this.network.disconnect(id);
        n.disk.crash();
      }
      throw e;
    });
    if (n.incarnation !== incarnation || !n.alive) {
      await node.stop(); // crashed while starting
      throw new PkiError('ERR_STOPPED', `${id} crashed while starting`);
    }
    n.node = node;
    node.consensus.onRoleChange((e) => {
      if (!n.alive || n.incarnation !== incarnation || e.role !== 'leader') return;
      this.scheduler.trace(`role ${id} ${e.tier} leader t${e.term}`);
      if (e.tier === 'local') this.checker.observeLocalLeader(n.az, e.term, id);
      else this.checker.observeGlobalLeader(e.term, id);
    });
    this.scheduler.trace(`start ${id}#${incarnation} ${mode}`);
    return node;
  }

  private nodeOptions(n: PkiSimNode, clock: SimClock): PkiNodeOptions {
    const host = `127.0.0.${n.ordinal}`;
    return {
      nodeId: n.id,
      az: n.az,
      addresses: { api: `${host}:8443`, raft: `${host}:7000` },
      keyStore: n.keys,
      caKeyType: 'ed25519',
      kek: KEK,
      storage: n.disk.open(),
      localTransport: this.network.endpoint('local', n.id, n.az),
      seatTransport: this.network.endpoint('seat', n.id, n.az),
      peers: this.peers(n.id),
      clock,
      nowMs: () => this.nowMs(),
      random: new TinySerialRandom(this.scheduler.random.fork(), () => this.tinySerials),
      tickMs: this.tickMs,
      localRaft: LOCAL_RAFT,
      globalRaft: GLOBAL_RAFT,
      // The node's own monotonic clock runs at its skewed rate, like its ticks.
      monotonicMs: () => (this.scheduler.nowUs * n.rate) / 1000,
      vip: { hook: this.vips.hookFor(n.id), globalVip: SIM_GLOBAL_VIP, localVip: this.azs.find((a) => a.name === n.az)!.localVip, maxClockDriftMs: this.maxClockDriftMs, releaseMarginMs: VIP_RELEASE_MARGIN_TICKS * this.tickMs },
      maintenanceEveryTicks: 10,
      crlNextUpdateSeconds: 3600,
      ...(this.options.auditCheckpointEverySeconds !== undefined ? { audit: { checkpointEverySeconds: this.options.auditCheckpointEverySeconds } } : {}),
      ...(this.options.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: this.options.snapshotEveryEntries } : {}),
      ...(this.options.aging ?? {}),
      onError: (e) => this.nodeErrors.push(`${n.id}: ${e instanceof Error ? e.message : String(e)}`),
    };
  }

  /** Every live node's view of both tiers, for the report of a failing run. */
  describeSeats(): string {
    return this.alive()
      .map((n) => {
        const s = n.node!.consensus.status();
        const seat = s.seat ? `seat ${s.seat.role} t${s.seat.term} commit=${s.seat.commit} last=${s.seat.lastIndex} voters=${s.seat.confState.voters.join('+')}` : 'seat inactive';
        return `${n.id}[local ${s.local.role} t${s.local.term}; ${seat}; globalApplied=${s.globalApplied}]`;
      })
      .join(' ');
  }

  private pollLeaders(): void {
    for (const n of this.alive()) {
      const s = n.node!.consensus.status();
      if (s.local.role === 'leader') this.checker.observeLocalLeader(n.az, s.local.term, n.id);
      if (s.seat?.role === 'leader') this.checker.observeGlobalLeader(s.seat.term, n.id);
    }
  }

  /** Power cut, as SimCluster.crash: timers stop, endpoints close, unsynced writes are lost. */
  async crash(id: string): Promise<void> {
    const n = this.get(id);
    if (!cutPower(n, this.network, this.scheduler)) return;
    this.endStall(n); // peer requests waiting on the stall find the node down
    const node = n.node;
    n.node = null;
    await node?.stop();
  }

  /**
   * A process stall of `durationUs` (a GC pause, a VM paused or starved of CPU): the node's timers
   * and its message handling stop while the rest of the cluster runs on, then it resumes with the
   * ticks it missed skipped (SimClock.thaw) and what it was sent waiting in its sockets. A stalled
   * process keeps every address it has configured: its VIPs stay held. False when it is down.
   */
  stall(id: string, durationUs: number): boolean {
    const n = this.get(id);
    if (!n.alive || !n.clock || n.stalled) return false;
    const incarnation = n.incarnation;
    let resume = (): void => {};
    const resumed = new Promise<void>((r) => (resume = r));
    n.stalled = { incarnation, resumed, resume };
    n.clock.freeze();
    this.network.stall(id);
    this.scheduler.trace(`stall ${id}#${incarnation} ${durationUs}us`);
    this.scheduler.after(durationUs, `stall end ${id}`, () => {
      if (n.stalled?.incarnation !== incarnation) return;
      // As the event loop resumes: late timers first, then what the sockets hold.
      n.clock?.thaw();
      this.network.resume(id);
      this.endStall(n);
      this.scheduler.trace(`resume ${id}#${incarnation}`);
    });
    return true;
  }

  private endStall(n: PkiSimNode): void {
    const s = n.stalled;
    n.stalled = null;
    s?.resume();
  }

  async stopAll(): Promise<void> {
    for (const n of this.nodes.values()) await this.crash(n.id);
  }

  /**
   * Peer requests travel as scheduler events over the same links as Raft traffic: a request to a
   * node that is down or cut off, or whose answer is cut off, fails with ERR_TIMEOUT.
   */
  private peers(self: string): PeerClient {
    return {
      call: (to: string, request: PeerRequest): Promise<PeerResponse> =>
        new Promise<PeerResponse>((resolve, reject) => {
          const timeout = (): void => {
            this.scheduler.after(PEER_TIMEOUT_US, `peer timeout ${self}>${to}`, () => reject(new PkiError('ERR_TIMEOUT', `peer ${to} did not answer ${self}`)));
          };
          if (!this.network.reachable(self, to)) return timeout();
          this.scheduler.after(this.linkDelayUs(), `peer ${request.kind} ${self}>${to}`, () => {
            const target = this.nodes.get(to);
            if (!target?.alive || !target.node || !this.network.reachable(self, to)) return timeout();
            const handle = (node: PkiNode): void =>
              void node.handlePeer(self, request).then((answer) => {
              if (!this.network.reachable(to, self)) return timeout();
              this.scheduler.after(this.linkDelayUs(), `peer answer ${to}>${self}`, () => resolve(answer));
            });
            // A stalled node reads the request once it runs again (after its late ticks), if still up.
            if (target.stalled === null) return handle(target.node);
            void target.stalled.resumed.then(() =>
              this.scheduler.after(0, `peer ${request.kind} ${self}>${to} held`, () => (target.alive && target.node ? handle(target.node) : timeout()), to),
            );
          });
        }),
    };
  }

  private linkDelayUs(): number {
    const f = this.network.faults;
    return f.minDelayUs + this.scheduler.random.nextInt(Math.max(1, f.maxDelayUs - f.minDelayUs + 1));
  }

  /**
   * Forms the cluster as the product does: a1 founds it, the first node of every other AZ founds
   * its AZ through the global leader, the others join through their local leaders; then waits
   * until every node is ready, every AZ has 3 voters and every seat votes.
   */
  async form(boundUs: number): Promise<boolean> {
    const [first, ...rest] = this.azs;
    const deadline = this.scheduler.nowUs + boundUs;
    await this.startWithRetry('a1', () => ({ mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: first!, keyType: 'ed25519' }), deadline);
    for (const az of rest) {
      const founder = this.nodesOf(az.name)[0]!.id;
      await this.startWithRetry(founder, () => ({ mode: 'foundAz', azSpec: az, globalLeaderId: this.globalLeader()?.id ?? 'a1' }), deadline);
    }
    for (const az of this.azs) {
      const [founder, ...joiners] = this.nodesOf(az.name);
      for (const j of joiners) await this.startWithRetry(j.id, () => ({ mode: 'join', localLeaderId: this.localLeaderOf(az.name)?.id ?? founder!.id }), deadline);
    }
    return this.scheduler.runUntilTrue(() => this.isFormed(), Math.max(0, deadline - this.scheduler.nowUs));
  }

  /**
   * A start refused for a transient reason (the leader it asked just lost its lease, a peer timed
   * out) is tried again after a pause, against the leader known then — as the server's discovery
   * loop retries (`pkiInitRetry`, docs/spec.md §3.1.1).
   */
  private async startWithRetry(id: string, how: () => PkiNodeStart, deadlineUs: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startAndWait(id, how(), deadlineUs);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (attempt >= START_ATTEMPTS_MAX || typeof code !== 'string' || !TRANSIENT_START_ERRORS.has(code)) throw e;
        this.scheduler.trace(`start ${id} refused (${code}), retrying`);
        await this.crash(id);
        await this.scheduler.runUntil(this.scheduler.nowUs + START_RETRY_PAUSE_US);
      }
    }
  }

  isFormed(): boolean {
    const g = this.globalLeader();
    const seat = g?.node?.consensus.status().seat;
    if (!seat || seat.confState.voters.length !== this.azs.length) return false;
    return this.azs.every((az) => {
      const l = this.localLeaderOf(az.name);
      return l !== null && l.node!.consensus.status().local.confState.voters.length === this.nodesOf(az.name).length;
    }) && this.alive().every((n) => n.node!.status().ready);
  }

  private async startAndWait(id: string, how: PkiNodeStart, deadlineUs: number): Promise<void> {
    let done = false;
    let failure: Error | undefined;
    void this.start(id, how).then(
      () => void (done = true),
      (e: unknown) => {
        failure = e instanceof Error ? e : new Error(String(e));
        done = true;
      },
    );
    await this.scheduler.runUntilTrue(() => done, Math.max(0, deadlineUs - this.scheduler.nowUs));
    if (failure !== undefined) throw failure;
    if (!done) throw new Error(`formation: ${id} (${how.mode}) did not start in time`);
  }
}
