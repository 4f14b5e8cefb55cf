// HTTPS issuance benchmark: a 3-node AZ of real `adrestia-pki serve` processes
// on loopback (the dev layout, heartbeat 100 ms / election timeout 1000 ms, LevelDB with synced
// writes), clients over HTTPS with keep-alive to the AZ's local VIP, measuring
//   * certificates/s and latency p50/p99 at 1 and 16 concurrent clients (a certificate counts
//     once the server answered: after its `Issued` event committed), and
//   * failover: kill -9 of the local leader → first acknowledged issuance, clients retrying.
// With `pnpm bench --only https --vs cfssl,etcd` (BENCH_VS) it also drives, with the same client
// code, concurrency and CSRs, in interleaved rounds: `cfssl serve` storing nothing and storing into
// sqlite, and a 3-member etcd (same heartbeat/election timeout) for kill -9 → first acknowledged
// put; `ratios` in the results are ours divided by theirs (scripts/bench-rivals.ts).
// Run: `node --conditions=source --import tsx bench/https.bench.ts` or `pnpm bench --only https`.
// Writes bench/results/https.json (or $BENCH_RESULTS_DIR/https.json).
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
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
import { installed, startCfssl, startEtcd, type CfsslServer, type EtcdCluster, type EtcdMember } from '../scripts/bench-rivals.ts';

/** Dev address plan offset (packages/server/src/dev/layout.ts): AZ 1 on 127.(BASE+1).0.0/16. */
const BASE = Number(process.env.HTTPS_BENCH_BASE ?? 90);
if (!Number.isSafeInteger(BASE) || BASE < 0 || BASE >= DEV_BASE_MAX) throw new TypeError(`HTTPS_BENCH_BASE must be an integer in 0..${DEV_BASE_MAX - 1}, got ${process.env.HTTPS_BENCH_BASE}`);
const LOCAL_VIP = `127.${BASE + 1}.0.1`;
const CLIENT = `127.${BASE + 1}.0.200`;
const REQUESTS = { 1: Number(process.env.HTTPS_BENCH_REQUESTS_1 ?? 200), 16: Number(process.env.HTTPS_BENCH_REQUESTS_16 ?? 800) } as const;
const FAILOVER_TRIALS = Number(process.env.HTTPS_BENCH_FAILOVER_TRIALS ?? 3);
const HEARTBEAT_MS = 100;
const ELECTION_TIMEOUT_MS = 1000;
/** The rivals live on the unused AZ 2 range of the plan. */
const RIVAL_NET = `127.${BASE + 2}.0`;
const RIVALS = ['cfssl', 'etcd'] as const;
type RivalName = (typeof RIVALS)[number];

function rivalsWanted(): Set<RivalName> {
  const names = (process.env.BENCH_VS ?? '').split(',').filter((n) => n !== '');
  for (const n of names) if (!(RIVALS as readonly string[]).includes(n)) throw new TypeError(`--vs: unknown system ${n} (have: ${RIVALS.join(', ')})`);
  return new Set(names as RivalName[]);
}

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

interface PostTarget {
  secure: boolean;
  host: string;
  port: number;
  path: string;
  agent: Agent | undefined;
  ca?: string;
  headers?: Record<string, string>;
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

/** One JSON POST, the same code for every system; resolves with the HTTP status. */
function postJson(t: PostTarget, json: unknown): Promise<number> {
  const body = Buffer.from(JSON.stringify(json));
  const options = {
    host: t.host,
    port: t.port,
    path: t.path,
    method: 'POST',
    localAddress: CLIENT,
    timeout: t.timeoutMs ?? 30_000,
    headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...t.headers },
  };
  return new Promise((resolve, reject) => {
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    };
    const req = t.secure
      ? request({ ...options, agent: t.agent, ...(t.ca ? { ca: t.ca } : {}), checkServerIdentity: () => undefined }, onResponse)
      : httpRequest(options, onResponse);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function issue(ctx: Ctx, csr: string): Promise<number> {
  const target = { secure: true, host: LOCAL_VIP, port: DEV_PORTS.https, path: '/api/v1/certificates', agent: ctx.agent, ca: ctx.ca, headers: { authorization: `Bearer ${ctx.token}` } };
  return postJson(target, { csr, profile: 'serverLeaf' });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Round {
  concurrency: 1 | 16;
  requests: number;
  issued: number;
  failures: number;
  failedStatuses: Record<string, number>;
  certsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU per certificate summed over the system's processes (the figure that compares on a shared machine). */
  cpuMsPerCert: number | null;
  cpuMsPerCertByProcess: Record<string, number | null>;
  clientCpuMsPerCert: number | null;
  loadAverage1m: number | null;
}

/** `concurrency` clients issue REQUESTS[concurrency] certificates through `issueOne`. */
async function round(concurrency: 1 | 16, issueOne: (csr: string) => Promise<number>, pids: ReadonlyMap<string, number>): Promise<Round> {
  const pending = csrs(REQUESTS[concurrency], `c${concurrency}-${Date.now()}`);
  const latencies: number[] = [];
  let failures = 0;
  const failedStatuses: Record<string, number> = {};
  const cpuBefore = cpuSnapshot(pids);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let csr = pending.pop(); csr !== undefined; csr = pending.pop()) {
        const t = performance.now();
        const status = await issueOne(csr).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
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
    cpuMsPerCert: perCert(cpu.totalMs),
    cpuMsPerCertByProcess: Object.fromEntries(Object.entries(cpu.byName).map(([n, ms]) => [n, perCert(ms)])),
    clientCpuMsPerCert: perCert((clientCpu.user + clientCpu.system) / 1000),
    loadAverage1m: loadavg()[0] ?? null,
  };
}

/** A round against our AZ, with the local leader named and each node's RSS. */
async function throughput(ctx: Ctx, concurrency: 1 | 16) {
  const r = await round(concurrency, (csr) => issue(ctx, csr), nodePids(ctx));
  const leader = await localLeaderProc(ctx).then((p) => p.name, () => null); // the VIP may not be held yet during the warm-up
  const { cpuMsPerCertByProcess, ...rest } = r;
  return {
    ...rest,
    cpuMsPerCertByNode: Object.fromEntries(Object.entries(cpuMsPerCertByProcess).map(([n, ms]) => [`${n}${n === leader ? ' (local leader)' : ''}`, ms])),
    rssMiBByNode: Object.fromEntries(ctx.cluster.procs.map((p) => [p.name, p.child?.pid === undefined ? null : processRssMiB(p.child.pid)])),
  };
}

function describeRound(system: string, r: Round | Awaited<ReturnType<typeof throughput>>): string {
  const byProcess = 'cpuMsPerCertByNode' in r ? r.cpuMsPerCertByNode : r.cpuMsPerCertByProcess;
  const twoDecimals = (_k: string, v: unknown): unknown => (typeof v === 'number' ? Number(v.toFixed(2)) : v);
  return (
    `${system}, ${r.concurrency} client(s): ${r.certsPerSecond.toFixed(1)} certs/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms (${r.issued}/${r.requests} issued); ` +
    `CPU ${r.cpuMsPerCert?.toFixed(2) ?? '?'} ms/cert ${JSON.stringify(byProcess, twoDecimals)}, client ${r.clientCpuMsPerCert?.toFixed(2) ?? '?'} ms/cert; load ${r.loadAverage1m?.toFixed(2)}`
  );
}

// ---- the rivals (scripts/bench-rivals.ts) ----

interface Cfssl {
  server: CfsslServer;
  agent: Agent;
}

function cfsslTarget(c: CfsslServer, agent: Agent | undefined): PostTarget {
  return { secure: true, host: c.host, port: c.port, path: '/api/v1/cfssl/sign', agent, ca: c.caPem };
}

/** `onStarted` learns of each server as it comes up, so a failure of the second still stops the first. */
async function startCfsslPair(dir: string, onStarted: (pair: { noStore: Cfssl; sqlite: Cfssl | null }) => void): Promise<{ noStore: Cfssl; sqlite: Cfssl | null }> {
  const isUp = async (c: CfsslServer): Promise<boolean> => (await postJson(cfsslTarget(c, undefined), { certificate_request: csrs(1, 'probe')[0] })) === 200;
  const start = async (name: string, host: string, sqlite: boolean): Promise<Cfssl> => {
    const sub = join(dir, name);
    await mkdir(sub, { recursive: true });
    return { server: await startCfssl({ dir: sub, host, port: 8888, sqlite, isUp }), agent: new Agent({ keepAlive: true, maxSockets: 32 }) };
  };
  const noStore = await start('cfssl', `${RIVAL_NET}.50`, false);
  onStarted({ noStore, sqlite: null });
  const sqlite = installed('sqlite3') ? await start('cfssl-sqlite', `${RIVAL_NET}.51`, true) : null;
  if (sqlite === null) console.log('sqlite3 is not installed: cfssl runs without its sqlite store only');
  return { noStore, sqlite };
}

function cfsslRound(c: Cfssl, concurrency: 1 | 16): Promise<Round> {
  return round(concurrency, (csr) => postJson(cfsslTarget(c.server, c.agent), { certificate_request: csr }), new Map([['cfssl', c.server.pid]]));
}

/**
 * A put that reaches a member while no leader exists is dropped and its caller waits for etcd's
 * request timeout (7 s here): the client gives up after ETCD_PUT_TIMEOUT_MS and tries the next
 * member, as a client with a deadline would.
 */
const ETCD_PUT_TIMEOUT_MS = 250;
const etcdTarget = (m: EtcdMember, path: string): PostTarget => ({ secure: false, host: m.host, port: 2379, path, agent: undefined, timeoutMs: ETCD_PUT_TIMEOUT_MS });

/** The member etcd's status API names as leader (POST /v3/maintenance/status on each). */
async function etcdLeader(etcd: EtcdCluster): Promise<EtcdMember> {
  for (const m of etcd.members) {
    if (m.child === null) continue;
    const res = await httpCall(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: Buffer.from('{}'), timeoutMs: 5_000, maxResponseBytes: 65536, localAddress: CLIENT });
    const status = JSON.parse(res.body.toString()) as { header: { member_id: string }; leader: string };
    if (status.header.member_id === status.leader) return m;
  }
  throw new Error('etcd has no leader');
}

/** kill -9 of etcd's leader → the first put acknowledged by a surviving member (clients try both in turn). */
async function etcdFailover(etcd: EtcdCluster): Promise<number> {
  const leader = await etcdLeader(etcd);
  const survivors = etcd.members.filter((m) => m !== leader);
  const put = { key: Buffer.from('bench').toString('base64'), value: Buffer.from(String(Date.now())).toString('base64') };
  etcd.kill(leader);
  const killedAt = performance.now();
  for (let i = 0; ; i++) {
    if (performance.now() - killedAt > 60_000) throw new Error('etcd: no put acknowledged within 60 s');
    const status = await postJson(etcdTarget(survivors[i % survivors.length]!, '/v3/kv/put'), put).catch(() => 0);
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - killedAt;
  etcd.restart(leader);
  await new Promise((r) => setTimeout(r, 3_000)); // let the restarted member catch up before the next trial
  return ms;
}

async function startEtcdTrio(dir: string): Promise<EtcdCluster> {
  const isUp = async (m: EtcdMember): Promise<boolean> => (await postJson(etcdTarget(m, '/v3/kv/range'), { key: Buffer.from('x').toString('base64') })) === 200;
  return startEtcd({ dir: join(dir, 'etcd'), hosts: [1, 2, 3].map((k) => `${RIVAL_NET}.${60 + k}`), heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS, isUp });
}

const median = (xs: readonly number[]): number | null => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? null;

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

/** Ours divided by theirs; null when either side is missing. */
function ratio(ours: number | null | undefined, theirs: number | null | undefined): number | null {
  return ours === null || ours === undefined || theirs === null || theirs === undefined || theirs === 0 ? null : ours / theirs;
}

async function main(): Promise<void> {
  const wanted = rivalsWanted();
  const useCfssl = wanted.has('cfssl') && installed('cfssl') && installed('openssl');
  const useEtcd = wanted.has('etcd') && installed('etcd');
  if (wanted.has('cfssl') && !useCfssl) console.log('cfssl (Debian golang-cfssl) or openssl is not installed: ours only for issuance');
  if (wanted.has('etcd') && !useEtcd) console.log('etcd (Debian etcd-server) is not installed: ours only for failover');
  profileNodesInto(PROFILE_DIR);
  const dir = await mkdtemp(join(tmpdir(), 'adrestia-https-bench-'));
  const cluster = await startDevCluster({ azCount: 1, perAz: 3, dir, base: BASE, logLevel: 'warn', readyTimeoutMs: 60_000 });
  let cfssl: { noStore: Cfssl; sqlite: Cfssl | null } | null = null;
  let etcd: EtcdCluster | null = null;
  try {
    if (!cluster.ok) throw new Error(`cluster did not start; logs in ${dir}/logs`);
    const ctx: Ctx = {
      cluster,
      agent: new Agent({ keepAlive: true, maxSockets: 32 }),
      ca: await readFile(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8'),
      token: (await readFile(cluster.secrets.adminTokenFile, 'utf8')).trim(),
    };
    if (useCfssl) cfssl = await startCfsslPair(dir, (started) => (cfssl = started));
    if (useEtcd) etcd = await startEtcdTrio(dir);
    await throughput(ctx, 1); // warm-up (JIT, connections, CRL work after start-up)
    if (cfssl) for (const c of [cfssl.noStore, cfssl.sqlite]) if (c) await cfsslRound(c, 1);
    // Interleaved: ours, cfssl, cfssl+sqlite at 1 client, then the same at 16.
    const runs: Awaited<ReturnType<typeof throughput>>[] = [];
    const theirs: { cfssl: Round[]; cfsslSqlite: Round[] } = { cfssl: [], cfsslSqlite: [] };
    for (const concurrency of [1, 16] as const) {
      if (concurrency === 16) toggleProfiles(ctx);
      runs.push(await throughput(ctx, concurrency));
      if (concurrency === 16) toggleProfiles(ctx);
      console.log(describeRound('ours: issuance over HTTPS', runs[runs.length - 1]!));
      if (cfssl) {
        theirs.cfssl.push(await cfsslRound(cfssl.noStore, concurrency));
        console.log(describeRound('cfssl serve, nothing stored', theirs.cfssl[theirs.cfssl.length - 1]!));
        if (cfssl.sqlite) {
          theirs.cfsslSqlite.push(await cfsslRound(cfssl.sqlite, concurrency));
          console.log(describeRound('cfssl serve, sqlite store', theirs.cfsslSqlite[theirs.cfsslSqlite.length - 1]!));
        }
      }
    }
    const failovers: number[] = [];
    const etcdFailovers: number[] = [];
    for (let i = 0; i < FAILOVER_TRIALS; i++) {
      ctx.agent.destroy();
      ctx.agent = new Agent({ keepAlive: true, maxSockets: 32 });
      failovers.push(await failover(ctx));
      console.log(`ours: failover trial ${i + 1}: kill -9 local leader → first acknowledged issuance in ${failovers[i]!.toFixed(0)} ms`);
      if (etcd) {
        etcdFailovers.push(await etcdFailover(etcd));
        console.log(`etcd: failover trial ${i + 1}: kill -9 leader → first acknowledged put in ${etcdFailovers[i]!.toFixed(0)} ms`);
      }
    }
    ctx.agent.destroy();
    const at = (rs: readonly Round[], c: 1 | 16): Round | undefined => rs.find((r) => r.concurrency === c);
    const ours = (c: 1 | 16) => runs.find((r) => r.concurrency === c);
    const results = {
      benchmark: 'https',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      setup: { nodes: 3, heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS, storage: 'LevelDB, synced writes', transport: 'HTTPS keep-alive to the local VIP; nodes over mTLS', profile: 'serverLeaf', key: 'P-256' },
      issuance: runs,
      failover: { trials: failovers.length, ms: failovers, medianMs: median(failovers) },
      ...(cfssl ? { cfssl: { noStore: theirs.cfssl, sqliteStore: theirs.cfsslSqlite } } : {}),
      ...(etcd ? { etcd: { members: 3, heartbeatMs: HEARTBEAT_MS, electionTimeoutMs: ELECTION_TIMEOUT_MS, failover: { trials: etcdFailovers.length, ms: etcdFailovers, medianMs: median(etcdFailovers) } } } : {}),
      ...(cfssl || etcd
        ? {
            ratios: {
              rate1VsCfssl: ratio(ours(1)?.certsPerSecond, at(theirs.cfssl, 1)?.certsPerSecond),
              rate16VsCfssl: ratio(ours(16)?.certsPerSecond, at(theirs.cfssl, 16)?.certsPerSecond),
              p99At16VsCfssl: ratio(ours(16)?.p99Ms, at(theirs.cfssl, 16)?.p99Ms),
              rate16VsCfsslSqlite: ratio(ours(16)?.certsPerSecond, at(theirs.cfsslSqlite, 16)?.certsPerSecond),
              failoverVsEtcd: ratio(median(failovers), median(etcdFailovers)),
            },
          }
        : {}),
    };
    if ('ratios' in results) console.log(`ratios (ours / theirs): ${JSON.stringify(results.ratios, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(3)) : v))}`);
    const out = process.env.BENCH_RESULTS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'https.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`wrote ${join(out, 'https.json')}`);
  } finally {
    await cluster.stop();
    if (cfssl) for (const c of [cfssl.noStore, cfssl.sqlite]) if (c) {
      c.agent.destroy();
      await c.server.stop();
    }
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
