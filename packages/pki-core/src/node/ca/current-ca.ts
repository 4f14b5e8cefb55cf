// Which certificate of a CA role signs now. Renewal (node/ca/ca-renewal.ts) installs a successor
// beside the certificate it replaces, so a role — an AZ's ICA, a node's ICA — holds several CA
// records while their validity overlaps; the newest installed one that is neither revoked nor
// expired signs, the older ones only keep their CRLs current for what they signed.
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord } from '../../state/records.ts';

/** The CA records of one role: an AZ's ICAs, or one node's ICAs. */
export type IssuerRole = { readonly azIcaOf: string } | { readonly nodeIcaOf: string };

export function hasRole(ca: CaRecord, role: IssuerRole): boolean {
  if ('azIcaOf' in role) return ca.role === 'az' && ca.az === role.azIcaOf;
  return ca.role === 'node' && ca.nodeId === role.nodeIcaOf;
}

/** The CAs of `role` that may sign at `nowMs` (unrevoked, not expired), newest installed first. */
export function validCasOf(cas: readonly CaRecord[], role: IssuerRole, nowMs: number): CaRecord[] {
  return cas.filter((ca) => hasRole(ca, role) && ca.revokedAt === null && ca.notAfter > nowMs).sort(newestFirst);
}

/** The CA of `role` that signs at `nowMs`: the newest installed valid one, or undefined. */
export function currentCa(cas: readonly CaRecord[], role: IssuerRole, nowMs: number): CaRecord | undefined {
  return validCasOf(cas, role, nowMs)[0];
}

/**
 * The newest installed unrevoked CA of `role`, expired or not: the one a renewal replaces
 * (state/apply-certs.ts `checkReplaces`), also when the cluster was off past its end
 * (docs/architecture.md §21).
 */
export function latestCa(cas: readonly CaRecord[], role: IssuerRole): CaRecord | undefined {
  return cas.filter((ca) => hasRole(ca, role) && ca.revokedAt === null).sort(newestFirst)[0];
}

/** Later installation first; the log index breaks ties (two installs in one proposer millisecond). */
function newestFirst(a: CaRecord, b: CaRecord): number {
  return b.installedAt - a.installedAt || b.index - a.index;
}

/**
 * The roots whose keys the state holds (not an offline root) that are neither revoked nor expired
 * at `nowMs`, the cluster's current one first: after a root rollover (root-rollover.ts) the
 * earlier root keeps its CRL and OCSP delegations current for the AZ ICAs it signed.
 */
export async function validRoots(store: PkiStateQueries, nowMs: number): Promise<CaRecord[]> {
  const cluster = await store.cluster();
  if (cluster === undefined) return [];
  const roots = (await store.cas()).filter((ca) => ca.role === 'root' && ca.wrappedKey !== null && ca.revokedAt === null && ca.notAfter > nowMs);
  return roots.sort((a, b) => Number(b.issuerId === cluster.rootIssuerId) - Number(a.issuerId === cluster.rootIssuerId) || newestFirst(a, b));
}
