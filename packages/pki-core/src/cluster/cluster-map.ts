// The cluster map (docs/architecture.md §1 and §8): AZs, nodes, leaders and CA certificates.
// Values are immutable plain data; every update function returns the same object when nothing
// changed, and a copy with generation + 1 otherwise. Arrays are kept sorted so equal maps encode
// to equal bytes. The generation counted here numbers one builder's updates only; the generation
// a node serves, the same on every node for the same content, is set by map-generation.ts.
import type { NodeId } from '@adrestia/consensus';
import { PkiError } from '../errors.ts';
import type { NodeAddresses } from '../state/events.ts';
import type { HealthState } from './node-health.ts';

type NodeStatus = 'active' | 'inactive' | 'revoked';

/** AZ names are short tokens (they appear in URLs, certificate names and log lines). */
export const AZ_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export type Membership = 'voter' | 'learner';
export type NodeRole = 'globalLeader' | 'localLeader' | Membership;

export interface MapAz {
  readonly name: string;
  readonly subnets: readonly string[];
  readonly localVip: string;
}

/** `api` (HTTPS) and `raft` (node-to-node mTLS) endpoints, `host:port` each (the state's type). */
export type { NodeAddresses };

export interface MapNode {
  readonly nodeId: NodeId;
  readonly az: string;
  readonly addresses: NodeAddresses;
  readonly membership: Membership;
  /** Derived from `membership` and the map's leaders; kept here for map readers. */
  readonly roles: readonly NodeRole[];
  readonly health: HealthState;
  /**
   * `inactive`: its AZ's local leader has not heard from it for `nodeInactiveAfterSeconds`
   * (node/aging/); it is `active` again when it answers. `revoked` is final: the node stays listed
   * but may take part in nothing (docs/spec.md §7.4).
   */
  readonly status: NodeStatus;
}

export interface MapLeaders {
  readonly globalLeader: NodeId | null;
  /** AZ name → local leader. */
  readonly localLeaders: Readonly<Record<string, NodeId>>;
}

export interface MapCaCertificate {
  readonly kind: 'root' | 'azIca';
  /** The AZ of an AZ ICA; null for the root. */
  readonly az: string | null;
  /** SHA-256 of the DER, lowercase hex. */
  readonly fingerprintSha256: string;
  readonly pem: string;
}

export interface ClusterMap {
  readonly clusterId: string;
  readonly generation: number;
  readonly globalVip: string;
  readonly azs: readonly MapAz[];
  readonly nodes: readonly MapNode[];
  readonly leaders: MapLeaders;
  readonly caCertificates: readonly MapCaCertificate[];
}

/** Generation 1 is the first map of a builder. */
export function newClusterMap(clusterId: string, globalVip: string): ClusterMap {
  return {
    clusterId,
    generation: 1,
    globalVip,
    azs: [],
    nodes: [],
    leaders: { globalLeader: null, localLeaders: {} },
    caCertificates: [],
  };
}

function byKey<T>(key: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/** Deep equality of plain data, independent of object key order. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && sameData(ra[k], rb[k]));
}

/**
 * The one place a new map is made: re-derives roles, sorts, and bumps the generation only when the
 * content differs from `map`.
 */
function commit(map: ClusterMap, next: Omit<ClusterMap, 'generation'>): ClusterMap {
  const nodes = next.nodes.map((n) => ({ ...n, roles: rolesOf(n, next.leaders) })).sort(byKey((n) => n.nodeId));
  const candidate: ClusterMap = {
    ...next,
    generation: map.generation,
    azs: [...next.azs].sort(byKey((a) => a.name)),
    nodes,
    leaders: { globalLeader: next.leaders.globalLeader, localLeaders: sortedRecord(next.leaders.localLeaders) },
    caCertificates: [...next.caCertificates].sort(byKey((c) => c.fingerprintSha256)),
  };
  if (sameData(candidate, map)) return map;
  return { ...candidate, generation: map.generation + 1 };
}

function sortedRecord(r: Readonly<Record<string, NodeId>>): Record<string, NodeId> {
  return Object.fromEntries(Object.entries(r).sort(byKey(([k]) => k)));
}

function rolesOf(node: MapNode, leaders: MapLeaders): NodeRole[] {
  const roles: NodeRole[] = [];
  if (leaders.globalLeader === node.nodeId) roles.push('globalLeader');
  if (Object.hasOwn(leaders.localLeaders, node.az) && leaders.localLeaders[node.az] === node.nodeId) {
    roles.push('localLeader');
  }
  roles.push(node.membership);
  return roles;
}

export function findNode(map: ClusterMap, nodeId: NodeId): MapNode | undefined {
  return map.nodes.find((n) => n.nodeId === nodeId);
}

function requireNode(map: ClusterMap, nodeId: NodeId): MapNode {
  const node = findNode(map, nodeId);
  if (node === undefined) throw new PkiError('ERR_NODE_UNKNOWN', `node ${nodeId} is not in the cluster map`);
  return node;
}

function requireAz(map: ClusterMap, az: string): void {
  if (!map.azs.some((a) => a.name === az)) throw new PkiError('ERR_AZ_UNKNOWN', `AZ ${az} is not in the cluster map`);
}

function replaceNode(map: ClusterMap, node: MapNode): ClusterMap {
  return commit(map, { ...map, nodes: map.nodes.map((n) => (n.nodeId === node.nodeId ? node : n)) });
}

/** Adds or replaces an AZ (by name). */
export function withAz(map: ClusterMap, az: MapAz): ClusterMap {
  if (!AZ_NAME.test(az.name)) throw new PkiError('ERR_INPUT_INVALID', `invalid AZ name ${JSON.stringify(az.name)}`, { field: 'name' });
  const azs = map.azs.filter((a) => a.name !== az.name);
  return commit(map, { ...map, azs: [...azs, { name: az.name, subnets: [...az.subnets], localVip: az.localVip }] });
}

/** Removes an AZ that no longer has nodes, with its leader entry and AZ ICA certificates. */
export function withoutAz(map: ClusterMap, name: string): ClusterMap {
  if (!map.azs.some((a) => a.name === name)) return map;
  if (map.nodes.some((n) => n.az === name)) {
    throw new PkiError('ERR_EVENT_REJECTED', `AZ ${name} still has nodes; remove them first`);
  }
  const localLeaders = Object.fromEntries(Object.entries(map.leaders.localLeaders).filter(([az]) => az !== name));
  return commit(map, {
    ...map,
    azs: map.azs.filter((a) => a.name !== name),
    leaders: { ...map.leaders, localLeaders },
    caCertificates: map.caCertificates.filter((c) => c.az !== name),
  });
}

/** Registers a node (a learner until it has caught up), or updates its addresses if known. */
export function withNode(
  map: ClusterMap,
  node: { nodeId: NodeId; az: string; addresses: NodeAddresses },
): ClusterMap {
  requireAz(map, node.az);
  const existing = findNode(map, node.nodeId);
  if (existing === undefined) {
    const added: MapNode = {
      nodeId: node.nodeId,
      az: node.az,
      addresses: { ...node.addresses },
      membership: 'learner',
      roles: [],
      health: 'healthy',
      status: 'active',
    };
    return commit(map, { ...map, nodes: [...map.nodes, added] });
  }
  if (existing.az !== node.az) {
    throw new PkiError('ERR_WRONG_AZ', `node ${node.nodeId} belongs to AZ ${existing.az}, not ${node.az}`);
  }
  return withNodeAddresses(map, node.nodeId, node.addresses);
}

function requireActive(node: MapNode): void {
  if (node.status === 'revoked') throw new PkiError('ERR_NODE_REVOKED', `node ${node.nodeId} is revoked`);
}

export function withNodeAddresses(map: ClusterMap, nodeId: NodeId, addresses: NodeAddresses): ClusterMap {
  const node = requireNode(map, nodeId);
  requireActive(node);
  return replaceNode(map, { ...node, addresses: { ...addresses } });
}

export function withRoles(map: ClusterMap, nodeId: NodeId, membership: Membership): ClusterMap {
  const node = requireNode(map, nodeId);
  requireActive(node);
  return replaceNode(map, { ...node, membership });
}

/** Marks a node inactive or active again; a revoked node stays revoked. */
export function withNodeActivity(map: ClusterMap, nodeId: NodeId, activity: 'active' | 'inactive'): ClusterMap {
  const node = requireNode(map, nodeId);
  requireActive(node);
  return replaceNode(map, { ...node, status: activity });
}

export function withNodeHealth(map: ClusterMap, nodeId: NodeId, health: HealthState): ClusterMap {
  return replaceNode(map, { ...requireNode(map, nodeId), health });
}

/** Revocation is final, and a revoked node leads nothing: its leader entries are cleared. */
export function withNodeRevoked(map: ClusterMap, nodeId: NodeId): ClusterMap {
  const node = requireNode(map, nodeId);
  const localLeaders = Object.fromEntries(Object.entries(map.leaders.localLeaders).filter(([, id]) => id !== nodeId));
  const globalLeader = map.leaders.globalLeader === nodeId ? null : map.leaders.globalLeader;
  return commit(map, {
    ...map,
    nodes: map.nodes.map((n) => (n.nodeId === nodeId ? { ...node, status: 'revoked' as const } : n)),
    leaders: { globalLeader, localLeaders },
  });
}

/** Forgets a node entirely (docs/spec.md §7.5: removal after inactivity). */
export function withoutNode(map: ClusterMap, nodeId: NodeId): ClusterMap {
  if (findNode(map, nodeId) === undefined) return map;
  const localLeaders = Object.fromEntries(Object.entries(map.leaders.localLeaders).filter(([, id]) => id !== nodeId));
  const globalLeader = map.leaders.globalLeader === nodeId ? null : map.leaders.globalLeader;
  return commit(map, {
    ...map,
    nodes: map.nodes.filter((n) => n.nodeId !== nodeId),
    leaders: { globalLeader, localLeaders },
  });
}

/**
 * Sets the leaders. Each must be an unrevoked node of the map (an inactive node that came back
 * may lead before its AZ marks it active again), a local leader must belong to its AZ,
 * and the global leader is its AZ's local leader (docs/spec.md §2.3.2: the leader seat's local
 * leader).
 */
export function withLeaders(map: ClusterMap, leaders: MapLeaders): ClusterMap {
  for (const [az, nodeId] of Object.entries(leaders.localLeaders)) {
    requireAz(map, az);
    const node = requireNode(map, nodeId);
    requireActive(node);
    if (node.az !== az) throw new PkiError('ERR_WRONG_AZ', `node ${nodeId} of AZ ${node.az} cannot lead AZ ${az}`);
  }
  if (leaders.globalLeader !== null) {
    const node = requireNode(map, leaders.globalLeader);
    requireActive(node);
    if (!Object.hasOwn(leaders.localLeaders, node.az) || leaders.localLeaders[node.az] !== node.nodeId) {
      throw new PkiError('ERR_INPUT_INVALID', `global leader ${node.nodeId} must be the local leader of AZ ${node.az}`, {
        field: 'leaders.globalLeader',
      });
    }
  }
  return commit(map, { ...map, leaders: { globalLeader: leaders.globalLeader, localLeaders: { ...leaders.localLeaders } } });
}

/** Adds or replaces a CA certificate (by fingerprint). */
export function withCaCertificate(map: ClusterMap, cert: MapCaCertificate): ClusterMap {
  if (!/^[0-9a-f]{64}$/.test(cert.fingerprintSha256)) {
    throw new PkiError('ERR_INPUT_INVALID', 'fingerprintSha256 must be 64 lowercase hex digits', {
      field: 'fingerprintSha256',
    });
  }
  if ((cert.kind === 'root') !== (cert.az === null)) {
    throw new PkiError('ERR_INPUT_INVALID', 'a root has no AZ and an AZ ICA has one', { field: 'az' });
  }
  if (cert.az !== null) requireAz(map, cert.az);
  const others = map.caCertificates.filter((c) => c.fingerprintSha256 !== cert.fingerprintSha256);
  return commit(map, { ...map, caCertificates: [...others, { ...cert }] });
}

export function withoutCaCertificate(map: ClusterMap, fingerprintSha256: string): ClusterMap {
  return commit(map, {
    ...map,
    caCertificates: map.caCertificates.filter((c) => c.fingerprintSha256 !== fingerprintSha256),
  });
}
