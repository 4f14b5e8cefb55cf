// The dashboard's picture of the cluster, built from the cluster map this node serves and the
// reports it gathered from every node (node-report.ts): the AZ → node tree with both tiers, the
// leaders and VIP holders, failure tolerance per tier (tolerance.ts), issuance, revocations, CRLs,
// CA expiry and recent leader changes. Pure: the collector (collector.ts) gathers, this decides.
import type { CaExpiry, ClusterMap, CrlReport } from '@adrestia/pki-core';
import { apiHost } from './api-host.ts';
import { quantileSeconds, type IssuanceFigures } from './issuance-figures.ts';
import type { NodeReport } from './node-report.ts';
import type { RoleChange } from './role-log.ts';
import { toleranceOf, toleranceText, type Tolerance } from './tolerance.ts';

/** Leader changes the page lists. */
const LEADER_CHANGES_SHOWN_MAX = 12;

export interface Gathered {
  /** The node's report, or null when it did not answer the latest round. */
  report: NodeReport | null;
  /** When this node last got a report from it (ms since epoch), null if never. */
  lastContactMs: number | null;
}

interface TierCell {
  role: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  /** Entries behind the tier's leader (from the leader's matchIndex); null when unknown. */
  lagEntries: number | null;
}

interface NodeView {
  nodeId: string;
  api: string;
  /** What the page calls the node: the start of its id and the host it is reached at. */
  label: string;
  reachable: boolean;
  lastContactMs: number | null;
  /** As the AZ's local leader's health checks see it (the cluster map). */
  health: string;
  ready: boolean | null;
  /** The cluster map's status: `inactive` once its AZ's local leader has not heard from it for nodeInactiveAfterSeconds (pki-core node/aging/). */
  status: ClusterMap['nodes'][number]['status'];
  revoked: boolean;
  local: TierCell | null;
  global: TierCell | null;
  holdsVips: string[];
}

interface AzView {
  name: string;
  localVip: string;
  localLeader: string | null;
  localVipHolder: string | null;
  tolerance: Tolerance;
  toleranceText: string;
  nodes: NodeView[];
}

interface SeatView {
  az: string;
  role: string | null;
  term: number | null;
  lagEntries: number | null;
}

interface CaView extends CaExpiry {
  label: string;
}

interface CrlView {
  issuerId: string;
  label: string;
  crlNumber: number;
  thisUpdateMs: number;
  nextUpdateMs: number;
  bytes: number;
  /** The newest OCSP responder certificate this issuer gave any AZ seen (node/ocsp): when it was issued, when it ends. */
  ocspSigner: { issuedAtMs: number; notAfterMs: number } | null;
}

interface IssuanceView {
  /** Over the collector's window: requests per second, errors, and latency quantiles. */
  windowSeconds: number;
  ratePerSecond: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
  /** Since each node started. */
  totalRequests: number;
  totalErrors: number;
}

export interface ClusterView {
  atMs: number;
  servedBy: string;
  /** Node id → what the page calls it (NodeView.label), for every node of the map. */
  nodeLabels: Record<string, string>;
  clusterId: string;
  globalVip: string;
  globalLeader: string | null;
  globalVipHolder: string | null;
  leadingSeat: string | null;
  seats: SeatView[];
  globalTolerance: Tolerance;
  globalToleranceText: string;
  azs: AzView[];
  issuance: IssuanceView;
  revocations: number;
  crls: CrlView[];
  cas: CaView[];
  leaderChanges: RoleChange[];
}

export interface ViewInput {
  map: ClusterMap;
  gathered: ReadonlyMap<string, Gathered>;
  servedBy: string;
  nowMs: number;
  issuance: { window: IssuanceFigures; windowSeconds: number; total: IssuanceFigures };
}

export function clusterView(input: ViewInput): ClusterView {
  const reports = [...input.gathered.values()].flatMap((g) => (g.report === null ? [] : [g.report]));
  const azs = input.map.azs.map((az) => azView(az, input, reports));
  const globalLeaderReport = reports.find((r) => r.status.pkiGlobalLeader) ?? null;
  const seatSource = globalLeaderReport ?? reports.find((r) => r.operator.global.voters.length > 0) ?? null;
  const seats = (seatSource?.operator.global.voters ?? []).map((az) => seatView(az, reports, globalLeaderReport));
  // A seat counts while its AZ can commit: the seat's log is the AZ's local log.
  const globalTolerance = toleranceOf(seatSource?.operator.global.voters ?? [], (az) => (azs.find((a) => a.name === az)?.tolerance.canLose ?? -1) >= 0);
  const reference = reports.find((r) => r.status.nodeId === input.servedBy) ?? reports[0];
  const nodeLabels = Object.fromEntries(input.map.nodes.map((n) => [n.nodeId, nodeLabel(n.nodeId, n.addresses.api)]));
  const caLabel = (ca: CaExpiry | undefined, issuerId: string): string => caLabelOf(ca, issuerId, nodeLabels);
  return {
    atMs: input.nowMs,
    servedBy: input.servedBy,
    nodeLabels,
    clusterId: input.map.clusterId,
    globalVip: input.map.globalVip,
    globalLeader: globalLeaderReport?.status.nodeId ?? input.map.leaders.globalLeader,
    globalVipHolder: vipHolder(input.map.globalVip, reports),
    leadingSeat: globalLeaderReport?.status.az ?? seatSource?.status.global.leaderId ?? null,
    seats,
    globalTolerance,
    globalToleranceText: toleranceText('the global tier', globalTolerance, 'AZ'),
    azs,
    issuance: issuanceView(input.issuance),
    revocations: Object.values(reference?.operator.revocationsByIssuer ?? {}).reduce((a, b) => a + b, 0),
    crls: latestCrls(reports)
      .map((c) => ({ ...c, label: caLabel(reference?.operator.cas.find((ca) => ca.issuerId === c.issuerId), c.issuerId), ocspSigner: newestOcspSigner(reports, c.issuerId) }))
      .sort((a, b) => a.label.localeCompare(b.label)),
    cas: (reference?.operator.cas ?? []).map((ca) => ({ ...ca, label: caLabel(ca, ca.issuerId) })),
    leaderChanges: reports
      .flatMap((r) => r.roleChanges)
      .sort((a, b) => b.atMs - a.atMs)
      .slice(0, LEADER_CHANGES_SHOWN_MAX),
  };
}

function azView(az: ClusterMap['azs'][number], input: ViewInput, reports: readonly NodeReport[]): AzView {
  const own = reports.filter((r) => r.status.az === az.name);
  // Two nodes may both believe they lead for a moment (a deposed one not told yet): the higher term wins.
  const leaderReport = own.filter((r) => r.status.local.role === 'leader').sort((a, b) => b.status.local.term - a.status.local.term)[0] ?? null;
  const localLeader = leaderReport?.status.nodeId ?? input.map.leaders.localLeaders[az.name] ?? null;
  const voters = leaderReport?.operator.local.voters ?? own.find((r) => r.operator.local.voters.length > 0)?.operator.local.voters ?? [];
  const tolerance = toleranceOf(voters, (id) => input.gathered.get(id)?.report != null);
  const nodes = input.map.nodes.filter((n) => n.az === az.name).map((n) => nodeView(n, input.gathered.get(n.nodeId), leaderReport, reports));
  return { name: az.name, localVip: az.localVip, localLeader, localVipHolder: vipHolder(az.localVip, reports), tolerance, toleranceText: toleranceText(az.name, tolerance, 'node'), nodes };
}

function nodeView(n: ClusterMap['nodes'][number], g: Gathered | undefined, leader: NodeReport | null, reports: readonly NodeReport[]): NodeView {
  const r = g?.report ?? null;
  const globalLeader = reports.find((x) => x.status.pkiGlobalLeader) ?? null;
  const localLag = r === null ? null : r.status.nodeId === leader?.status.nodeId ? 0 : (leader?.operator.local.members?.find((m) => m.id === n.nodeId)?.lagEntries ?? null);
  const seatLag = r === null || r.status.global.role === 'inactive' ? null : r.status.az === globalLeader?.status.az ? 0 : (globalLeader?.operator.global.members?.find((m) => m.id === r.status.az)?.lagEntries ?? null);
  return {
    nodeId: n.nodeId,
    api: n.addresses.api,
    label: nodeLabel(n.nodeId, n.addresses.api),
    reachable: r !== null,
    lastContactMs: g?.lastContactMs ?? null,
    health: n.health,
    ready: r?.status.ready ?? null,
    status: n.status,
    revoked: n.status === 'revoked',
    local: r === null ? null : { ...r.status.local, lagEntries: localLag },
    global: r === null ? null : { ...r.status.global, lagEntries: seatLag },
    holdsVips: r?.operator.vips.filter((v) => v.held).map((v) => v.address) ?? [],
  };
}

function seatView(az: string, reports: readonly NodeReport[], globalLeader: NodeReport | null): SeatView {
  const acting = reports.find((r) => r.status.az === az && r.status.global.role !== 'inactive') ?? null;
  const lag = az === globalLeader?.status.az ? 0 : (globalLeader?.operator.global.members?.find((m) => m.id === az)?.lagEntries ?? null);
  return { az, role: acting?.status.global.role ?? null, term: acting?.status.global.term ?? null, lagEntries: lag };
}

/**
 * Each issuer's newest CRL among the reports: an AZ's CRLs are published in its local group, so
 * only its own nodes hold them (RFC 5280 §5.2.3: the higher CRL number is the newer CRL).
 */
function latestCrls(reports: readonly NodeReport[]): CrlReport[] {
  const newest = new Map<string, CrlReport>();
  for (const c of reports.flatMap((r) => r.operator.crls)) {
    const held = newest.get(c.issuerId);
    if (held === undefined || c.crlNumber > held.crlNumber) newest.set(c.issuerId, c);
  }
  return [...newest.values()].sort((a, b) => a.issuerId.localeCompare(b.issuerId));
}

function newestOcspSigner(reports: readonly NodeReport[], issuerId: string): CrlView['ocspSigner'] {
  let newest: CrlView['ocspSigner'] = null;
  for (const o of reports.flatMap((r) => r.operator.ocspSigners)) {
    if (o.issuerId === issuerId && (newest === null || o.issuedAtMs > newest.issuedAtMs)) newest = { issuedAtMs: o.issuedAtMs, notAfterMs: o.notAfterMs };
  }
  return newest;
}

/** The node that says it holds the VIP; null when none does (the fence releases before a new holder acquires). */
function vipHolder(address: string, reports: readonly NodeReport[]): string | null {
  return reports.find((r) => r.operator.vips.some((v) => v.address === address && v.held))?.status.nodeId ?? null;
}

/** Node ids are UUIDs: eight hex digits tell a cluster's nodes apart on a page. */
const NODE_ID_SHOWN_CHARS = 8;

function nodeLabel(nodeId: string, api: string): string {
  return `${nodeId.slice(0, NODE_ID_SHOWN_CHARS)} (${apiHost(api)})`;
}

function caLabelOf(ca: CaExpiry | undefined, issuerId: string, nodeLabels: Readonly<Record<string, string>>): string {
  if (ca === undefined) return issuerId;
  if (ca.role === 'root') return 'root CA';
  if (ca.role === 'az') return `${ca.az ?? '?'} ICA`;
  return `node ICA ${ca.nodeId === null ? '?' : (nodeLabels[ca.nodeId] ?? ca.nodeId)}`;
}

function issuanceView(i: ViewInput['issuance']): IssuanceView {
  const p50 = quantileSeconds(i.window, 0.5);
  const p95 = quantileSeconds(i.window, 0.95);
  return {
    windowSeconds: i.windowSeconds,
    ratePerSecond: i.windowSeconds > 0 ? i.window.requests / i.windowSeconds : 0,
    errors: i.window.errors,
    p50Ms: p50 === null ? null : p50 * 1000,
    p95Ms: p95 === null ? null : p95 * 1000,
    totalRequests: i.total.requests,
    totalErrors: i.total.errors,
  };
}
