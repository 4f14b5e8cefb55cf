// Names only the cluster's own nodes may carry. A node's TLS certificate names its addresses, its
// node identity (`urn:adrestia:node:<id>`) and the VIPs it may hold; clients and peers trust a
// server that shows such a certificate (server/src/peer/http-request.ts, transport/identity.ts). So no leaf issued to
// a customer may carry a node's address, a VIP, or any URI of the `urn:adrestia:` namespace,
// whatever its profile allows (RFC 6125 §6: whoever holds a certificate for a name is that name).
import type { SanEntry } from '../../ca/san.ts';
import { normalizeSan } from '../../ca/san.ts';
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { endpointHost, hostSan } from './ca-node-keys.ts';

/** The URI namespace of the cluster's own identities (node ids today). */
const RESERVED_URI_PREFIX = 'urn:adrestia:';

/** Canonical `type:value` keys of the hosts and VIPs the cluster's nodes answer on. */
export type ReservedNames = ReadonlySet<string>;

/** The registered nodes' endpoint hosts, every AZ's local VIP and the cluster VIP. */
export async function reservedNames(store: PkiStateQueries, clusterVip: string | null | undefined): Promise<ReservedNames> {
  const hosts: string[] = [];
  for (const node of await store.nodes()) hosts.push(endpointHost(node.addresses.api), endpointHost(node.addresses.raft));
  for (const az of await store.azs()) hosts.push(az.localVip);
  if (clusterVip) hosts.push(clusterVip);
  return new Set(hosts.map((h) => keyOf(normalizeSan(hostSan(h), 'reserved'))));
}

/**
 * The VIPs a node of `az` may hold, which its TLS certificate names (ca-node-registration.ts):
 * the AZ's local VIP, from the replicated AZ record, and the cluster VIP.
 */
export async function nodeVips(store: PkiStateQueries, clusterVip: string | null | undefined, az: string): Promise<string[]> {
  const local = (await store.getAz(az))?.localVip;
  return [...(local ? [local] : []), ...(clusterVip ? [clusterVip] : [])];
}

/** ERR_SAN_FORBIDDEN naming the first SAN that only a node of the cluster may carry. */
export function checkNoReservedSans(sans: readonly SanEntry[], reserved: ReservedNames): void {
  sans.forEach((san, i) => {
    const field = `sans[${i}]`;
    if (san.type === 'uri' && san.value.toLowerCase().startsWith(RESERVED_URI_PREFIX)) {
      throw new PkiError('ERR_SAN_FORBIDDEN', `${field}: URIs under ${RESERVED_URI_PREFIX} name the cluster's own nodes and are never issued to a client`, { field });
    }
    if ((san.type === 'ip' || san.type === 'dns') && reserved.has(keyOf(san))) {
      throw new PkiError('ERR_SAN_FORBIDDEN', `${field}: ${san.value} is an address or VIP of the cluster's nodes and is never issued to a client`, { field });
    }
  });
}

function keyOf(san: SanEntry): string {
  return `${san.type}:${san.value.toLowerCase()}`;
}
