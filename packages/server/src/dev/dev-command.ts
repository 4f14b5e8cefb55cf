// `adrestia-pki dev [--azs 3] [--nodes 3] [--dir DIR]`: a local cluster of real `serve` processes
// on loopback. The first node of AZ 1 founds the cluster; the first node of each further AZ
// founds its AZ; the other nodes join. Each founder is started once the previous one is ready,
// so there is never a race to found (DESIGN.md asks that simultaneous starts end in one cluster;
// this start order avoids relying on it). Ctrl-C / SIGTERM stops every node gracefully.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { UsageError } from '../cli/serve-command.ts';
import { writeNodeConfig, writeSecrets } from './files.ts';
import { DEV_AZS_MAX, DEV_GLOBAL_VIP, DEV_NODES_PER_AZ_MAX, DEV_PORTS, devAzs, devNodes } from './layout.ts';
import { spawnServe, stopProcess, waitReady, type NodeProcess } from './processes.ts';

const READY_TIMEOUT_MS = 60_000;
const STOP_DEADLINE_MS = 10_000;

export async function devCommand(options: Map<string, string>): Promise<number> {
  const azCount = count(options.get('azs') ?? '3', 'azs', DEV_AZS_MAX);
  const perAz = count(options.get('nodes') ?? '3', 'nodes', DEV_NODES_PER_AZ_MAX);
  const dir = resolve(options.get('dir') ?? (await mkdtemp(join(tmpdir(), 'adrestia-dev-'))));
  await mkdir(join(dir, 'logs'), { recursive: true });
  const secrets = await writeSecrets(dir);
  const procs: NodeProcess[] = [];
  for (const n of devNodes(azCount, perAz)) {
    const configPath = await writeNodeConfig(dir, n, azCount, secrets, options.get('log-level') ?? 'info');
    procs.push({ name: n.name, host: n.host, configPath, logPath: join(dir, 'logs', `${n.name}.log`), child: null });
  }
  let stopping = false;
  const onExit = (p: NodeProcess, code: number | null, signal: string | null): void => {
    if (!stopping) process.stdout.write(`! ${p.name} exited (${signal ?? `code ${code}`}); see ${p.logPath}\n`);
  };
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await Promise.all(procs.map((p) => stopProcess(p, STOP_DEADLINE_MS)));
  };
  const stopped = new Promise<void>((done) => {
    const onSignal = (): void => {
      process.stdout.write('stopping the dev cluster…\n');
      void stopAll().then(done);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  process.stdout.write(`adrestia-pki dev: ${azCount} AZ(s) × ${perAz} node(s) in ${dir}\n`);
  const ok = await startInOrder(procs, perAz, onExit);
  printSummary(dir, azCount, procs, secrets.adminTokenFile);
  if (!ok) process.stdout.write('some nodes did not become ready; see their logs (the cluster keeps running)\n');
  await stopped;
  return 0;
}

/** Founders one by one (each waits for the previous to be ready), then the other nodes of each AZ. */
async function startInOrder(procs: NodeProcess[], perAz: number, onExit: (p: NodeProcess, c: number | null, s: string | null) => void): Promise<boolean> {
  const founders = procs.filter((_, i) => i % perAz === 0);
  let ok = true;
  for (const f of founders) {
    spawnServe(f, onExit);
    const ready = await waitReady(f.host, DEV_PORTS.http, READY_TIMEOUT_MS, () => f.child !== null);
    process.stdout.write(`${ready ? '✔' : '✘'} ${f.name} ${ready ? 'ready' : 'not ready'} (${f.host})\n`);
    ok &&= ready;
    if (!ready) return false;
  }
  const others = procs.filter((_, i) => i % perAz !== 0);
  for (const p of others) spawnServe(p, onExit);
  const results = await Promise.all(others.map(async (p) => [p, await waitReady(p.host, DEV_PORTS.http, READY_TIMEOUT_MS, () => p.child !== null)] as const));
  for (const [p, ready] of results) process.stdout.write(`${ready ? '✔' : '✘'} ${p.name} ${ready ? 'ready' : 'not ready'} (${p.host})\n`);
  return ok && results.every(([, r]) => r);
}

function printSummary(dir: string, azCount: number, procs: NodeProcess[], adminTokenFile: string): void {
  const lines = [
    '',
    `global VIP   http://${DEV_GLOBAL_VIP}:${DEV_PORTS.http}  https://${DEV_GLOBAL_VIP}:${DEV_PORTS.https}`,
    ...devAzs(azCount).map((az) => `${az.name.padEnd(12)} subnet ${az.subnets[0]}  local VIP ${az.localVip}`),
    ...procs.map((p) => `  ${p.name.padEnd(12)} ${p.host}  http :${DEV_PORTS.http}  https :${DEV_PORTS.https}  raft :${DEV_PORTS.raft}  log ${p.logPath}`),
    `configs      ${join(dir, 'config')}`,
    `admin token  ${adminTokenFile}`,
    `cluster root ${join(dir, 'data', procs[0]?.name ?? '', 'cluster-root.crt')}`,
    `try          pnpm adrestia-pki status --url http://${DEV_GLOBAL_VIP}:${DEV_PORTS.http} --from 127.1.0.100`,
    'Ctrl-C stops every node.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

function count(text: string, name: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name}: a whole number 1..${max}`);
  return n;
}
