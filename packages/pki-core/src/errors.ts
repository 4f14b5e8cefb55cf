// Expected failures of the CA engine and the PKI state machine: typed, with stable codes that
// callers (HTTP layer, CLI, tests) switch on. A broken invariant is an assertion, not a PkiError.

export const PKI_ERROR_CODES = [
  // CSR and key input
  'ERR_CSR_MALFORMED',
  'ERR_CSR_SIGNATURE',
  'ERR_CSR_UNSUPPORTED_SIGNATURE_ALGORITHM',
  'ERR_KEY_UNSUPPORTED',
  'ERR_KEY_TOO_WEAK',
  'ERR_KEY_MALFORMED',
  // Policy
  'ERR_PROFILE_UNKNOWN',
  'ERR_PROFILE_INVALID',
  'ERR_SAN_FORBIDDEN',
  'ERR_SAN_INVALID',
  'ERR_SUBJECT_INVALID',
  'ERR_LIFETIME_INVALID',
  'ERR_LIFETIME_EXCEEDS_ISSUER',
  // Certificates, CRLs, keys
  'ERR_CERT_MALFORMED',
  'ERR_CRL_MALFORMED',
  /** A CRL would exceed its size budget (node/revocation/crl-partitions.ts): refused, never committed. */
  'ERR_CRL_OVER_BUDGET',
  'ERR_SERIAL_INVALID',
  'ERR_KEY_UNWRAP',
  'ERR_SIGNER_MISMATCH',
  // State machine
  'ERR_EVENT_MALFORMED',
  'ERR_EVENT_REJECTED',
  'ERR_NOT_FOUND',
  'ERR_ALREADY_EXISTS',
  'ERR_ALREADY_REVOKED',
  'ERR_SERIAL_REUSED',
  'ERR_ISSUER_UNKNOWN',
  // Cluster and node
  'ERR_NOT_LEADER',
  'ERR_NO_GLOBAL_QUORUM',
  'ERR_NO_LOCAL_QUORUM',
  'ERR_WRONG_AZ',
  'ERR_AZ_UNKNOWN',
  'ERR_NODE_UNKNOWN',
  'ERR_NODE_REVOKED',
  'ERR_AUTH_PSK_PROOF',
  'ERR_AUTH_TOKEN_INVALID',
  'ERR_AUTH_TOKEN_EXPIRED',
  'ERR_AUTH_TOKEN_USED',
  'ERR_AUTH_REQUIRED',
  'ERR_TIMEOUT',
  /** The node is up but has not applied what the request needs yet (e.g. its AZ ICA from the global log): retry. */
  'ERR_NOT_READY',
  'ERR_STOPPED',
  // Operator input (CLI, configuration)
  'ERR_INPUT_INVALID',
  'ERR_IO',
  // CA engine (appended)
  'ERR_KEY_FILE_PERMISSIONS',
  // AZ administration (appended): add/remove AZ
  'ERR_AZ_REMOVING',
  'ERR_AZ_LAST',
  'ERR_AZ_GLOBAL_LEADER',
  'ERR_AZ_SELF',
  'ERR_AZ_MISMATCH',
  'ERR_GLOBAL_MAJORITY',
  'ERR_REVOKED',
  'ERR_EXPIRED',
  // Provisioners (appended): a profile outside the provisioner's policy
  'ERR_PROFILE_FORBIDDEN',
  // AZ re-founding (appended): the AZ still answers (node/admin/az-refound.ts)
  'ERR_AZ_LIVE',
  // KEK rotation (appended): the old KEK given does not open the state's sealed keys
  'ERR_KEK_MISMATCH',
  // Root rollover (appended): the root is held offline, its cross certificate is signed out of band
  'ERR_ROOT_OFFLINE',
  // A provisioner's rate limit (node/provisioners/rate-limit.ts); the error says when to retry
  'ERR_RATE_LIMITED',
  // A name outside the domains the cluster was founded for (ca/allowed-names.ts)
  'ERR_NAME_NOT_ALLOWED',
] as const;

export type PkiErrorCode = (typeof PKI_ERROR_CODES)[number];

export class PkiError extends Error {
  readonly code: PkiErrorCode;
  /** The input field at fault, when there is one (e.g. `csr`, `sans[2]`, `profile`). */
  readonly field: string | undefined;
  /** When a retry may succeed (whole seconds; ERR_RATE_LIMITED): the HTTP `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: PkiErrorCode, message: string, options?: { field?: string; cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PkiError';
    this.code = code;
    this.field = options?.field;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export function isPkiError(e: unknown, code?: PkiErrorCode): e is PkiError {
  return e instanceof PkiError && (code === undefined || e.code === code);
}

/** Rethrows `e` unless it is the PkiError `code` (an outcome a retried step may meet: the goal is reached). */
export function ignorePkiCode(e: unknown, code: PkiErrorCode): undefined {
  if (!isPkiError(e, code)) throw e;
  return undefined;
}
