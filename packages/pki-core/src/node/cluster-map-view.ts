// The cluster map a node serves (seed 000 "Cluster Map", seed 001 generation counting): derived
// from the replicated state (AZs, nodes, CA certificates) and the roles this node can see, and
// versioned per node: the generation moves only when the content changes (cluster-map.ts).
import { createHash } from 'node:crypto';
import type { TwoTierNode } from '@adrestia/consensus';
import { toPem } from '../ca/pem.ts';
import {
  diffSince,
  newClusterMap,
  withAz,
  withCaCertificate,
  withLeaders,
  withNode,
  withNodeHealth,
  withNodeRevoked,
  withoutAz,
  withoutCaCertificate,
  withoutNode,
  withRoles,
  type ClusterMap,
  type ClusterMapDiff,
} from '../cluster/cluster-map.ts';
import type { PkiApplyResult } from './pki-application.ts';
import type { PkiNode } from './pki-node.ts';

const lastMap = new WeakMap<PkiNode, ClusterMap>();

export async function buildClusterMap(node: PkiNode, twoTier: TwoTierNode<PkiApplyResult>, since: number): Promise<ClusterMapDiff> {
  const map = await currentMap(node, twoTier);
  return diffSince(map, { generation: since });
}

async function currentMap(node: PkiNode, twoTier: TwoTierNode<PkiApplyResult>): Promise<ClusterMap> {
  const store = node.app.store;
  const cluster = await store.cluster();
  let map = lastMap.get(node) ?? newClusterMap(cluster?.clusterId ?? '00000000-0000-0000-0000-000000000000', node.options.vip?.globalVip ?? '');
  if (cluster && map.clusterId !== cluster.clusterId) map = newClusterMap(cluster.clusterId, map.globalVip);
  const [azs, nodes, cas] = await Promise.all([store.azs(), store.nodes(), store.cas()]);
  const azNames = new Set(azs.map((a) => a.name));
  // Remove what left the state, then add what is in it.
  for (const n of map.nodes) if (!cas.some((c) => c.role === 'node' && c.nodeId === n.nodeId)) map = withoutNode(map, n.nodeId);
  for (const a of map.azs) if (!azNames.has(a.name) && !map.nodes.some((n) => n.az === a.name)) map = withoutAz(map, a.name);
  for (const a of azs) map = withAz(map, { name: a.name, subnets: a.subnets, localVip: a.localVip });
  const fingerprints = new Set<string>();
  for (const ca of cas) {
    if (ca.role === 'node') continue;
    const fingerprintSha256 = createHash('sha256').update(ca.certDer).digest('hex');
    fingerprints.add(fingerprintSha256);
    map = withCaCertificate(map, { kind: ca.role === 'root' ? 'root' : 'azIca', az: ca.role === 'root' ? null : (ca.az ?? null), fingerprintSha256, pem: toPem(ca.certDer) });
  }
  for (const c of map.caCertificates) if (!fingerprints.has(c.fingerprintSha256)) map = withoutCaCertificate(map, c.fingerprintSha256);
  const local = twoTier.status().local;
  for (const n of nodes) {
    if (!azNames.has(n.az)) continue;
    map = withNode(map, { nodeId: n.nodeId, az: n.az, addresses: n.addresses });
    const membership = n.az === node.az && local.confState.learners.includes(n.nodeId) ? 'learner' : 'voter';
    const inGroup = n.az !== node.az || local.confState.voters.includes(n.nodeId) || local.confState.learners.includes(n.nodeId);
    if (inGroup) map = withRoles(map, n.nodeId, membership);
    const health = n.az === node.az ? node.healthOf(n.nodeId) : null;
    if (health) map = withNodeHealth(map, n.nodeId, health);
  }
  // Seed 001: a removed node stays listed, revoked, and cannot come back under its id.
  for (const ca of cas) {
    if (ca.role !== 'node' || !ca.nodeId || !ca.az || !azNames.has(ca.az) || nodes.some((n) => n.nodeId === ca.nodeId)) continue;
    if (!map.nodes.some((n) => n.nodeId === ca.nodeId)) map = withNode(map, { nodeId: ca.nodeId, az: ca.az, addresses: { api: '', raft: '' } });
    map = withNodeRevoked(map, ca.nodeId);
  }
  map = withLeaders(map, leadersSeenBy(node, twoTier, map));
  lastMap.set(node, map);
  return map;
}

/** What this node knows of leaders: its own AZ's local leader, and itself if it leads globally. */
function leadersSeenBy(node: PkiNode, twoTier: TwoTierNode<PkiApplyResult>, map: ClusterMap) {
  const localLeader = twoTier.status().local.leaderId;
  const known = (id: string | null): id is string => id !== null && map.nodes.some((n) => n.nodeId === id && n.status === 'active' && n.az === node.az);
  return {
    globalLeader: twoTier.isGlobalLeader() && known(node.nodeId) ? node.nodeId : null,
    localLeaders: known(localLeader) ? { [node.az]: localLeader } : {},
  };
}
