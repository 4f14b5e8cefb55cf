// RFC 5280 §5.3.1 CRLReason: the one table of reason names and their ENUMERATED values, used by
// the CRL builder (crl.ts), the replicated state machine (state/events.ts), the offline CA's
// CLI (cli/cmd-revoke.ts) and the server's revocation API.

/** Name → ENUMERATED value (7 is unused in the RFC). */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type CrlReason = keyof typeof CRL_REASONS;

/** Every reason name, in the order of their values. */
export const CRL_REASON_NAMES: readonly CrlReason[] = Object.freeze(Object.keys(CRL_REASONS) as CrlReason[]);

/** The reasons a revocation may give: removeFromCRL only undoes a hold in a delta CRL (§5.3.1). */
export const REVOCATION_REASONS: readonly CrlReason[] = Object.freeze(CRL_REASON_NAMES.filter((r) => r !== 'removeFromCRL'));
