// One seeded simulation run: every choice — clock skews, link fault rates, the fault schedule,
// client timing, Raft timeouts — is drawn from the seed, so a failing seed replays exactly.
//   1. bootstrap: all nodes start; every AZ must elect a local leader and the seats a global one;
//   2. chaos: clients in every AZ send local and global commands while faults strike: crashes
//      (losing unsynced writes) and restarts, partitions inside an AZ and between AZs (one-way
//      too), message loss, duplication, delay and reordering, background disk flushes;
//   3. heal: faults stop, crashed nodes restart, links heal; liveness and durability are checked.
import { Ledger, SimClient } from './clients.ts';
import type { Violation } from './checkers.ts';
import { growCluster } from './grow.ts';
import { checkDurability, checkLiveness } from './recovery-checks.ts';
import { FSYNC_SHAPES, SimCluster, type FsyncShape } from './sim-cluster.ts';
import { CALM_LINKS, type LinkFaults } from './sim-network.ts';
import type { RunBudget } from './virtual-time.ts';

export interface SeededRunOptions {
  seed: number;
  /** Virtual duration of the chaos phase. */
  chaosMs?: number;
  /** Virtual time allowed for leaders, probes and convergence after the heal. */
  recoveryBoundMs?: number;
  /** How the cluster is formed (SimClusterOptions.formation); default 'static'. */
  formation?: 'static' | 'grown';
  /** Events and virtual time the run may take; past it the run is reported `hung`. */
  budget?: RunBudget;
}

export interface SeededRunResult {
  seed: number;
  violations: Violation[];
  traceHash: string;
  virtualMs: number;
  acked: { local: number; global: number };
  attempts: number;
  failures: Record<string, number>;
  faults: string[];
  eventsRun: number;
  /** The last trace lines (for a failing seed). */
  recentTrace: readonly string[];
}

const CHOICES_SNAPSHOT = [10_000, 40, 15] as const;
const CHOICES_SKEW = [0, 20, 50, 100] as const;

/** Link faults for the chaos phase, drawn from the seed. */
function chaosLinks(cluster: SimCluster): LinkFaults {
  const r = cluster.scheduler.random;
  const minDelayUs = 200 + r.nextInt(1_000);
  return {
    lossPermille: r.nextInt(80),
    duplicatePermille: r.nextInt(40),
    minDelayUs,
    maxDelayUs: minDelayUs + r.nextInt(12_000),
    spikePermille: r.nextInt(20),
    spikeDelayUs: 20_000 + r.nextInt(150_000),
  };
}

/** One fault, chosen and applied at the current instant; returns what it did. */
async function strike(cluster: SimCluster): Promise<string> {
  const r = cluster.scheduler.random;
  const nodes = [...cluster.nodes.values()];
  const down = nodes.filter((n) => !n.alive);
  const up = nodes.filter((n) => n.alive);
  const pick = <T>(xs: readonly T[]): T => xs[r.nextInt(xs.length)]!;
  const az = pick(cluster.azs);
  const oneWay = r.nextInt(3) === 0;
  switch (r.nextInt(8)) {
    case 0:
    case 1: {
      if (up.length === 0) return 'none';
      // Prefer a leader: its loss exercises elections and seat rebuilding.
      const leader = r.nextInt(2) === 0 ? (cluster.globalLeader() ?? cluster.localLeaderOf(az)) : null;
      const victim = leader ?? pick(up);
      if (r.nextInt(3) === 0) {
        // The crash falls between persist and send: right after the victim's next fsync completes.
        victim.disk.cutAfterNextSync = () => cluster.crash(victim.id);
        return `crash ${victim.id} at its next fsync`;
      }
      await cluster.crash(victim.id);
      return `crash ${victim.id}`;
    }
    case 2:
      if (down.length === 0) return 'none';
      return `restart ${(await cluster.start(pick(down).id)).id}`;
    case 3: {
      const victim = pick(cluster.nodesOf(az));
      cluster.network.isolateNode(victim.id, oneWay);
      return `isolate node ${victim.id}${oneWay ? ' one-way' : ''}`;
    }
    case 4:
      cluster.network.isolateAz(az, cluster.azs, oneWay);
      return `isolate AZ ${az}${oneWay ? ' one-way' : ''}`;
    case 5: {
      const [x, y] = [pick(nodes), pick(nodes)];
      if (x.id === y.id) return 'none';
      cluster.network.cutNodes(x.id, y.id, oneWay);
      return `cut ${x.id}${oneWay ? '->' : '<->'}${y.id}`;
    }
    case 6:
      cluster.network.heal();
      return 'heal network';
    default: {
      const n = pick(nodes);
      n.disk.flush();
      return `flush disk ${n.id}`;
    }
  }
}

export async function runSeed(options: SeededRunOptions): Promise<SeededRunResult> {
  const seed = options.seed;
  const formation = options.formation ?? 'static';
  const cluster = new SimCluster({ seed, ...clusterShape(seed), formation, ...(options.budget ? { budget: options.budget } : {}) });
  const s = cluster.scheduler;
  const ledger = new Ledger();
  const faults: string[] = [];
  const clients: SimClient[] = [];
  try {
    const formed = formation === 'grown' ? await growCluster(cluster, 60_000_000) : await bootstrap(cluster);
    if (!formed) {
      cluster.checker.report('liveness', `no full set of leaders within the formation bound (${formation})`);
    } else {
      for (const az of cluster.azs) {
        for (const tier of ['local', 'global'] as const) clients.push(new SimClient(cluster, az, tier, s.random.fork(), ledger));
      }
      clients.forEach((c) => c.start());
      await chaos(cluster, (options.chaosMs ?? 3_000) * 1000, faults);
      clients.forEach((c) => c.stop());
      await heal(cluster, faults);
      const boundUs = (options.recoveryBoundMs ?? 20_000) * 1000;
      if (await checkLiveness(cluster, ledger, boundUs)) await checkDurability(cluster, ledger, boundUs, () => clients.every((c) => !c.busy));
    }
  } catch (error) {
    cluster.checker.reportFailure(error, `pnpm sim -- --cluster --seed ${seed}${formation === 'grown' ? ' --grown' : ''}`);
  }
  await cluster.stopAll().catch(() => {});
  return {
    seed,
    violations: cluster.checker.violations,
    traceHash: s.traceHash(),
    virtualMs: s.nowMs,
    acked: { local: ledger.acks.filter((a) => a.tier === 'local').length, global: ledger.acks.filter((a) => a.tier === 'global').length },
    attempts: ledger.attempts,
    failures: Object.fromEntries([...ledger.failures].sort(([a], [b]) => a.localeCompare(b))),
    faults,
    eventsRun: s.eventsRun,
    recentTrace: s.recentTrace(),
  };
}

async function bootstrap(cluster: SimCluster): Promise<boolean> {
  await cluster.startAll();
  return cluster.scheduler.runUntilTrue(() => cluster.hasAllLeaders(), 20_000_000);
}

/** Cluster parameters drawn from the seed (a separate stream, so they do not shift the run's). */
function clusterShape(seed: number): { snapshotEveryEntries: number; maxSkewPermille: number; globalRequestTimeoutTicks: number; fsync: FsyncShape } {
  const x = (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) >>> 0) % 1_000_003;
  return {
    snapshotEveryEntries: CHOICES_SNAPSHOT[x % CHOICES_SNAPSHOT.length]!,
    maxSkewPermille: CHOICES_SKEW[(x >>> 3) % CHOICES_SKEW.length]!,
    globalRequestTimeoutTicks: 150,
    fsync: FSYNC_SHAPES[(x >>> 5) % FSYNC_SHAPES.length]!,
  };
}

async function chaos(cluster: SimCluster, durationUs: number, faults: string[]): Promise<void> {
  const s = cluster.scheduler;
  const end = s.nowUs + durationUs;
  cluster.network.faults = chaosLinks(cluster);
  faults.push(`links ${JSON.stringify(cluster.network.faults)}`);
  while (s.nowUs < end) {
    await s.runUntil(Math.min(end, s.nowUs + 100_000 + s.random.nextInt(500_000)));
    if (s.nowUs >= end) break;
    const what = await strike(cluster);
    s.trace(`fault ${what}`);
    faults.push(`${Math.round(s.nowMs)}ms ${what}`);
  }
}

async function heal(cluster: SimCluster, faults: string[]): Promise<void> {
  cluster.network.faults = { ...CALM_LINKS };
  cluster.network.heal();
  for (const n of cluster.nodes.values()) n.disk.cutAfterNextSync = null;
  for (const n of cluster.nodes.values()) if (!n.alive) await cluster.start(n.id);
  cluster.scheduler.trace('heal');
  faults.push(`${Math.round(cluster.scheduler.nowMs)}ms heal: links calm, network healed, all nodes up`);
}
