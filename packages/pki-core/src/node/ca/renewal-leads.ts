// How far ahead of its end each kind of certificate is renewed (renewal-policy.ts `renewAtMs`):
// the longest default lifetime of what it signs, so that a certificate signed just before its
// issuer's renewal still gets its whole default lifetime.
import { BUILTIN_PROFILES } from '../../ca/profiles.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { loadProfiles } from '../issuance/ca-profiles.ts';

/** A node ICA signs leaves: the longest default lifetime of the leaf profiles in force (built in, or set through the log). */
export async function nodeIcaLeadSeconds(store: PkiStateQueries): Promise<number> {
  const profiles = Object.values(await loadProfiles(store));
  return Math.max(0, ...profiles.filter((p) => !p.basicConstraints.ca).map((p) => p.lifetime.defaultSeconds));
}

/** An AZ ICA signs node ICAs and node TLS certificates (node/registration/ca-node-registration.ts profiles). */
export const AZ_ICA_LEAD_SECONDS = Math.max(BUILTIN_PROFILES.nodeIntermediate.lifetime.defaultSeconds, BUILTIN_PROFILES.serverClientLeaf.lifetime.defaultSeconds);

/** Nothing is signed with a TLS key: it is renewed at two thirds of its lifetime. */
export const NODE_TLS_LEAD_SECONDS = 0;
