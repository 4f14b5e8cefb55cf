// Raft benchmark: a 3-node group in one process — real LevelDB per node in a tmp
// dir with synced writes, the in-memory transport (through the wire codec) — measuring
//   * commits/s and commit latency p50/p99 with 1 and with 64 concurrent proposers, and
//   * leader failover: crash the leader → first proposal committed by its successor,
//     with heartbeat 100 ms / election timeout 1000 ms.
// Run: `node --conditions=source --import tsx bench/raft.bench.ts` or `pnpm bench --only raft`.
// Writes bench/results/raft.json (or $BENCH_RESULTS_DIR/raft.json).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  LevelStorage,
  MemoryNetwork,
  NodeDriver,
  SeededRandom,
  systemClock,
  type Clock,
  type ClockTimer,
  type Entry,
  type StateMachine,
} from '../packages/consensus/src/index.ts';

const PROPOSALS_PER_RUN = Number(process.env.RAFT_BENCH_PROPOSALS ?? 3000);
const PAYLOAD_BYTES = 100;
const CONCURRENCY_LEVELS = [1, 64];
const FAILOVER_TRIALS = Number(process.env.RAFT_BENCH_FAILOVER_TRIALS ?? 5);
const TICK_MS = 100; // heartbeat every tick (100 ms), election timeout 10 ticks (1000 ms)
const IDS = ['n1', 'n2', 'n3'];

/** Counts applied entries; the benchmark measures Raft, not an application. */
class CountingStateMachine implements StateMachine<void> {
  applied = 0;
  apply(entries: readonly Entry[]): void {
    this.applied += entries.length;
  }
  snapshot(): Uint8Array {
    return Uint8Array.of(this.applied);
  }
  restore(): void {}
}

class StoppableClock implements Clock {
  private readonly timers = new Set<ClockTimer>();
  setInterval(callback: () => void, intervalMs: number): ClockTimer {
    const t = systemClock.setInterval(callback, intervalMs);
    this.timers.add(t);
    return { cancel: () => (t.cancel(), this.timers.delete(t)) };
  }
  stopAll(): void {
    for (const t of this.timers) t.cancel();
  }
}

interface Node {
  driver: NodeDriver<void>;
  storage: LevelStorage;
  clock: StoppableClock;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class BenchCluster {
  readonly network = new MemoryNetwork();
  readonly nodes = new Map<string, Node>();
  private readonly random = new SeededRandom(2026);
  constructor(readonly dir: string) {}

  async start(id: string): Promise<void> {
    const storage = await LevelStorage.open(join(this.dir, id));
    const clock = new StoppableClock();
    const driver = await NodeDriver.start<void>({
      id,
      storage,
      transport: this.network.endpoint(id),
      stateMachine: new CountingStateMachine(),
      tickMs: TICK_MS,
      clock,
      random: this.random.fork(),
      raft: { heartbeatIntervalTicks: 1, electionTimeoutTicks: 10 },
      initialConfState: { voters: IDS, learners: [], votersOutgoing: [] },
      snapshotEveryEntries: 10_000,
    });
    this.nodes.set(id, { driver, storage, clock });
  }

  /** Abrupt: timers stop, the endpoint disconnects, the database closes under the driver. */
  async crash(id: string): Promise<void> {
    const node = this.nodes.get(id)!;
    this.nodes.delete(id);
    node.clock.stopAll();
    await this.network.endpointOf(id)?.close();
    await node.storage.close();
    // Its clients see the connection drop: waiting requests reject (ERR_STOPPED), nothing more runs.
    await node.driver.stop();
  }

  leader(): [string, Node] | undefined {
    return [...this.nodes].find(([, n]) => n.driver.status().role === 'leader');
  }

  async waitLeader(): Promise<[string, Node]> {
    for (;;) {
      const l = this.leader();
      if (l) return l;
      await sleep(5);
    }
  }

  async stop(): Promise<void> {
    for (const n of this.nodes.values()) await n.driver.stop();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function throughputRun(cluster: BenchCluster, concurrency: number) {
  const [, leader] = await cluster.waitLeader();
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(0x61);
  const latenciesMs: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < PROPOSALS_PER_RUN) {
        issued++;
        const t0 = performance.now();
        await leader.driver.propose(payload);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  latenciesMs.sort((a, b) => a - b);
  return {
    concurrency,
    proposals: latenciesMs.length,
    payloadBytes: PAYLOAD_BYTES,
    commitsPerSecond: Math.round(latenciesMs.length / elapsedS),
    latencyMs: {
      p50: round(percentile(latenciesMs, 50)),
      p99: round(percentile(latenciesMs, 99)),
      max: round(latenciesMs[latenciesMs.length - 1]!),
    },
  };
}

/** Crash the leader, then propose to whoever leads until one proposal commits. */
async function failoverTrial(cluster: BenchCluster) {
  const [oldId] = await cluster.waitLeader();
  await cluster.leader()![1].driver.propose(Uint8Array.of(1)); // leader is established and committing
  const crashedAt = performance.now();
  await cluster.crash(oldId);
  let electedMs = NaN;
  for (;;) {
    const l = cluster.leader();
    if (!l) {
      await sleep(2);
      continue;
    }
    if (Number.isNaN(electedMs)) electedMs = performance.now() - crashedAt;
    try {
      await l[1].driver.propose(Uint8Array.of(2));
      break;
    } catch {
      await sleep(2); // e.g. stepped down again; keep trying whoever leads
    }
  }
  const committedMs = performance.now() - crashedAt;
  await cluster.start(oldId);
  await sleep(3 * TICK_MS); // let the restarted node rejoin before the next trial
  return { crashed: oldId, newLeaderElectedMs: round(electedMs), firstCommitMs: round(committedMs) };
}

const round = (x: number): number => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'adrestia-raft-bench-'));
  const cluster = new BenchCluster(dir);
  try {
    for (const id of IDS) await cluster.start(id);
    console.log(`raft bench: 3 nodes, LevelDB with sync writes in ${dir}, memory transport, ${cpus().length} CPUs`);
    const throughput = [];
    for (const c of CONCURRENCY_LEVELS) {
      const r = await throughputRun(cluster, c);
      throughput.push(r);
      console.log(
        `  ${String(c).padStart(2)} proposer(s): ${r.commitsPerSecond} commits/s, latency p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms (${r.proposals} × ${PAYLOAD_BYTES} B)`,
      );
    }
    const trials = [];
    for (let t = 0; t < FAILOVER_TRIALS; t++) {
      const r = await failoverTrial(cluster);
      trials.push(r);
      console.log(`  failover trial ${t + 1}: new leader after ${r.newLeaderElectedMs} ms, first commit after ${r.firstCommitMs} ms`);
    }
    const commits = trials.map((t) => t.firstCommitMs).sort((a, b) => a - b);
    const failover = {
      heartbeatMs: TICK_MS,
      electionTimeoutMs: 10 * TICK_MS,
      trials,
      firstCommitMs: { min: commits[0], median: percentile(commits, 50), max: commits[commits.length - 1] },
    };
    console.log(`  failover first commit: min ${failover.firstCommitMs.min} ms, median ${failover.firstCommitMs.median} ms, max ${failover.firstCommitMs.max} ms`);
    const results = {
      bench: 'raft',
      at: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      setup: '3 nodes in one process, LevelDB (classic-level) with sync batches, in-memory transport through the msgpack codec',
      throughput,
      failover,
    };
    const outDir = process.env.BENCH_RESULTS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'raft.json'), JSON.stringify(results, null, 2) + '\n');
    console.log(`  wrote ${join(outDir, 'raft.json')}`);
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
