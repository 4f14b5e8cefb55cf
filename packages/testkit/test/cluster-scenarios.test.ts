// Scenario tests of the two-tier design (docs/architecture.md §3) on the deterministic simulator:
// 3 AZs × 3 TwoTierNodes on virtual time. Every scenario runs with clients sending local and
// global commands, the checkers watching every instant (election safety per tier, one command
// order per AZ and one global order), and ends with the recovery checks: after the heal every
// AZ has a local leader, a global leader exists, fresh commands commit, and nothing
// acknowledged is missing anywhere.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  Ledger,
  SimClient,
  SimCluster,
  checkDurability,
  checkLiveness,
  commitWithRetry,
  runSeed,
  runUntilSettled,
  sendCommand,
  type SimClusterOptions,
} from '../src/cluster/index.ts';

const MS = 1000;
const RECOVERY_BOUND_US = 20_000 * MS;

interface World {
  cluster: SimCluster;
  ledger: Ledger;
  clients: SimClient[];
}

/** Boots the cluster, waits for every leader, and starts a local and a global client per AZ. */
async function world(seed: number, options: Partial<SimClusterOptions> = {}): Promise<World> {
  const cluster = new SimCluster({ seed, snapshotEveryEntries: 40, globalRequestTimeoutTicks: 150, ...options });
  await cluster.startAll();
  expect(await cluster.scheduler.runUntilTrue(() => cluster.hasAllLeaders(), 10_000 * MS), 'leaders after bootstrap').to.equal(true);
  const ledger = new Ledger();
  const clients = cluster.azs.flatMap((az) =>
    (['local', 'global'] as const).map((tier) => new SimClient(cluster, az, tier, cluster.scheduler.random.fork(), ledger)),
  );
  clients.forEach((c) => c.start());
  await cluster.scheduler.runUntil(cluster.scheduler.nowUs + 300 * MS);
  return { cluster, ledger, clients };
}

/** Heals everything, restarts what is down, and runs the liveness and durability checks. */
async function finish({ cluster, ledger, clients }: World): Promise<void> {
  clients.forEach((c) => c.stop());
  cluster.network.heal();
  for (const n of cluster.nodes.values()) if (!n.alive) await cluster.start(n.id);
  if (await checkLiveness(cluster, ledger, RECOVERY_BOUND_US)) {
    await checkDurability(cluster, ledger, RECOVERY_BOUND_US, () => clients.every((c) => !c.busy));
  }
  await cluster.stopAll();
  expect(cluster.checker.violations).to.deep.equal([]);
  expect(ledger.acks.length, 'clients got acknowledgements').to.be.greaterThan(10);
}

async function mustCommit(w: World, az: string, tier: 'local' | 'global', text: string): Promise<string> {
  const r = await commitWithRetry(w.cluster, az, tier, text, 10_000 * MS, w.ledger);
  expect(r.text, `${tier} ${text} from ${az} (errors ${r.errors.join(',')})`).to.be.a('string');
  return r.text!;
}

describe('two-tier cluster scenarios (3 AZs × 3 nodes, virtual time)', function () {
  this.timeout(60_000);

  it('kill the local leader of an AZ: the AZ elects another, which rebuilds the seat and commits local and global commands', async () => {
    const w = await world(101);
    const g = w.cluster.globalLeader()!;
    const az = w.cluster.azs.find((a) => a !== g.az)!;
    const old = w.cluster.localLeaderOf(az)!;
    await w.cluster.crash(old.id);
    const ok = await w.cluster.scheduler.runUntilTrue(() => {
      const l = w.cluster.localLeaderOf(az);
      return l !== null && l.id !== old.id && l.node!.status().seat !== null;
    }, 5_000 * MS);
    expect(ok, `a new local leader in ${az}`).to.equal(true);
    await mustCommit(w, az, 'local', 'after-local-leader-crash');
    await mustCommit(w, az, 'global', 'after-local-leader-crash');
    await finish(w);
  });

  it('kill the node that is global leader: a new global leader is elected and every AZ commits global commands', async () => {
    const w = await world(202);
    const g = w.cluster.globalLeader()!;
    await w.cluster.crash(g.id);
    const ok = await w.cluster.scheduler.runUntilTrue(() => {
      const next = w.cluster.globalLeader();
      return next !== null && next.id !== g.id;
    }, 10_000 * MS);
    expect(ok, 'a new global leader').to.equal(true);
    for (const az of w.cluster.azs) await mustCommit(w, az, 'global', `after-global-leader-crash-${az}`);
    await finish(w);
  });

  it('partition one AZ from the others: it keeps committing locally; its global commands fail with a typed error, and succeed after the heal', async () => {
    const w = await world(303);
    const { cluster } = w;
    const az = 'c';
    cluster.network.isolateAz(az, cluster.azs);
    // Long enough for a global leader seat in c to lose its check-quorum lease (thesis §6.2).
    await cluster.scheduler.runUntil(cluster.scheduler.nowUs + 1_500 * MS);
    await mustCommit(w, az, 'local', 'during-partition');
    const leader = cluster.localLeaderOf(az);
    expect(leader, `c keeps a local leader`).not.to.equal(null);
    const outcome = await runUntilSettled(cluster, sendCommand(cluster, leader!.id, 'global', 'G.c.partitioned'), cluster.scheduler.nowUs + 10_000 * MS);
    expect(outcome?.code).to.be.oneOf(['ERR_GLOBAL_TIMEOUT', 'ERR_PROPOSAL_DROPPED', 'ERR_SEAT_INACTIVE']);
    const majority = await mustCommit(w, 'a', 'global', 'majority-side');
    expect(cluster.nodesOf(az).some((n) => n.app?.has(majority)), 'the cut-off AZ cannot apply it yet').to.equal(false);
    cluster.network.heal();
    const fromC = await mustCommit(w, az, 'global', 'after-heal');
    await cluster.scheduler.runUntilTrue(() => cluster.alive().every((n) => n.app!.has(majority) && n.app!.has(fromC)), 5_000 * MS);
    for (const n of cluster.alive()) expect(n.app!.globals().indexOf(majority)).to.be.lessThan(n.app!.globals().indexOf(fromC));
    await finish(w);
  });

  it('a local leader that can no longer send to its AZ (one-way cut) is replaced; the AZ keeps both tiers working', async () => {
    const w = await world(606);
    const { cluster } = w;
    const g = cluster.globalLeader()!;
    const old = cluster.localLeaderOf(g.az)!; // the acting global seat too
    for (const peer of cluster.nodesOf(g.az)) if (peer.id !== old.id) cluster.network.cutNodes(old.id, peer.id, true);
    const ok = await cluster.scheduler.runUntilTrue(() => {
      const l = cluster.localLeaderOf(g.az);
      return l !== null && l.id !== old.id && l.node!.status().seat !== null;
    }, 5_000 * MS);
    expect(ok, `a new local leader in ${g.az}`).to.equal(true);
    await mustCommit(w, g.az, 'local', 'after-one-way-cut');
    await mustCommit(w, g.az, 'global', 'after-one-way-cut');
    await finish(w);
  });

  it('restart everything, one node after another: every acknowledged command survives and leaders return after each restart', async () => {
    const w = await world(404);
    for (const n of [...w.cluster.nodes.values()]) {
      await w.cluster.crash(n.id);
      await w.cluster.scheduler.runUntil(w.cluster.scheduler.nowUs + 200 * MS);
      await w.cluster.start(n.id);
      expect(await w.cluster.scheduler.runUntilTrue(() => w.cluster.hasAllLeaders(), 10_000 * MS), `leaders after restarting ${n.id}`).to.equal(true);
    }
    await finish(w);
  });

  it('cold start: all nodes stop at once and start at once from their disks (unsynced writes lost), and carry on', async () => {
    const w = await world(505, { maxSkewPermille: 50 });
    const { cluster, ledger } = w;
    await cluster.scheduler.runUntil(cluster.scheduler.nowUs + 1_000 * MS);
    const before = ledger.acks.length;
    for (const n of cluster.nodes.values()) await cluster.crash(n.id);
    w.clients.forEach((c) => c.stop());
    await cluster.scheduler.runUntil(cluster.scheduler.nowUs + 1_000 * MS);
    for (const n of cluster.nodes.values()) {
      expect(n.disk.durableState().entries.length + (n.disk.durableState().snapshot ? 1 : 0), `${n.id} has a log`).to.be.greaterThan(0);
    }
    await cluster.startAll();
    expect(await cluster.scheduler.runUntilTrue(() => cluster.hasAllLeaders(), 10_000 * MS), 'leaders after cold start').to.equal(true);
    expect(before, 'acknowledged before the cold start').to.be.greaterThan(10);
    for (const az of cluster.azs) await mustCommit(w, az, 'global', `after-cold-start-${az}`);
    await finish(w);
  });
});

describe('two-tier cluster: seeded fault schedules', function () {
  // 60 seeds (each ~3 s of chaos in virtual time) through the CLI, split across child processes
  // (one per core, at most 4); the nightly run takes 500 and more (README.md "Simulators: CI and
  // nightly runs"); a failing seed replays with `pnpm sim -- --cluster --seed S`.
  const SEEDS = 60;
  const JOBS = Math.max(2, Math.min(4, availableParallelism()));
  this.timeout(900_000);

  it(`${SEEDS} random fault schedules (crashes, restarts, partitions, loss, duplication, delay, skew) are all clean`, () => {
    const lines = runClusterCli(['--seeds', String(SEEDS), '--start', '1', '--jobs', String(JOBS)]);
    expect(lines.filter((l) => /VIOLATIONS|violation |before its summary/.test(l))).to.deep.equal([]);
    expect(lines.at(-1)).to.equal(`cluster-sim: ${SEEDS} seeds, 0 violations`);
    const seeds = new Set(lines.map((l) => /\bseed=(\d+)$/.exec(l)?.[1]).filter((x) => x !== undefined));
    expect(seeds.size, 'every seed ran').to.equal(SEEDS);
    const acked = lines.map((l) => /acked=(\d+)L\/(\d+)G/.exec(l)).filter((m) => m !== null);
    expect(acked.length, 'every seed reported').to.equal(SEEDS);
    expect(acked.every((m) => Number(m[2]) > 0), 'every seed acknowledged global commands').to.equal(true);
    expect(acked.reduce((sum, m) => sum + Number(m[1]) + Number(m[2]), 0)).to.be.greaterThan(SEEDS * 50);
  });

  it('PKI runs (PkiNode × 9 issuing and revoking under faults) keep the PKI invariants on 8 more seeds', () => {
    const lines = runClusterCli(['--pki', '--seeds', '8', '--start', '1000', '--jobs', String(JOBS)]);
    expect(lines.filter((l) => /VIOLATIONS|violation |before its summary/.test(l))).to.deep.equal([]);
    expect(lines.at(-1)).to.equal('cluster-sim: 8 seeds, 0 violations');
    expect(lines.filter((l) => / ok pki trace=/.test(l))).to.have.length(8);
  });

  it('docs/spec.md §3.7 start-up: 9 nodes started at once through discovery, on lossy links, end in ONE cluster (12 seeds)', () => {
    const lines = runClusterCli(['--cold-start', '--seeds', '12', '--start', '1', '--jobs', String(JOBS)]);
    expect(lines.filter((l) => /VIOLATIONS|violation |before its summary/.test(l))).to.deep.equal([]);
    expect(lines.at(-1)).to.equal('cluster-sim: 12 seeds, 0 violations');
    expect(lines.filter((l) => / ok cold-start trace=/.test(l))).to.have.length(12);
  });

  it('a cluster grown as the product grows it (founders; learners promoted; seats joining the global group) survives fault schedules too', async () => {
    for (const seed of [1, 2]) {
      const r = await runSeed({ seed, formation: 'grown' });
      expect(r.violations, `seed=${seed}`).to.deep.equal([]);
      expect(r.acked.global, `seed=${seed} global acknowledgements`).to.be.greaterThan(0);
    }
  });
});

const CLUSTER_CLI = fileURLToPath(new URL('../src/cluster/cli.ts', import.meta.url));

/** Runs the cluster simulator's CLI in a child process; its output lines (it exits 1 on a violation). */
function runClusterCli(args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', CLUSTER_CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return r.stdout.trim().split('\n');
}
