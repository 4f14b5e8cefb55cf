// HTTPS issuance benchmark: a 3-node AZ of real `adrestia-pki serve` processes
// on loopback (the dev layout, heartbeat 100 ms / election timeout 1000 ms, LevelDB with synced
// writes), clients over HTTPS with keep-alive to the AZ's local VIP, measuring
//   * certificates/s and latency p50/p99 at 1 and 16 concurrent clients (a certificate counts
//     once the server answered: after its `Issued` event committed), and
//   * failover: kill -9 of the local leader → first acknowledged issuance, clients retrying.
// Run: `node --conditions=source --import tsx bench/https.bench.ts` or `pnpm bench --only https`.
// Writes bench/results/https.json (or $BENCH_RESULTS_DIR/https.json).
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { buildCsr, toPem } from '../packages/pki-core/src/index.ts';
import { startDevCluster, type DevCluster } from '../packages/server/src/dev/cluster.ts';
import { DEV_BASE_MAX, DEV_PORTS } from '../packages/server/src/dev/layout.ts';
import { waitReady } from '../packages/server/src/dev/processes.ts';
import { httpCall } from '../packages/server/src/peer/http-request.ts';
import { cpuDelta, cpuSnapshot, processRssMiB } from '../scripts/bench-usage.ts';

/** Dev address plan offset (packages/server/src/dev/layout.ts): AZ 1 on 127.(BASE+1).0.0/16. */
const BASE = Number(process.env.HTTPS_BENCH_BASE ?? 90);
if (!Number.isSafeInteger(BASE) || BASE < 0 || BASE >= DEV_BASE_MAX) throw new TypeError(`HTTPS_BENCH_BASE must be an integer in 0..${DEV_BASE_MAX - 1}, got ${process.env.HTTPS_BENCH_BASE}`);
const LOCAL_VIP = `127.${BASE + 1}.0.1`;
const CLIENT = `127.${BASE + 1}.0.200`;
const REQUESTS = { 1: Number(process.env.HTTPS_BENCH_REQUESTS_1 ?? 200), 16: Number(process.env.HTTPS_BENCH_REQUESTS_16 ?? 800) } as const;
const FAILOVER_TRIALS = Number(process.env.HTTPS_BENCH_FAILOVER_TRIALS ?? 3);

interface Ctx {
  cluster: DevCluster;
  agent: Agent;
  ca: string;
  token: string;
}

function csrs(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cn = `${tag}-${i}.bench.example`;
    return toPem(buildCsr({ subject: `CN=${cn}`, privateKey, sans: [{ type: 'dns', value: cn }] }), 'CERTIFICATE REQUEST');
  });
}

function issue(ctx: Ctx, csr: string): Promise<number> {
  const body = Buffer.from(JSON.stringify({ csr, profile: 'serverLeaf' }));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: LOCAL_VIP,
        port: DEV_PORTS.https,
        path: '/api/v1/certificates',
        method: 'POST',
        agent: ctx.agent,
        ca: ctx.ca,
        localAddress: CLIENT,
        checkServerIdentity: () => undefined,
        timeout: 30_000,
        headers: { 'content-type': 'application/json', 'content-length': String(body.length), authorization: `Bearer ${ctx.token}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function throughput(ctx: Ctx, concurrency: 1 | 16) {
  const pending = csrs(REQUESTS[concurrency], `c${concurrency}`);
  const latencies: number[] = [];
  let failures = 0;
  const failedStatuses: Record<string, number> = {};
  const pids = nodePids(ctx);
  const cpuBefore = cpuSnapshot(pids);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let csr = pending.pop(); csr !== undefined; csr = pending.pop()) {
        const t = performance.now();
        const status = await issue(ctx, csr).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
        if (status === 201 || status === 200) latencies.push(performance.now() - t);
        else {
          failures++;
          failedStatuses[status] = (failedStatuses[status] ?? 0) + 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuDelta(cpuBefore, cpuSnapshot(pids));
  const clientCpu = process.cpuUsage(clientBefore);
  const leader = await localLeaderProc(ctx).then((p) => p.name, () => null); // the VIP may not be held yet during the warm-up
  latencies.sort((a, b) => a - b);
  const perCert = (ms: number | null): number | null => (ms === null || latencies.length === 0 ? null : ms / latencies.length);
  return {
    concurrency,
    requests: REQUESTS[concurrency],
    issued: latencies.length,
    failures,
    failedStatuses,
    certsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    // CPU per certificate summed over the AZ's nodes (the figure to compare across runs on a shared machine).
    cpuMsPerCert: perCert(cpu.totalMs),
    cpuMsPerCertByNode: Object.fromEntries(Object.entries(cpu.byName).map(([n, ms]) => [`${n}${n === leader ? ' (local leader)' : ''}`, perCert(ms)])),
    clientCpuMsPerCert: perCert((clientCpu.user + clientCpu.system) / 1000),
    rssMiBByNode: Object.fromEntries(ctx.cluster.procs.map((p) => [p.name, p.child?.pid === undefined ? null : processRssMiB(p.child.pid)])),
    loadAverage1m: loadavg()[0] ?? null,
  };
}

/** Live node processes by name. */
function nodePids(ctx: Ctx): Map<string, number> {
  return new Map(ctx.cluster.procs.flatMap((p) => (p.child?.pid === undefined ? [] : [[p.name, p.child.pid] as const])));
}

async function localLeaderProc(ctx: Ctx) {
  const status = await httpCall(`http://${LOCAL_VIP}:${DEV_PORTS.http}/api/v1/status`, { timeoutMs: 5_000, maxResponseBytes: 65536, localAddress: CLIENT });
  const { nodeId } = JSON.parse(status.body.toString()) as { nodeId: string };
  const dir = ctx.cluster.dir;
  for (const p of ctx.cluster.procs) {
    const id = (await readFile(join(dir, 'data', p.name, 'node-id'), 'utf8')).trim();
    if (id === nodeId) return p;
  }
  throw new Error(`no process for local leader ${nodeId}`);
}

/** kill -9 of the local leader → the first issuance acknowledged by the AZ again. */
async function failover(ctx: Ctx): Promise<number> {
  const proc = await localLeaderProc(ctx);
  const pool = csrs(400, `f${Date.now()}`);
  proc.child?.kill('SIGKILL');
  const killedAt = performance.now();
  for (;;) {
    const csr = pool.pop();
    if (csr === undefined) throw new Error('no issuance within the failover budget');
    const status = await issue(ctx, csr).catch(() => 0);
    if (status === 201 || status === 200) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - killedAt;
  ctx.cluster.restart(proc);
  if (!(await waitReady(proc.host, DEV_PORTS.http, 60_000, () => proc.child !== null))) throw new Error(`${proc.name} did not come back`);
  await new Promise((r) => setTimeout(r, 3_000)); // let the restarted node catch up before the next trial
  return ms;
}

/**
 * `HTTPS_BENCH_CPU_PROF_DIR=<dir>`: every node process writes a V8 CPU profile of the 16-client
 * round there (scripts/bench-cpu-profile.cjs, toggled by SIGUSR2); the bench's own process is not
 * profiled.
 */
const PROFILE_DIR = process.env.HTTPS_BENCH_CPU_PROF_DIR || null;

function profileNodesInto(dir: string | null): void {
  if (dir === null) return;
  const hook = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'bench-cpu-profile.cjs');
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${hook}`.trim();
  process.env.BENCH_CPU_PROF_DIR = dir;
}

/** Starts or stops the profile of every live node (no-op without HTTPS_BENCH_CPU_PROF_DIR). */
function toggleProfiles(ctx: Ctx): void {
  if (PROFILE_DIR === null) return;
  for (const p of ctx.cluster.procs) p.child?.kill('SIGUSR2');
}

async function main(): Promise<void> {
  profileNodesInto(PROFILE_DIR);
  const dir = await mkdtemp(join(tmpdir(), 'adrestia-https-bench-'));
  const cluster = await startDevCluster({ azCount: 1, perAz: 3, dir, base: BASE, logLevel: 'warn', readyTimeoutMs: 60_000 });
  try {
    if (!cluster.ok) throw new Error(`cluster did not start; logs in ${dir}/logs`);
    const ctx: Ctx = {
      cluster,
      agent: new Agent({ keepAlive: true, maxSockets: 32 }),
      ca: await readFile(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8'),
      token: (await readFile(cluster.secrets.adminTokenFile, 'utf8')).trim(),
    };
    await throughput(ctx, 1); // warm-up (JIT, connections, CRL work after start-up)
    const one = await throughput(ctx, 1);
    toggleProfiles(ctx);
    const sixteen = await throughput(ctx, 16);
    toggleProfiles(ctx);
    const runs = [one, sixteen];
    for (const r of runs) {
      console.log(
        `issuance over HTTPS, ${r.concurrency} client(s): ${r.certsPerSecond.toFixed(1)} certs/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms (${r.issued}/${r.requests} issued); ` +
          `CPU ${r.cpuMsPerCert?.toFixed(2) ?? '?'} ms/cert over the nodes ${JSON.stringify(r.cpuMsPerCertByNode, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(2)) : v))}, client ${r.clientCpuMsPerCert?.toFixed(2) ?? '?'} ms/cert; load ${r.loadAverage1m?.toFixed(2)}`,
      );
    }
    const failovers: number[] = [];
    for (let i = 0; i < FAILOVER_TRIALS; i++) {
      ctx.agent.destroy();
      ctx.agent = new Agent({ keepAlive: true, maxSockets: 32 });
      failovers.push(await failover(ctx));
      console.log(`failover trial ${i + 1}: kill -9 local leader → first acknowledged issuance in ${failovers[i]!.toFixed(0)} ms`);
    }
    ctx.agent.destroy();
    const results = {
      benchmark: 'https',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      setup: { nodes: 3, heartbeatMs: 100, electionTimeoutMs: 1000, storage: 'LevelDB, synced writes', transport: 'HTTPS keep-alive to the local VIP; nodes over mTLS', profile: 'serverLeaf', key: 'P-256' },
      issuance: runs,
      failover: { trials: failovers.length, ms: failovers, medianMs: [...failovers].sort((a, b) => a - b)[Math.floor(failovers.length / 2)] ?? null },
    };
    const out = process.env.BENCH_RESULTS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'https.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`wrote ${join(out, 'https.json')}`);
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
