// The issuer chain served with a leaf: node ICA → AZ ICA, as TLS servers send it (RFC 8446
// §4.4.2), the root left out (relying parties hold it). Built from the CA records' parent links,
// so no certificate is parsed or verified on the issuance path.
import { toPem } from '../../ca/pem.ts';
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';

/** Root → AZ ICA → node ICA is 3 deep; a longer parent walk means a cycle in the state. */
const CHAIN_DEPTH_MAX = 8;
/** Chains are immutable per issuer id (a CA record is never replaced), so they are cached. */
const CHAIN_CACHE_ENTRIES_MAX = 4096;
const chainCache = new Map<string, string>();

/**
 * PEM of the issuer `issuerId` and every CA above it except the root, nearest first.
 * ERR_ISSUER_UNKNOWN when a link is missing from the state.
 */
export async function issuerChainPem(store: PkiStateQueries, issuerId: string): Promise<string> {
  const hit = chainCache.get(issuerId);
  if (hit !== undefined) return hit;
  let pem = '';
  let id: string | null = issuerId;
  for (let depth = 0; id !== null; depth++) {
    if (depth >= CHAIN_DEPTH_MAX) throw new Error(`assertion failed: CA parent chain of ${issuerId} is longer than ${CHAIN_DEPTH_MAX}`);
    const ca = await store.getCa(id);
    if (ca === undefined) throw new PkiError('ERR_ISSUER_UNKNOWN', `CA ${id} is not in the state`, { field: 'issuerId' });
    if (ca.role === 'root') break;
    pem += toPem(ca.certDer);
    id = ca.parentIssuerId;
  }
  if (chainCache.size >= CHAIN_CACHE_ENTRIES_MAX) chainCache.clear();
  chainCache.set(issuerId, pem);
  return pem;
}

/** PEM of the cluster's root (answers that carry the whole chain end with it): ERR_NOT_FOUND before this node holds it. */
export async function rootPem(store: PkiStateQueries): Promise<string> {
  const cluster = await store.cluster();
  const root = cluster ? await store.getCa(cluster.rootIssuerId) : undefined;
  if (!root) throw new PkiError('ERR_NOT_FOUND', 'this node holds no root CA yet');
  return toPem(root.certDer);
}
