// `adrestia-pki dev [--azs 3] [--nodes 3] [--dir DIR] [--base 0] [--log-level info] [--join-tokens]
// [--acme-http01-port P] [--acme-tls-alpn01-port P] [--acme-resolver HOST:PORT]`:
// a local cluster of real `serve` processes on loopback (layout.ts). The first node of AZ 1 founds
// the cluster; the first node of each further AZ founds its AZ; the other nodes join (with the PSK,
// or with a join token each and no PSK under --join-tokens). Ctrl-C / SIGTERM stops every node gracefully.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requiredOption, UsageError, wholeNumber, type ParsedArgs } from '../cli/args.ts';
import { startDevCluster, type DevCluster } from './cluster.ts';
import type { DevAcmeConfig } from './files.ts';
import { DEV_AZS_MAX, DEV_BASE_MAX, DEV_NODES_PER_AZ_MAX, DEV_PORTS, devAzs, globalVipOf } from './layout.ts';

const READY_TIMEOUT_MS = 60_000;

/** `args` as commands.ts declares `dev`: `--azs`, `--nodes`, `--base` and `--log-level` have defaults. */
export async function devCommand(args: ParsedArgs): Promise<number> {
  const azCount = count(args, 'azs', 1, DEV_AZS_MAX);
  const perAz = count(args, 'nodes', 1, DEV_NODES_PER_AZ_MAX);
  const base = count(args, 'base', 0, DEV_BASE_MAX);
  const dir = resolve(args.options.get('dir') ?? (await mkdtemp(join(tmpdir(), 'adrestia-dev-'))));
  process.stdout.write(`adrestia-pki dev: ${azCount} AZ(s) × ${perAz} node(s) in ${dir}\n`);
  let cluster: DevCluster | null = null;
  let interrupted = false;
  const stopped = new Promise<void>((done) => {
    const onSignal = (): void => {
      interrupted = true;
      process.stdout.write('stopping the dev cluster…\n');
      void (cluster?.stop() ?? Promise.resolve()).then(done);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  cluster = await startDevCluster({
    azCount,
    perAz,
    dir,
    base,
    logLevel: requiredOption(args, 'log-level'),
    readyTimeoutMs: READY_TIMEOUT_MS,
    joinTokens: args.switches.has('join-tokens'),
    acme: devAcmeOf(args),
    onExit: (p, code, signal) => process.stdout.write(`! ${p.name} exited (${signal ?? `code ${code}`}); see ${p.logPath}\n`),
    onReady: (p, ready) => process.stdout.write(`${ready ? '✔' : '✘'} ${p.name} ${ready ? 'ready' : 'not ready'} (${p.host})\n`),
  });
  if (interrupted) await cluster.stop();
  printSummary(cluster, azCount, base);
  if (!cluster.ok) process.stdout.write('some nodes did not become ready; see their logs (Ctrl-C stops the rest)\n');
  await stopped;
  return 0;
}

function printSummary(cluster: DevCluster, azCount: number, base: number): void {
  const vip = globalVipOf(base);
  const lines = [
    '',
    `global VIP   http://${vip}:${DEV_PORTS.http}  https://${vip}:${DEV_PORTS.https}`,
    ...devAzs(azCount, base).map((az) => `${az.name.padEnd(12)} subnet ${az.subnets[0]}  local VIP ${az.localVip}`),
    ...cluster.procs.map((p) => `  ${p.name.padEnd(12)} ${p.host}  http :${DEV_PORTS.http}  https :${DEV_PORTS.https}  raft :${DEV_PORTS.raft}  log ${p.logPath}`),
    `configs      ${join(cluster.dir, 'config')}`,
    `admin token  ${cluster.secrets.adminTokenFile}`,
    `cluster root ${join(cluster.dir, 'data', cluster.procs[0]?.name ?? '', 'cluster-root.crt')}`,
    `status       pnpm adrestia-pki status --url http://${vip}:${DEV_PORTS.http}`,
    `dashboard    http://${vip}:${DEV_PORTS.http}/dashboard`,
    `ACME         https://<local VIP>:${DEV_PORTS.https}/acme/directory (trust the cluster root)`,
    `OCSP         http://<local VIP>:${DEV_PORTS.http}/ocsp (the URL in every certificate's AIA)`,
    'Ctrl-C stops every node.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

/** `--acme-http01-port`, `--acme-tls-alpn01-port`, `--acme-resolver` (host:port). */
function devAcmeOf(args: ParsedArgs): DevAcmeConfig {
  const port = (name: string): number | undefined => {
    const text = args.options.get(name);
    return text === undefined ? undefined : wholeNumber(text, name, 1, 65535);
  };
  const http01Port = port('acme-http01-port');
  const tlsAlpn01Port = port('acme-tls-alpn01-port');
  const resolver = args.options.get('acme-resolver');
  if (resolver !== undefined && !/^(?:[0-9.]+|\[[0-9a-fA-F:.]+\]):\d{1,5}$/.test(resolver)) throw new UsageError('--acme-resolver: host:port of a DNS server, e.g. 127.0.0.1:8053');
  return { ...(http01Port === undefined ? {} : { http01Port }), ...(tlsAlpn01Port === undefined ? {} : { tlsAlpn01Port }), ...(resolver === undefined ? {} : { resolver }) };
}

function count(args: ParsedArgs, name: string, min: number, max: number): number {
  return wholeNumber(requiredOption(args, name), name, min, max);
}
