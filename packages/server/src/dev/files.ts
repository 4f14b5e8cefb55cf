// The dev cluster's directory: secrets (0600, generated once and reused on restart), one
// configuration file per node, data directories and logs.
import { randomBytes } from 'node:crypto';
import { mkdir, access } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@adrestia/pki-core/support';
import { DEV_PORTS, devAzs, globalVipOf, type DevNode } from './layout.ts';
import type { ConfigFile } from '../config/schema.ts';

export interface DevSecrets {
  pskFile: string;
  kekFile: string;
  adminTokenFile: string;
  /** The HS256 key every node verifies join tokens with (and mints them with, on the admin route). */
  joinTokenKeyFile: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function secretFile(path: string, make: () => string): Promise<string> {
  if (!(await exists(path))) await writeFileAtomic(path, make(), 0o600, 'secrets');
  return path;
}

export async function writeSecrets(dir: string): Promise<DevSecrets> {
  const secrets = join(dir, 'secrets');
  await mkdir(secrets, { recursive: true, mode: 0o700 });
  return {
    pskFile: await secretFile(join(secrets, 'auth-psk'), () => randomBytes(32).toString('base64')),
    kekFile: await secretFile(join(secrets, 'kek'), () => randomBytes(32).toString('hex')),
    adminTokenFile: await secretFile(join(secrets, 'admin-token'), () => randomBytes(32).toString('base64url')),
    joinTokenKeyFile: await secretFile(join(secrets, 'join-token-key'), () => randomBytes(32).toString('base64url')),
  };
}

/** The configuration's `vip` section (config/schema.ts); the dev cluster's default is `bind`. */
export interface DevVipConfig {
  mode: 'exec' | 'bind' | 'none';
  command?: string[];
  timeoutMs?: number;
}

/** The configuration's `acme` section in the dev cluster: validation against loopback is on. */
export interface DevAcmeConfig {
  http01Port?: number;
  tlsAlpn01Port?: number;
  resolver?: string;
  /** The identifier policy's DNS suffixes (config `acme.dnsSuffixes`). */
  dnsSuffixes?: string[];
  /** More directories (config `acme.directories`). */
  directories?: ConfigFile['acme']['directories'];
}

/**
 * Writes the node's configuration (JSON) and returns its path. With `joinTokenFile` the node
 * holds no PSK: it registers once with that join token (which pins the cluster root).
 */
export async function writeNodeConfig(
  dir: string,
  node: DevNode,
  azCount: number,
  base: number,
  secrets: DevSecrets,
  logLevel: string,
  joinTokenFile?: string,
  vip: DevVipConfig = { mode: 'bind' },
  acme: DevAcmeConfig = {},
  snapshotEveryEntries?: number,
): Promise<string> {
  const dataDir = join(dir, 'data', node.name);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await mkdir(join(dir, 'config'), { recursive: true });
  const config = {
    clusterVip: globalVipOf(base),
    az: node.az,
    dataDir,
    http: { host: node.host, port: DEV_PORTS.http },
    https: { host: node.host, port: DEV_PORTS.https },
    raft: { host: node.host, port: DEV_PORTS.raft, tickMs: 50, heartbeatTicks: 2, electionTicks: 20, ...(snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries }) },
    azs: devAzs(azCount, base),
    pkiInitRetry: 2,
    // One try per discovery attempt keeps a dev node's discovery as short as it was (docs/spec.md §3.1.1).
    pkiInitRequestRetry: 0,
    timeouts: { initRequestMs: 500, shutdownMs: 3_000 },
    vip,
    acme: { allowLoopback: true, ...acme },
    log: { level: logLevel },
    ...(joinTokenFile === undefined ? { authPskFile: secrets.pskFile } : { joinTokenFile }),
    kekFile: secrets.kekFile,
    adminTokenFile: secrets.adminTokenFile,
    joinTokenKeyFile: secrets.joinTokenKeyFile,
  };
  const path = join(dir, 'config', `${node.name}.json`);
  await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`, 0o644, '--dir');
  return path;
}

/** Writes a join token minted for `node` (0600, beside the other secrets) and returns its path. */
export async function writeJoinToken(dir: string, node: DevNode, token: string): Promise<string> {
  const path = join(dir, 'secrets', `join-token-${node.name}`);
  await writeFileAtomic(path, `${token}\n`, 0o600, 'secrets');
  return path;
}
