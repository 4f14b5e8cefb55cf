// One table maps every error code the server can meet (the PKI engine's and its own) to an HTTP
// status. `Record<ErrorCode, number>` makes the compiler refuse a code without a status, so a new
// PkiErrorCode cannot silently fall through to 500 (model: tRPC's code→status table).
import { PKI_ERROR_CODES, PkiError, type PkiErrorCode } from '@adrestia/pki-core';

export const SERVER_ERROR_CODES = [
  // HTTP layer
  'ERR_BODY_TOO_LARGE',
  'ERR_BAD_JSON',
  'ERR_BAD_BODY',
  'ERR_UNSUPPORTED_MEDIA_TYPE',
  'ERR_NOT_FOUND_ROUTE',
  'ERR_METHOD',
  'ERR_INTERNAL',
  'ERR_UNAUTHORIZED',
  'ERR_FORBIDDEN',
  'ERR_UNAVAILABLE',
  'ERR_CLIENT_CERT_REQUIRED',
  'ERR_REQUEST_TIMEOUT',
  'ERR_CLIENT_ABORTED',
  // Configuration and secrets (start-up; never sent to a client, mapped for completeness)
  'ERR_CONFIG_INVALID',
  'ERR_CONFIG_READ',
  'ERR_SECRET_FILE_MODE',
  // VIP hooks
  'ERR_VIP_INVALID',
  'ERR_VIP_HOOK_FAILED',
  'ERR_VIP_HOOK_TIMEOUT',
  'ERR_VIP_HOOK_SPAWN',
  // Node-to-node transport
  'ERR_TRANSPORT_CLOSED',
  'ERR_TRANSPORT_PEER_UNKNOWN',
  'ERR_TRANSPORT_PEER_REFUSED',
  'ERR_TRANSPORT_FRAME_TOO_LARGE',
] as const;

export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[number];
export type ErrorCode = PkiErrorCode | ServerErrorCode;

export const ERROR_CODES: readonly ErrorCode[] = [...PKI_ERROR_CODES, ...SERVER_ERROR_CODES];

/** The HTTP status of every error code. Completeness is checked by the compiler. */
export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  // --- pki-core: CSR and key input
  ERR_CSR_MALFORMED: 400,
  ERR_CSR_SIGNATURE: 400,
  ERR_CSR_UNSUPPORTED_SIGNATURE_ALGORITHM: 400,
  ERR_KEY_UNSUPPORTED: 400,
  ERR_KEY_TOO_WEAK: 400,
  ERR_KEY_MALFORMED: 400,
  // --- pki-core: policy (the request is well formed but the profile forbids it)
  ERR_PROFILE_UNKNOWN: 404,
  ERR_PROFILE_INVALID: 422,
  ERR_SAN_FORBIDDEN: 403,
  ERR_PROFILE_FORBIDDEN: 403,
  // The old KEK given to a rotation opens not the state's sealed keys: nothing changed.
  ERR_KEK_MISMATCH: 422,
  // A root held offline: the rollover takes the offline steps (prepare, sign, complete).
  ERR_ROOT_OFFLINE: 409,
  // A name outside the cluster's allowed domains (init `allowedDomains`): the CA will not vouch for it.
  ERR_NAME_NOT_ALLOWED: 403,
  // RFC 6585 §4: too many requests; the answer carries Retry-After.
  ERR_RATE_LIMITED: 429,
  ERR_SAN_INVALID: 400,
  ERR_SUBJECT_INVALID: 400,
  ERR_LIFETIME_INVALID: 400,
  ERR_LIFETIME_EXCEEDS_ISSUER: 422,
  // --- pki-core: certificates, CRLs, keys
  ERR_CERT_MALFORMED: 400,
  ERR_CRL_MALFORMED: 400,
  ERR_CRL_OVER_BUDGET: 500,
  ERR_SERIAL_INVALID: 400,
  ERR_KEY_UNWRAP: 500,
  ERR_SIGNER_MISMATCH: 500,
  // --- pki-core: state machine
  ERR_EVENT_MALFORMED: 500,
  ERR_EVENT_REJECTED: 409,
  ERR_NOT_FOUND: 404,
  ERR_ALREADY_EXISTS: 409,
  ERR_ALREADY_REVOKED: 409,
  ERR_SERIAL_REUSED: 500,
  ERR_ISSUER_UNKNOWN: 404,
  // A revoked or expired certificate authenticates nothing: it cannot renew itself.
  ERR_REVOKED: 403,
  ERR_EXPIRED: 403,
  // --- pki-core: cluster and node. "Not leader / no quorum" are retryable: 503 (+ Retry-After).
  ERR_NOT_LEADER: 503,
  ERR_NO_GLOBAL_QUORUM: 503,
  ERR_NOT_READY: 503,
  ERR_NO_LOCAL_QUORUM: 503,
  // docs/spec.md §4.3: an AZ never answers for another; the client must reach its own AZ.
  ERR_WRONG_AZ: 421,
  ERR_AZ_UNKNOWN: 404,
  ERR_NODE_UNKNOWN: 404,
  ERR_NODE_REVOKED: 403,
  ERR_AUTH_PSK_PROOF: 401,
  ERR_AUTH_TOKEN_INVALID: 401,
  ERR_AUTH_TOKEN_EXPIRED: 401,
  ERR_AUTH_TOKEN_USED: 401,
  ERR_AUTH_REQUIRED: 401,
  ERR_TIMEOUT: 504,
  ERR_STOPPED: 503,
  ERR_INPUT_INVALID: 400,
  ERR_IO: 500,
  ERR_KEY_FILE_PERMISSIONS: 500,
  // AZ administration: refusals that leave the cluster as it was (the operator must act first).
  ERR_AZ_REMOVING: 409,
  ERR_AZ_LAST: 409,
  ERR_AZ_GLOBAL_LEADER: 409,
  ERR_AZ_SELF: 409,
  ERR_AZ_LIVE: 409,
  ERR_AZ_MISMATCH: 409,
  ERR_GLOBAL_MAJORITY: 409,
  // --- server: HTTP layer
  ERR_BODY_TOO_LARGE: 413,
  ERR_BAD_JSON: 400,
  ERR_BAD_BODY: 400,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_NOT_FOUND_ROUTE: 404,
  ERR_METHOD: 405,
  ERR_INTERNAL: 500,
  ERR_UNAUTHORIZED: 401,
  ERR_FORBIDDEN: 403,
  ERR_UNAVAILABLE: 503,
  ERR_CLIENT_CERT_REQUIRED: 401,
  ERR_REQUEST_TIMEOUT: 408,
  // Never seen by the client (it is gone); a status only for the logs and metrics.
  ERR_CLIENT_ABORTED: 400,
  // --- server: start-up and background parts
  ERR_CONFIG_INVALID: 500,
  ERR_CONFIG_READ: 500,
  ERR_SECRET_FILE_MODE: 500,
  ERR_VIP_INVALID: 500,
  ERR_VIP_HOOK_FAILED: 500,
  ERR_VIP_HOOK_TIMEOUT: 500,
  ERR_VIP_HOOK_SPAWN: 500,
  ERR_TRANSPORT_CLOSED: 503,
  ERR_TRANSPORT_PEER_UNKNOWN: 503,
  ERR_TRANSPORT_PEER_REFUSED: 503,
  ERR_TRANSPORT_FRAME_TOO_LARGE: 500,
};

/** An expected failure of the server's own parts, with a stable code (assert on `code`). */
export class ServerError extends Error {
  readonly code: ServerErrorCode;
  /** The input field at fault, when there is one (e.g. `azs[1].subnets[0]`). */
  readonly field: string | undefined;

  constructor(code: ServerErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServerError';
    this.code = code;
    this.field = options?.field;
  }
}

export function isServerError(e: unknown, code?: ServerErrorCode): e is ServerError {
  return e instanceof ServerError && (code === undefined || e.code === code);
}

/** The JSON body of every error response. */
interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** RFC 9110 §10.2.3 `Retry-After` in seconds, when the error says when a retry may succeed. */
  retryAfterSeconds?: number;
  /** Set when the error was not a typed one: the caller must log it (it is never sent). */
  unexpected: unknown;
}

/**
 * Turns anything thrown by a handler into a status and a body. Typed errors keep their code,
 * message and field; anything else becomes 500 ERR_INTERNAL with a fixed message, because an
 * unknown error's message may carry internals (paths, keys, SQL-like detail).
 */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof ServerError || err instanceof PkiError) {
    const error: ErrorBody['error'] = { code: err.code, message: err.message };
    if (err.field !== undefined) error.field = err.field;
    const retry = err instanceof PkiError && err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {};
    return { status: HTTP_STATUS_BY_CODE[err.code], body: { error }, ...retry, unexpected: undefined };
  }
  return {
    status: 500,
    body: { error: { code: 'ERR_INTERNAL', message: 'internal error' } },
    unexpected: err,
  };
}
