// A dev cluster as a value: its directory, secrets and node processes, started in founding order
// and stopped gracefully. `adrestia-pki dev` and the end-to-end tests both use it.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeNodeConfig, writeSecrets, type DevSecrets, type DevVipConfig } from './files.ts';
import { DEV_PORTS, devNodes, type DevNode } from './layout.ts';
import { spawnServe, stopProcess, waitReady, type NodeProcess } from './processes.ts';

export interface DevClusterOptions {
  azCount: number;
  perAz: number;
  dir: string;
  /** Address plan offset (layout.ts); 0 for the documented dev plan. */
  base: number;
  logLevel: string;
  readyTimeoutMs: number;
  /** Each node's `vip` section (default `bind`: the node listens on the VIPs it holds). */
  vip?: (node: DevNode) => DevVipConfig;
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
  for (const n of devNodes(o.azCount, o.perAz, o.base)) {
    const configPath = await writeNodeConfig(o.dir, n, o.azCount, o.base, secrets, o.logLevel, undefined, o.vip?.(n));
    procs.push({ name: n.name, host: n.host, configPath, logPath: join(o.dir, 'logs', `${n.name}.log`), child: null, init: procs.length === 0 });
  }
  let stopping = false;
  const onExit = (p: NodeProcess, code: number | null, signal: string | null): void => {
    if (!stopping) o.onExit?.(p, code, signal);
  };
  const ok = await startInOrder(procs, o, onExit);
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
 * Founders one by one, each once the previous is ready (no race to found: DESIGN.md asks that
 * simultaneous starts end in one cluster; this order does not rely on it), then the other nodes.
 */
async function startInOrder(procs: NodeProcess[], o: DevClusterOptions, onExit: (p: NodeProcess, c: number | null, s: string | null) => void): Promise<boolean> {
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
  for (const p of others) spawnServe(p, onExit);
  const results = await Promise.all(others.map(async (p) => [p, await ready(p)] as const));
  for (const [p, r] of results) o.onReady?.(p, r);
  return ok && results.every(([, r]) => r);
}
