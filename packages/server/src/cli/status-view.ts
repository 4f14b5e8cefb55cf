// `adrestia-pki status`: the cluster map as the cluster serves it, and each AZ's status as its
// local VIP reports it. A client in no AZ is answered by the AZ it reaches (docs/spec.md §4), so
// the default source address works; each AZ is still asked from an address of its own subnet when
// that subnet is loopback (the dev cluster), or from --from, so the answer is the one its own
// clients get.
import type { ClusterMap } from '@adrestia/pki-core';
import { clusterMapFromJson } from '@adrestia/pki-core/cluster';
import { httpCall, jsonOf } from '../peer/http-request.ts';
import { call } from './cluster-call.ts';

interface NodeStatusJson {
  nodeId: string;
  az: string;
  local: { role: string; term: number; leaderId: string | null; commitIndex: number };
  global: { role: string; term: number; leaderId: string | null };
  pkiGlobalLeader: boolean;
}

export async function clusterStatus(url: string, from: string | undefined): Promise<number> {
  const r = await call(`${url}/api/v1/clusterMap?since=0`, from === undefined ? {} : { localAddress: from });
  if (r.status !== 200) {
    process.stderr.write(`cluster map: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 200)}\n`);
    return 1;
  }
  const map = clusterMapFromJson(jsonOf(r));
  const port = new URL(url).port || '80';
  process.stdout.write(`cluster ${map.clusterId} generation ${map.generation} global VIP ${map.globalVip}\n`);
  for (const az of map.azs) {
    const s = await azStatus(az.localVip, port, az.subnets[0] ?? '', from);
    // The AZ's own answer first; else what the cluster map's source (the global leader) last saw.
    const leader = s?.local.leaderId ?? map.leaders.localLeaders[az.name] ?? null;
    const global = s?.pkiGlobalLeader === true ? '  (global leader)' : '';
    process.stdout.write(`${az.name.padEnd(8)} local VIP ${az.localVip.padEnd(15)} local leader ${leader ?? 'unknown'}${s ? ` term ${s.local.term}` : ''}${global}\n`);
    for (const n of map.nodes.filter((x) => x.az === az.name)) {
      const tag = n.nodeId === leader ? '*' : ' ';
      process.stdout.write(`  ${tag} ${n.nodeId}  ${n.addresses.api.padEnd(21)} ${n.status}\n`);
    }
  }
  printGlobalLeader(map);
  return 0;
}

async function azStatus(vip: string, port: string, subnet: string, from: string | undefined): Promise<NodeStatusJson | null> {
  const source = from ?? loopbackSource(subnet);
  try {
    const r = await httpCall(`http://${vip}:${port}/api/v1/status`, { timeoutMs: 3_000, maxResponseBytes: 64 * 1024, ...(source === undefined ? {} : { localAddress: source }) });
    return r.status === 200 ? (jsonOf(r) as NodeStatusJson) : null;
  } catch {
    return null;
  }
}

/** 127.n.0.0/16 → 127.n.0.250 (every 127/8 address is local). */
function loopbackSource(subnet: string): string | undefined {
  const m = /^127\.(\d+)\.(\d+)\.\d+\/(\d+)$/.exec(subnet);
  return m === null ? undefined : `127.${m[1]}.${m[2]}.250`;
}

function printGlobalLeader(map: ClusterMap): void {
  const g = map.leaders.globalLeader;
  if (g !== null) process.stdout.write(`global leader ${g}\n`);
}
