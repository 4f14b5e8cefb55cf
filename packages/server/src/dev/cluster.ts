// A dev cluster as a value: its directory, secrets and node processes, started in founding order
// and stopped gracefully. `adrestia-pki dev` and the end-to-end tests both use it.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpCall, jsonOf } from '../peer/http-request.ts';
import { writeJoinToken, writeNodeConfig, writeSecrets, type DevAcmeConfig, type DevSecrets, type DevVipConfig } from './files.ts';
import { DEV_PORTS, devNodes, type DevNode } from './layout.ts';
import { spawnServe, stopProcess, waitReady, type NodeProcess } from './processes.ts';

/** A dev joiner starts within seconds of its token being minted. */
const JOIN_TOKEN_TTL_SECONDS = 3600;

export interface DevClusterOptions {
  azCount: number;
  perAz: number;
  dir: string;
  /** Address plan offset (layout.ts); 0 for the documented dev plan. */
  base: number;
  logLevel: string;
  readyTimeoutMs: number;
  /**
   * Joiners register with a join token minted for each through the admin route, and hold no
   * PSK; the founders of the cluster and of each AZ still use the PSK (founding needs it).
   */
  joinTokens?: boolean;
  /** Each node's `vip` section (default `bind`: the node listens on the VIPs it holds). */
  vip?: (node: DevNode) => DevVipConfig;
  /** Each node's `acme` section (validation ports and resolver; loopback validation is always on). */
  acme?: DevAcmeConfig;
  /** Each node's `raft.snapshotEveryEntries` (small: local logs compacted often, tests of state transfer). */
  snapshotEveryEntries?: number;
  onExit?: (p: NodeProcess, code: number | null, signal: string | null) => void;
  onReady?: (p: NodeProcess, ready: boolean) => void;
}

export interface DevCluster {
  dir: string;
  secrets: DevSecrets;
  procs: NodeProcess[];
  /** Whether every node became ready. */
  ok: boolean;
  stop(deadlineMs?: number): Promise<void>;
  /** Starts a stopped node again (same configuration and data: a restart). */
  restart(p: NodeProcess): void;
}

export async function startDevCluster(o: DevClusterOptions): Promise<DevCluster> {
  await mkdir(join(o.dir, 'logs'), { recursive: true });
  const secrets = await writeSecrets(o.dir);
  const procs: NodeProcess[] = [];
  const nodes = devNodes(o.azCount, o.perAz, o.base);
  for (const n of nodes) {
    const configPath = await writeNodeConfig(o.dir, n, o.azCount, o.base, secrets, o.logLevel, undefined, o.vip?.(n), o.acme, o.snapshotEveryEntries);
    procs.push({ name: n.name, host: n.host, configPath, logPath: join(o.dir, 'logs', `${n.name}.log`), child: null, init: procs.length === 0 });
  }
  let stopping = false;
  const onExit = (p: NodeProcess, code: number | null, signal: string | null): void => {
    if (!stopping) o.onExit?.(p, code, signal);
  };
  const beforeJoiners = o.joinTokens === true ? (joiners: NodeProcess[]) => giveJoinTokens(o, secrets, nodes, procs, joiners) : undefined;
  const ok = await startInOrder(procs, o, onExit, beforeJoiners);
  return {
    dir: o.dir,
    secrets,
    procs,
    ok,
    stop: async (deadlineMs = 10_000) => {
      stopping = true;
      await Promise.all(procs.map((p) => stopProcess(p, deadlineMs)));
    },
    restart: (p) => spawnServe(p, onExit),
  };
}

/**
 * Founders one by one, each once the previous is ready (no race to found: docs/spec.md §3.7 asks
 * that simultaneous starts end in one cluster; this order does not rely on it), then the other
 * nodes.
 */
async function startInOrder(
  procs: NodeProcess[],
  o: DevClusterOptions,
  onExit: (p: NodeProcess, c: number | null, s: string | null) => void,
  beforeJoiners?: (joiners: NodeProcess[]) => Promise<void>,
): Promise<boolean> {
  const ready = (p: NodeProcess): Promise<boolean> => waitReady(p.host, DEV_PORTS.http, o.readyTimeoutMs, () => p.child !== null);
  const founded = new Set<number>();
  let ok = true;
  for (let i = 0; i < procs.length; i += o.perAz) {
    const f = procs[i] as NodeProcess;
    spawnServe(f, onExit);
    const r = await ready(f);
    o.onReady?.(f, r);
    if (r) founded.add(i);
    else ok = false;
    // Without a cluster no AZ can be founded; without its founder an AZ has nobody to join.
    if (!r && i === 0) return false;
  }
  const others = procs.filter((_, i) => i % o.perAz !== 0 && founded.has(i - (i % o.perAz)));
  await beforeJoiners?.(others);
  for (const p of others) spawnServe(p, onExit);
  const results = await Promise.all(others.map(async (p) => [p, await ready(p)] as const));
  for (const [p, r] of results) o.onReady?.(p, r);
  return ok && results.every(([, r]) => r);
}

/**
 * Mints one join token per joiner through the cluster's admin route (the founder of the cluster
 * answers or forwards it to the global leader) and rewrites the joiner's configuration to use it
 * instead of the PSK. The request comes from the joiner's own address, so it is routed in its AZ.
 */
async function giveJoinTokens(o: DevClusterOptions, secrets: DevSecrets, nodes: readonly DevNode[], procs: readonly NodeProcess[], joiners: readonly NodeProcess[]): Promise<void> {
  const founder = nodes[0] as DevNode;
  const root = await readFile(join(o.dir, 'data', founder.name, 'cluster-root.crt'), 'utf8');
  const adminToken = (await readFile(secrets.adminTokenFile, 'utf8')).trim();
  for (const p of joiners) {
    const node = nodes[procs.indexOf(p)] as DevNode;
    const minted = await httpCall(`https://${founder.host}:${DEV_PORTS.https}/api/v1/join-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: Buffer.from(JSON.stringify({ az: node.az, ttlSeconds: JOIN_TOKEN_TTL_SECONDS })),
      timeoutMs: 30_000,
      maxResponseBytes: 64 * 1024,
      ca: root,
      serverNode: true,
      localAddress: node.host,
    });
    const token = (jsonOf(minted) as { token?: unknown } | undefined)?.token;
    if (minted.status !== 201 || typeof token !== 'string') {
      throw new Error(`dev --join-tokens: minting a token for ${node.name} failed: HTTP ${minted.status} ${minted.body.toString('utf8').slice(0, 200)}`);
    }
    await writeNodeConfig(o.dir, node, o.azCount, o.base, secrets, o.logLevel, await writeJoinToken(o.dir, node, token), o.vip?.(node), o.acme, o.snapshotEveryEntries);
  }
}
