// The systems bench/https.bench.ts compares against, started on loopback when installed (Debian
// packages golang-cfssl and etcd-server):
//   * `cfssl serve` over TLS signing CSRs with a P-256 CA, storing nothing, or into its sqlite
//     certificate database (the certdb schema of cfssl's certdb/sqlite migrations);
//   * a 3-member etcd with the heartbeat and election timeout of our AZ, for kill -9 failover.
// Each process is started here and stopped by its pid.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** True when `command` is on PATH. */
export function installed(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function spawnLogged(command: string, args: string[], logPath: string): ChildProcess {
  const fd = openSync(logPath, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

async function stopChild(child: ChildProcess | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown = null;
  while (performance.now() < deadline) {
    if (await ok().catch((e: unknown) => ((last = e), false))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
}

export interface CfsslServer {
  host: string;
  port: number;
  /** The CA certificate, which also serves TLS. */
  caPem: string;
  pid: number;
  stop(): Promise<void>;
}

/** cfssl certdb/sqlite/migrations/001_CreateCertificates.sql. */
const CFSSL_SQLITE_SCHEMA = `CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob, status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp, pem blob NOT NULL, PRIMARY KEY(serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL, expiry timestamp, PRIMARY KEY(serial_number, authority_key_identifier));`;

/**
 * `cfssl serve` on host:port with TLS, signing with a fresh P-256 CA; `sqlite` stores every
 * certificate into a new sqlite database (needs the sqlite3 command to create its tables).
 */
export async function startCfssl(o: { dir: string; host: string; port: number; sqlite: boolean; isUp: (s: CfsslServer) => Promise<boolean> }): Promise<CfsslServer> {
  const key = join(o.dir, 'ca-key.pem');
  const cert = join(o.dir, 'ca.pem');
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  execFileSync('openssl', ['req', '-x509', '-new', '-key', key, '-subj', '/CN=bench cfssl CA', '-days', '30', '-out', cert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature,keyCertSign,cRLSign', '-addext', `subjectAltName=IP:${o.host}`]);
  const config = join(o.dir, 'config.json');
  await writeFile(config, JSON.stringify({ signing: { default: { expiry: '720h', usages: ['digital signature', 'key encipherment', 'server auth'] } } }));
  const args = ['serve', '-address', o.host, '-port', String(o.port), '-ca', cert, '-ca-key', key, '-config', config, '-tls-cert', cert, '-tls-key', key, '-loglevel', '3'];
  if (o.sqlite) {
    const db = join(o.dir, 'certs.db');
    execFileSync('sqlite3', [db, CFSSL_SQLITE_SCHEMA]);
    const dbConfig = join(o.dir, 'db.json');
    await writeFile(dbConfig, JSON.stringify({ driver: 'sqlite3', data_source: db }));
    args.push('-db-config', dbConfig);
  }
  const child = spawnLogged('cfssl', args, join(o.dir, 'cfssl.log'));
  const caPem = await readFile(cert, 'utf8');
  const server: CfsslServer = { host: o.host, port: o.port, caPem, pid: child.pid ?? -1, stop: () => stopChild(child) };
  try {
    await waitUntil(`cfssl serve on ${o.host}:${o.port}`, () => o.isUp(server), 15_000);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

export interface EtcdMember {
  name: string;
  host: string;
  clientUrl: string;
  child: ChildProcess | null;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** kill -9 of a member; `restart` brings it back on its data directory. */
  kill(m: EtcdMember): void;
  restart(m: EtcdMember): void;
  stop(): Promise<void>;
}

const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;

/** Three etcd members on `hosts`, heartbeat and election timeout as given, each in `dir/<name>`. */
export async function startEtcd(o: { dir: string; hosts: readonly string[]; heartbeatMs: number; electionTimeoutMs: number; isUp: (m: EtcdMember) => Promise<boolean> }): Promise<EtcdCluster> {
  await mkdir(o.dir, { recursive: true });
  const names = o.hosts.map((_, i) => `etcd${i + 1}`);
  const initialCluster = o.hosts.map((h, i) => `${names[i]}=http://${h}:${ETCD_PEER_PORT}`).join(',');
  const members: EtcdMember[] = o.hosts.map((host, i) => ({ name: names[i]!, host, clientUrl: `http://${host}:${ETCD_CLIENT_PORT}`, child: null }));
  const argsOf = (m: EtcdMember): string[] => [
    '--name', m.name, '--data-dir', join(o.dir, m.name),
    '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
    '--listen-peer-urls', `http://${m.host}:${ETCD_PEER_PORT}`, '--initial-advertise-peer-urls', `http://${m.host}:${ETCD_PEER_PORT}`,
    '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'adrestia-bench',
    '--heartbeat-interval', String(o.heartbeatMs), '--election-timeout', String(o.electionTimeoutMs), '--log-level', 'error',
  ];
  const start = (m: EtcdMember): void => {
    m.child = spawnLogged('etcd', argsOf(m), join(o.dir, `${m.name}.log`));
  };
  for (const m of members) start(m);
  const stop = async (): Promise<void> => {
    await Promise.all(members.map((m) => stopChild(m.child)));
  };
  try {
    await Promise.all(members.map((m) => waitUntil(`etcd member ${m.name}`, () => o.isUp(m), 30_000)));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    members,
    kill: (m) => {
      m.child?.kill('SIGKILL');
      m.child = null;
    },
    restart: start,
    stop,
  };
}
