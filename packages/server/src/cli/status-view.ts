// `adrestia-pki status`: the cluster map as the cluster serves it, and each AZ's status as its
// local VIP reports it. A client in no AZ is answered by the AZ it reaches (docs/spec.md §4), so
// the default source address works; each AZ is still asked from an address of its own subnet when
// that subnet is loopback (the dev cluster), or from --from, so the answer is the one its own
// clients get. Each node's public report (GET /api/v1/nodeReport) adds who holds each VIP, each
// node's lag behind its tier's leader, failure tolerance and the next CA expiry, read as the
// dashboard reads them (dashboard/cluster-view.ts).
import type { ClusterMap } from '@adrestia/pki-core';
import { clusterMapFromJson } from '@adrestia/pki-core/cluster';
import { apiHost } from '../dashboard/api-host.ts';
import { clusterView, type ClusterView, type Gathered } from '../dashboard/cluster-view.ts';
import { fetchNodeReport } from '../dashboard/node-report.ts';
import { httpCall, jsonOf } from '../peer/http-request.ts';
import { call } from './cluster-call.ts';

const REPORT_TIMEOUT_MS = 3_000;
const DAY_MS = 86_400_000;

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
  const view = await operatorView(map, port, from);
  process.stdout.write(`cluster ${map.clusterId} generation ${map.generation} global VIP ${map.globalVip} held by ${view.globalVipHolder ?? 'nobody'}\n`);
  for (const az of map.azs) {
    const s = await azStatus(az.localVip, port, az.subnets[0] ?? '', from);
    // The AZ's own answer first; else what the cluster map's source (the global leader) last saw.
    const leader = s?.local.leaderId ?? map.leaders.localLeaders[az.name] ?? null;
    const global = s?.pkiGlobalLeader === true ? '  (global leader)' : '';
    const seen = view.azs.find((a) => a.name === az.name);
    process.stdout.write(`${az.name.padEnd(8)} local VIP ${az.localVip.padEnd(15)} local leader ${leader ?? 'unknown'}${s ? ` term ${s.local.term}` : ''}${global}`);
    process.stdout.write(`  VIP held by ${seen?.localVipHolder ?? 'nobody'}; ${seen?.toleranceText ?? `${az.name}: no report`}\n`);
    for (const n of map.nodes.filter((x) => x.az === az.name)) {
      const tag = n.nodeId === leader ? '*' : ' ';
      process.stdout.write(`  ${tag} ${n.nodeId}  ${n.addresses.api.padEnd(21)} ${n.status}  ${tiersOf(seen?.nodes.find((x) => x.nodeId === n.nodeId))}\n`);
    }
  }
  printGlobalLeader(map);
  process.stdout.write(`global tier: leading seat ${view.leadingSeat ?? 'unknown'}; ${view.globalToleranceText}\n`);
  printNextExpiry(view);
  return 0;
}

/** Every unrevoked node's public report (an inactive one may have come back), read from `from` (any source will do: no routing), as the dashboard sees them. */
async function operatorView(map: ClusterMap, port: string, from: string | undefined): Promise<ClusterView> {
  const gathered = new Map<string, Gathered>();
  const nowMs = Date.now();
  await Promise.all(
    map.nodes
      .filter((n) => n.status !== 'revoked')
      .map(async (n) => {
        const report = await fetchNodeReport(apiHost(n.addresses.api), port, { timeoutMs: REPORT_TIMEOUT_MS, localAddress: from });
        gathered.set(n.nodeId, { report, lastContactMs: report === null ? null : nowMs });
      }),
  );
  const none = { requests: 0, errors: 0, buckets: [] };
  return clusterView({ map, gathered, servedBy: '', nowMs, issuance: { window: none, windowSeconds: 0, total: none } });
}

/** `local follower t3 lag 0  seat leader t2 lag 0`, or why not. */
function tiersOf(n: ClusterView['azs'][number]['nodes'][number] | undefined): string {
  if (n === undefined || n.local === null) return 'no report';
  const lag = (entries: number | null): string => (entries === null ? '?' : String(entries));
  const seat = n.global === null || n.global.role === 'inactive' ? '' : `  seat ${n.global.role} t${n.global.term} lag ${lag(n.global.lagEntries)}`;
  return `local ${n.local.role} t${n.local.term} lag ${lag(n.local.lagEntries)}${seat}`;
}

function printNextExpiry(view: ClusterView): void {
  const next = view.cas.find((c) => !c.revoked);
  if (next === undefined) {
    process.stdout.write('next CA expiry: no CA reported\n');
    return;
  }
  const days = Math.floor((next.notAfterMs - view.atMs) / DAY_MS);
  process.stdout.write(`next CA expiry: ${next.label} (issuer ${next.issuerId}) on ${new Date(next.notAfterMs).toISOString().slice(0, 10)}, in ${days} days\n`);
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
