// The cluster map a node serves (docs/spec.md §7): derived from the replicated state (AZs, nodes,
// CA certificates, withdrawn nodes) and what this node sees (memberships, health, leaders). Its
// generation and ETag come from cluster/map-generation.ts — the state's map version and a hash of
// the content — so every node serving the same content serves the same generation; nothing about
// it is kept here. The state reads below are exactly the inputs state/map-version.ts counts: a new
// input here needs its events to raise the version there.
import { createHash } from 'node:crypto';
import { toPem } from '../../ca/pem.ts';
import {
  newClusterMap,
  withAz,
  withCaCertificate,
  withLeaders,
  withNode,
  withNodeActivity,
  withNodeHealth,
  withNodeRevoked,
  withRoles,
  type ClusterMap,
} from '../../cluster/cluster-map.ts';
import { diffSince, servedMap, type ClusterMapDiff, type ClusterMapSince, type ServedClusterMap } from '../../cluster/map-generation.ts';
import type { HealthState } from '../../cluster/node-health.ts';
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';
import type { PkiTwoTier } from '../core/roles.ts';

/** What the map shows of this node's health checks (membership/). */
export interface HealthView {
  healthOf(nodeId: string): HealthState | null;
  otherAzLeaders(): ReadonlyMap<string, string>;
}

/** What the map is built from: this node, the state it has applied, and its health checks. */
type MapSource = Pick<NodeContext, 'nodeId' | 'az' | 'globalVip'> & HealthView & { state(): PkiStateQueries };

type MapTwoTier = Pick<PkiTwoTier, 'status' | 'isGlobalLeader'>;

/** Reads of the map's state inputs that an apply may interleave with, before giving up. */
const READ_ATTEMPTS_MAX = 8;

export class ClusterMapView {
  private readonly node: MapSource;

  constructor(ctx: Pick<NodeContext, 'nodeId' | 'az' | 'globalVip'>, private readonly twoTier: MapTwoTier, state: () => PkiStateQueries, health: HealthView) {
    this.node = {
      nodeId: ctx.nodeId,
      az: ctx.az,
      globalVip: ctx.globalVip,
      state,
      healthOf: (nodeId) => health.healthOf(nodeId),
      otherAzLeaders: () => health.otherAzLeaders(),
    };
  }

  async clusterMap(since: ClusterMapSince): Promise<ClusterMapDiff> {
    return diffSince(await this.currentMap(), since);
  }

  /**
   * The state is read table by table while events may apply in between, so the map version is
   * read before and after: equal (it only grows) means no map input changed in between, and the
   * content read belongs to that version — which the generation's exactness relies on.
   */
  private async currentMap(): Promise<ServedClusterMap> {
    for (let attempt = 1; attempt <= READ_ATTEMPTS_MAX; attempt++) {
      const store = this.node.state();
      const version = await store.mapVersion();
      const content = await mapFromState(this.node, this.twoTier, store);
      if (this.node.state() === store && (await store.mapVersion()) === version) return servedMap(content, version);
    }
    throw new PkiError('ERR_NOT_READY', `the cluster map changed during ${READ_ATTEMPTS_MAX} reads in a row; ask again`);
  }
}

/** The map rebuilt from the replicated state and the roles this node sees (generation unset). */
async function mapFromState(node: MapSource, twoTier: MapTwoTier, store: PkiStateQueries): Promise<ClusterMap> {
  const cluster = await store.cluster();
  let map = newClusterMap(cluster?.clusterId ?? '00000000-0000-0000-0000-000000000000', node.globalVip ?? '');
  const [azs, nodes, cas] = await Promise.all([store.azs(), store.nodes(), store.cas()]);
  const azNames = new Set(azs.map((a) => a.name));
  for (const a of azs) map = withAz(map, { name: a.name, subnets: a.subnets, localVip: a.localVip });
  for (const ca of cas) {
    if (ca.role === 'node') continue;
    // A decommissioned AZ's ICA stays in the state, revoked (az-admin.ts); the map lists live AZs.
    if (ca.role === 'az' && (ca.revokedAt !== null || ca.az === null || !azNames.has(ca.az))) continue;
    const fingerprintSha256 = createHash('sha256').update(ca.certDer).digest('hex');
    map = withCaCertificate(map, { kind: ca.role === 'root' ? 'root' : 'azIca', az: ca.role === 'root' ? null : (ca.az ?? null), fingerprintSha256, pem: toPem(ca.certDer) });
  }
  const local = twoTier.status().local;
  for (const n of nodes) {
    if (!azNames.has(n.az)) continue;
    map = withNode(map, { nodeId: n.nodeId, az: n.az, addresses: n.addresses });
    const membership = n.az === node.az && local.confState.learners.includes(n.nodeId) ? 'learner' : 'voter';
    const inGroup = n.az !== node.az || local.confState.voters.includes(n.nodeId) || local.confState.learners.includes(n.nodeId);
    if (inGroup) map = withRoles(map, n.nodeId, membership);
    const health = node.healthOf(n.nodeId);
    if (health) map = withNodeHealth(map, n.nodeId, health);
    if (n.inactiveSince !== undefined) map = withNodeActivity(map, n.nodeId, 'inactive');
  }
  // docs/spec.md §7.4: a removed node (its CA revoked) stays listed, revoked, and cannot come
  // back under its id. A node CA without a node record and not revoked is a registration under way.
  for (const ca of cas) {
    if (ca.role !== 'node' || !ca.nodeId || !ca.az || !azNames.has(ca.az) || ca.revokedAt === null) continue;
    const known = nodes.find((n) => n.nodeId === ca.nodeId);
    if (!known) map = withNode(map, { nodeId: ca.nodeId, az: ca.az, addresses: { api: '', raft: '' } });
    map = withNodeRevoked(map, ca.nodeId);
  }
  return withLeaders(map, leadersSeenBy(node, twoTier, map));
}

/**
 * What this node knows of leaders: its own AZ's local leader; on a local or global leader, the
 * other AZs' local leaders its health checks found; and the global leader — itself, or the local
 * leader of the AZ whose seat its own seat follows (the global leader acts for that seat).
 */
function leadersSeenBy(node: MapSource, twoTier: MapTwoTier, map: ClusterMap) {
  const status = twoTier.status();
  const known = (id: string | null | undefined, az: string): id is string => !!id && map.nodes.some((n) => n.nodeId === id && n.status !== 'revoked' && n.az === az);
  const localLeaders: Record<string, string> = {};
  if (known(status.local.leaderId, node.az)) localLeaders[node.az] = status.local.leaderId;
  for (const [az, id] of node.otherAzLeaders()) if (az !== node.az && known(id, az)) localLeaders[az] = id;
  const leadingSeat = status.seat?.leaderId ?? null;
  const globalLeader = twoTier.isGlobalLeader() ? node.nodeId : leadingSeat !== null ? (localLeaders[leadingSeat] ?? null) : null;
  return { globalLeader: globalLeader !== null && map.nodes.some((n) => n.nodeId === globalLeader && n.status !== 'revoked') ? globalLeader : null, localLeaders };
}
