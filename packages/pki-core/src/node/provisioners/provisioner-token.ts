// One-time provisioner tokens: a JWT (RFC 7519) signed with ES256 (RFC 7518 §3.4, P-256) or EdDSA
// (RFC 8037, Ed25519) by a key the requester's deployment tooling holds; the cluster keeps only the
// public JWK (RFC 7517) of each provisioner. A token names the provisioner (`iss`), the cluster
// (`aud`), the certificate's subject CN (`sub`) and its SANs (`sans`), lives at most
// PROVISIONER_TOKEN_LIFETIME_SECONDS_MAX, and carries a `jti` that the replicated state spends once,
// cluster-wide. Verified by `jose`; this module adds the algorithm pinned to the key, the claims'
// shapes and the binding to the request.
import { errors as joseErrors, importJWK, jwtVerify, type JWTVerifyResult } from 'jose';
import { parseSanText, type SanEntry } from '../../ca/san.ts';
import { PkiError } from '../../errors.ts';

/** The longest a token may live (exp − iat): a token is for one issuance, now. */
const PROVISIONER_TOKEN_LIFETIME_SECONDS_MAX = 600;
const TOKEN_CHARS_MAX = 8192;
const CLOCK_SKEW_SECONDS_MAX = 60;
const SANS_MAX = 100;
const JTI = /^[A-Za-z0-9_-]{16,128}$/;

export interface ProvisionerTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly sans: readonly string[];
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

/** The public key a provisioner's tokens are verified with. */
export type ProvisionerJwk = { readonly kty: 'EC'; readonly crv: 'P-256'; readonly x: string; readonly y: string } | { readonly kty: 'OKP'; readonly crv: 'Ed25519'; readonly x: string };

function tokenInvalid(message: string, field?: string): PkiError {
  return new PkiError('ERR_AUTH_TOKEN_INVALID', message, field === undefined ? undefined : { field });
}

const B64URL = /^[A-Za-z0-9_-]{43}$/;

/** Checks an admin-given public JWK: P-256 or Ed25519, public part only, nothing else. */
export function validateProvisionerJwk(data: unknown, field = 'publicKey'): ProvisionerJwk {
  const bad = (why: string): never => {
    throw new PkiError('ERR_INPUT_INVALID', `${field}: ${why}`, { field });
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return bad('a public JWK object');
  const j = data as Record<string, unknown>;
  if ('d' in j) bad('holds a private key ("d"): give the public key only');
  if (j['kty'] === 'EC' && j['crv'] === 'P-256' && typeof j['x'] === 'string' && typeof j['y'] === 'string' && B64URL.test(j['x']) && B64URL.test(j['y'])) {
    return { kty: 'EC', crv: 'P-256', x: j['x'], y: j['y'] };
  }
  if (j['kty'] === 'OKP' && j['crv'] === 'Ed25519' && typeof j['x'] === 'string' && B64URL.test(j['x'])) return { kty: 'OKP', crv: 'Ed25519', x: j['x'] };
  return bad('an EC P-256 (ES256) or OKP Ed25519 (EdDSA) public JWK with base64url coordinates');
}

// RFC 8725 §3.1: the algorithm follows from the key, never from the token's header.
function algorithmOf(jwk: ProvisionerJwk): 'ES256' | 'EdDSA' {
  return jwk.kty === 'EC' ? 'ES256' : 'EdDSA';
}

export interface ProvisionerTokenVerifyOptions {
  /** The provisioner's name: the token's `iss`. */
  readonly provisioner: string;
  readonly publicKey: ProvisionerJwk;
  /** The cluster id: the token's `aud`. */
  readonly audience: string;
  readonly nowSeconds: number;
}

/** Verifies signature, issuer, audience, time and the claims' shapes; spending the `jti` is the caller's. */
export async function verifyProvisionerToken(token: string, o: ProvisionerTokenVerifyOptions): Promise<ProvisionerTokenClaims> {
  if (token.length > TOKEN_CHARS_MAX) throw tokenInvalid('provisioner token is too long');
  const algorithm = algorithmOf(o.publicKey);
  let verified: JWTVerifyResult;
  try {
    const key = await importJWK({ ...o.publicKey }, algorithm);
    verified = await jwtVerify(token, key, {
      algorithms: [algorithm],
      issuer: o.provisioner,
      audience: o.audience,
      currentDate: new Date(o.nowSeconds * 1000),
      clockTolerance: CLOCK_SKEW_SECONDS_MAX,
      requiredClaims: ['iss', 'aud', 'sub', 'jti', 'iat', 'exp'],
    });
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) throw new PkiError('ERR_AUTH_TOKEN_EXPIRED', 'provisioner token has expired', { field: 'exp' });
    if (e instanceof joseErrors.JWTClaimValidationFailed) throw tokenInvalid(`provisioner token: ${e.message}`, e.claim);
    if (e instanceof joseErrors.JOSEError) throw tokenInvalid(`provisioner token: ${e.message}`);
    throw e;
  }
  return checkClaims(verified.payload, o.nowSeconds);
}

function checkClaims(payload: Record<string, unknown>, nowSeconds: number): ProvisionerTokenClaims {
  const { iss, aud, sub, sans, jti, iat, exp } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) throw tokenInvalid('sub: the certificate CN, 1..255 characters', 'sub');
  if (typeof jti !== 'string' || !JTI.test(jti)) throw tokenInvalid('jti: 16..128 base64url characters', 'jti');
  if (!Array.isArray(sans) || sans.length > SANS_MAX || !sans.every((s) => typeof s === 'string')) throw tokenInvalid(`sans: a list of at most ${SANS_MAX} SANs`, 'sans');
  if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > PROVISIONER_TOKEN_LIFETIME_SECONDS_MAX || exp <= iat) {
    throw tokenInvalid(`exp: at most ${PROVISIONER_TOKEN_LIFETIME_SECONDS_MAX} s after iat`, 'exp');
  }
  if (iat > nowSeconds + CLOCK_SKEW_SECONDS_MAX) throw tokenInvalid('provisioner token was issued in the future', 'iat');
  return { iss: iss as string, aud: typeof aud === 'string' ? aud : String(aud), sub, sans: sans, jti, iat, exp };
}

function sanKey(s: SanEntry): string {
  return `${s.type}:${s.value}`;
}

/**
 * The token's binding to the request: the CSR's subject CN is `sub`, and the certificate's SANs are
 * exactly the token's (in any order). Returns the SANs to issue; a mismatch is ERR_SAN_FORBIDDEN.
 */
export function boundSans(claims: ProvisionerTokenClaims, request: { commonName: string | undefined; sans: readonly SanEntry[] | undefined }): SanEntry[] {
  if (request.commonName !== claims.sub) {
    throw new PkiError('ERR_SUBJECT_INVALID', `the CSR's CN ${JSON.stringify(request.commonName ?? '')} is not the token's subject ${JSON.stringify(claims.sub)}`, { field: 'csr' });
  }
  const bound = claims.sans.map((s, i) => parseSanText(s, `token.sans[${i}]`));
  if (request.sans !== undefined) {
    const want = new Set(bound.map(sanKey));
    const got = new Set(request.sans.map(sanKey));
    const extra = [...got].find((k) => !want.has(k));
    if (extra !== undefined || got.size !== want.size) {
      throw new PkiError('ERR_SAN_FORBIDDEN', `sans: the token is bound to ${[...want].join(', ') || 'no SANs'}${extra === undefined ? '' : `, not ${extra}`}`, { field: 'sans' });
    }
  }
  return bound;
}
