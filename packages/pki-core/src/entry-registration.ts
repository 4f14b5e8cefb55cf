// @adrestia/pki-core/registration: Phase II registration of a node, both sides — the PSK proofs and
// join tokens a server checks on its HTTP endpoints, the request a joining node sends, and the CA
// bundle that node verifies (cluster/psk-proof.ts, node/registration.ts). Only what is used outside
// this package is listed here.

// PSK proofs: HMAC-SHA256 under keys derived from the PSK, never sending it; single-use nonces.
export {
  NONCE_BYTES_MAX,
  NONCE_BYTES_MIN,
  NonceReplayGuard,
  PSK_BYTES_MIN,
  formatRegistrationProof,
  parseRegistrationProof,
  signRegistration,
  verifyRegistration,
} from './cluster/psk-proof.ts';
// Join tokens: HS256 JWTs (RFC 7515, RFC 7518 §3.2), single use, bounded lifetime.
export { JOIN_TOKEN_KEY_BYTES_MIN, JOIN_TOKEN_TTL_SECONDS_MAX, readJoinTokenClaims, verifyJoinToken, type JoinTokenClaims } from './cluster/join-token.ts';
// The exchange: its JSON bodies, the server's CA bundle and checks, the joining node's request.
export type { CaBundleResponseBody, RegistrationResponseBody } from './node/registration/registration-body.ts';
export { caBundleResponse, verifyRegistrationRequest } from './node/registration/registration.ts';
export { buildRegistrationRequest, registrationResponse, verifyCaBundle, verifyCaBundlePinned, type VerifiedCaBundle } from './node/registration/registration-client.ts';
