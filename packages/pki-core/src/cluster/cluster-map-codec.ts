// Reading a cluster map received from a peer (the `clusterMap?since=` poll, docs/spec.md §7.2.2).
// The map is plain JSON-safe data; what arrives is checked field by field, with errors naming the
// field (`nodes[2].health`), and must satisfy the same invariants the update functions keep, so a
// map a node adopts is always one the update functions could have produced.
import { PkiError } from '../errors.ts';
import { sameData, type ClusterMap, type MapAz, type MapCaCertificate, type MapNode, type NodeRole } from './cluster-map.ts';

const CLUSTER_MAP_NODES_MAX = 10_000;
const CLUSTER_MAP_AZS_MAX = 256;
const CLUSTER_MAP_CA_CERTIFICATES_MAX = 1_024;
const STRING_CHARS_MAX = 256;
const PEM_CHARS_MAX = 64 * 1024;

function invalid(field: string, message: string): PkiError {
  return new PkiError('ERR_INPUT_INVALID', `${field}: ${message}`, { field });
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(field, 'must be an object');
  return v as Record<string, unknown>;
}

function str(v: unknown, field: string, maxChars = STRING_CHARS_MAX): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > maxChars) throw invalid(field, 'must be a non-empty string');
  return v;
}

function arr(v: unknown, field: string, maxItems: number): unknown[] {
  if (!Array.isArray(v)) throw invalid(field, 'must be an array');
  if (v.length > maxItems) throw invalid(field, `at most ${maxItems} items`);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw invalid(field, `must be one of ${allowed.join(', ')}`);
  }
  return v as T;
}

function toAz(v: unknown, field: string): MapAz {
  const r = obj(v, field);
  return {
    name: str(r['name'], `${field}.name`),
    subnets: arr(r['subnets'], `${field}.subnets`, 64).map((s, i) => str(s, `${field}.subnets[${i}]`)),
    localVip: str(r['localVip'], `${field}.localVip`),
  };
}

const ROLES: readonly NodeRole[] = ['globalLeader', 'localLeader', 'voter', 'learner'];

function toNode(v: unknown, field: string): MapNode {
  const r = obj(v, field);
  const addresses = obj(r['addresses'], `${field}.addresses`);
  return {
    nodeId: str(r['nodeId'], `${field}.nodeId`),
    az: str(r['az'], `${field}.az`),
    addresses: { api: str(addresses['api'], `${field}.addresses.api`), raft: str(addresses['raft'], `${field}.addresses.raft`) },
    membership: oneOf(r['membership'], `${field}.membership`, ['voter', 'learner'] as const),
    roles: arr(r['roles'], `${field}.roles`, ROLES.length).map((x, i) => oneOf(x, `${field}.roles[${i}]`, ROLES)),
    health: oneOf(r['health'], `${field}.health`, ['healthy', 'suspect', 'down'] as const),
    status: oneOf(r['status'], `${field}.status`, ['active', 'inactive', 'revoked'] as const),
  };
}

function toCaCertificate(v: unknown, field: string): MapCaCertificate {
  const r = obj(v, field);
  const fingerprint = str(r['fingerprintSha256'], `${field}.fingerprintSha256`);
  if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw invalid(`${field}.fingerprintSha256`, 'must be 64 lowercase hex digits');
  return {
    kind: oneOf(r['kind'], `${field}.kind`, ['root', 'azIca'] as const),
    az: r['az'] === null ? null : str(r['az'], `${field}.az`),
    fingerprintSha256: fingerprint,
    pem: str(r['pem'], `${field}.pem`, PEM_CHARS_MAX),
  };
}

function toLeaders(v: unknown): ClusterMap['leaders'] {
  const r = obj(v, 'leaders');
  const local = obj(r['localLeaders'], 'leaders.localLeaders');
  const localLeaders = Object.fromEntries(
    Object.entries(local).map(([az, id]) => [az, str(id, `leaders.localLeaders.${az}`)] as const),
  );
  const globalLeader = r['globalLeader'] === null ? null : str(r['globalLeader'], 'leaders.globalLeader');
  return { globalLeader, localLeaders };
}

/** Parses and checks a received map. Throws ERR_INPUT_INVALID naming the first bad field. */
export function clusterMapFromJson(value: unknown): ClusterMap {
  const r = obj(value, 'clusterMap');
  const generation = r['generation'];
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1) {
    throw invalid('generation', 'must be a positive integer');
  }
  const map: ClusterMap = {
    clusterId: str(r['clusterId'], 'clusterId'),
    generation,
    globalVip: str(r['globalVip'], 'globalVip'),
    azs: arr(r['azs'], 'azs', CLUSTER_MAP_AZS_MAX).map((a, i) => toAz(a, `azs[${i}]`)),
    nodes: arr(r['nodes'], 'nodes', CLUSTER_MAP_NODES_MAX).map((n, i) => toNode(n, `nodes[${i}]`)),
    leaders: toLeaders(r['leaders']),
    caCertificates: arr(r['caCertificates'], 'caCertificates', CLUSTER_MAP_CA_CERTIFICATES_MAX).map((c, i) =>
      toCaCertificate(c, `caCertificates[${i}]`),
    ),
  };
  checkConsistency(map);
  return map;
}

function localLeaderOf(map: ClusterMap, az: string): string | null {
  return Object.hasOwn(map.leaders.localLeaders, az) ? (map.leaders.localLeaders[az] ?? null) : null;
}

function checkConsistency(map: ClusterMap): void {
  const azNames = new Set(map.azs.map((a) => a.name));
  if (azNames.size !== map.azs.length) throw invalid('azs', 'duplicate AZ names');
  const byId = new Map(map.nodes.map((n) => [n.nodeId, n]));
  if (byId.size !== map.nodes.length) throw invalid('nodes', 'duplicate node ids');
  map.nodes.forEach((n, i) => {
    if (!azNames.has(n.az)) throw invalid(`nodes[${i}].az`, `unknown AZ ${n.az}`);
  });
  for (const [az, id] of Object.entries(map.leaders.localLeaders)) {
    const node = byId.get(id);
    if (node === undefined || node.az !== az || node.status === 'revoked') {
      throw invalid(`leaders.localLeaders.${az}`, `${id} is not an unrevoked node of AZ ${az}`);
    }
  }
  const global = map.leaders.globalLeader;
  if (global !== null && localLeaderOf(map, byId.get(global)?.az ?? '') !== global) {
    throw invalid('leaders.globalLeader', 'must be the local leader of its AZ');
  }
  map.nodes.forEach((n, i) => {
    const expected: NodeRole[] = [];
    if (global === n.nodeId) expected.push('globalLeader');
    if (localLeaderOf(map, n.az) === n.nodeId) expected.push('localLeader');
    expected.push(n.membership);
    if (!sameData(expected, n.roles)) throw invalid(`nodes[${i}].roles`, 'do not match membership and leaders');
  });
  map.caCertificates.forEach((c, i) => {
    if ((c.kind === 'root') !== (c.az === null)) throw invalid(`caCertificates[${i}].az`, 'a root has no AZ and an AZ ICA has one');
  });
}
