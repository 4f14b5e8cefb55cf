// Single-use, expiring join tokens bound to one AZ of one cluster (docs/spec.md §3.9: an HS256
// JWT read from a file named by an environment variable). A compact JWS (RFC 7515 §7.1) with
// HMAC-SHA256 (RFC 7518 §3.2), signed and verified by `jose` (SignJWT, jwtVerify); this module
// adds what a join token demands on top: a key of at least 32 bytes, the one algorithm, a bounded
// canonical encoding, the claims' shapes and the AZ and cluster binding. Single use is a property
// of the replicated state (a `JoinTokenUsed` event): the caller checks the `jti` against it —
// see {@link assertJoinTokenUnused}.
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { decodeJwt, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyResult } from 'jose';
import { PkiError } from '../errors.ts';

export interface JoinTokenClaims {
  /** Unique token id; spent by the replicated `JoinTokenUsed` event. */
  jti: string;
  az: string;
  clusterId: string;
  /** NumericDate (RFC 7519 §2): whole seconds since the epoch. */
  iat: number;
  nbf: number;
  exp: number;
  /** Optional: the node id the token was minted for. */
  sub?: string;
  /**
   * SHA-256 (hex) of the cluster root certificate's DER: a node that holds only the token trusts
   * the CA bundle it fetches over plain HTTP only if its root has this hash (registration-client.ts
   * `verifyCaBundlePinned`), as a PSK-holding node trusts it by the PSK proof.
   */
  rootSha256?: string;
}

export interface JoinTokenVerifyOptions {
  nowSeconds: number;
  az: string;
  clusterId: string;
  /** Tolerated difference between the minting and the verifying clock. */
  maxClockSkewSeconds?: number;
}

// RFC 7518 §3.2: the HMAC key must be at least as long as the hash output.
export const JOIN_TOKEN_KEY_BYTES_MIN = 32;
const JOIN_TOKEN_BYTES_MAX = 4096;
export const JOIN_TOKEN_FILE_ENV = 'ADRESTIA_JOIN_TOKEN_FILE';
const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 60;
const CLAIM_STRING_CHARS_MAX = 256;
const B64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;
// RFC 8725 §3.1: accept exactly the one algorithm we use; never `none`, never one the token picks.
const JOIN_TOKEN_ALGORITHM = 'HS256';

function tokenInvalid(message: string, field?: string): PkiError {
  return new PkiError('ERR_AUTH_TOKEN_INVALID', message, field === undefined ? undefined : { field });
}

function checkKey(key: Uint8Array): void {
  if (key.length < JOIN_TOKEN_KEY_BYTES_MIN) {
    throw new TypeError(`join token key must be at least ${JOIN_TOKEN_KEY_BYTES_MIN} bytes`);
  }
}

/** The compact JWS of `claims`: header `{"alg":"HS256","typ":"JWT"}`, the claims as given. */
export async function encodeJoinToken(claims: JoinTokenClaims, key: Uint8Array): Promise<string> {
  checkKey(key);
  checkClaims(claims);
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: JOIN_TOKEN_ALGORITHM, typ: 'JWT' }).sign(key);
}

/**
 * Verifies form, algorithm, signature, claims, time and binding, in that order, and returns the
 * claims. It does not know whether the token was used: check `claims.jti` against the replicated
 * state.
 */
export async function verifyJoinToken(token: string, key: Uint8Array, options: JoinTokenVerifyOptions): Promise<JoinTokenClaims> {
  checkKey(key);
  checkCompactForm(token);
  const skewSeconds = options.maxClockSkewSeconds ?? DEFAULT_MAX_CLOCK_SKEW_SECONDS;
  let verified: JWTVerifyResult;
  try {
    // RFC 7519 §4.1.4/§4.1.5 with the skew bound for clocks that disagree; the time is the caller's.
    verified = await jwtVerify(token, key, {
      algorithms: [JOIN_TOKEN_ALGORITHM],
      currentDate: new Date(options.nowSeconds * 1000),
      clockTolerance: skewSeconds,
    });
  } catch (e) {
    throw refusalOf(e);
  }
  checkHeader(verified.protectedHeader);
  const claims: unknown = verified.payload;
  checkClaims(claims);
  // jose checks iat only against a maximum age; one from the future is refused here.
  if (options.nowSeconds + skewSeconds < claims.iat) throw tokenInvalid('join token was issued in the future', 'iat');
  if (claims.clusterId !== options.clusterId) throw tokenInvalid('join token is for another cluster', 'clusterId');
  if (claims.az !== options.az) {
    throw new PkiError('ERR_WRONG_AZ', `join token is bound to AZ ${claims.az}, not ${options.az}`, { field: 'az' });
  }
  return claims;
}

/** Bounded length, three base64url segments, header and payload canonically encoded. */
function checkCompactForm(token: string): void {
  if (token.length > JOIN_TOKEN_BYTES_MAX) throw tokenInvalid('join token is too long');
  const segments = token.split('.');
  if (segments.length !== 3 || !segments.every((s) => B64URL_SEGMENT.test(s))) {
    throw tokenInvalid('join token is not a compact JWS');
  }
  // Only canonical base64url (no stray bits) so one token has exactly one encoding.
  for (const [i, what] of ['header', 'payload'].entries()) {
    const segment = segments[i]!;
    if (Buffer.from(segment, 'base64url').toString('base64url') !== segment) throw tokenInvalid(`join token ${what} is not canonical base64url`);
  }
}

/** A jose refusal as a typed one; anything that is not jose's passes through unchanged. */
function refusalOf(e: unknown): unknown {
  if (e instanceof joseErrors.JWTExpired || e instanceof joseErrors.JWTClaimValidationFailed) {
    // The signature verified; claims of the wrong shape are refused as such (checkClaims throws),
    // before any time check.
    checkClaims(e.payload);
    if (e instanceof joseErrors.JWTExpired) return new PkiError('ERR_AUTH_TOKEN_EXPIRED', 'join token has expired');
    return e.claim === 'nbf' ? tokenInvalid('join token is not valid yet', 'nbf') : tokenInvalid(`join token: ${e.message}`, e.claim);
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return tokenInvalid('join token signature does not verify');
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return tokenInvalid(`join token alg must be ${JOIN_TOKEN_ALGORITHM}`);
  if (e instanceof joseErrors.JOSEError) return tokenInvalid(`join token: ${e.message}`);
  return e;
}

// RFC 7515 §4.1.11: we implement no extensions, so a `crit` header must be refused (jose accepts
// `crit: ["b64"]`); `typ`, when present, names a JWT (RFC 7519 §5.1).
function checkHeader(header: { typ?: unknown; crit?: unknown } | undefined): void {
  if (header?.typ !== undefined && header.typ !== 'JWT') throw tokenInvalid('join token typ must be JWT');
  if (header?.crit !== undefined) throw tokenInvalid('join token has unsupported critical headers');
}

function checkClaims(value: unknown): asserts value is JoinTokenClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw tokenInvalid('join token claims are not an object');
  }
  const c = value as Record<string, unknown>;
  for (const name of ['jti', 'az', 'clusterId'] as const) checkString(c[name], name, true);
  checkString(c['sub'], 'sub', false);
  if (c['rootSha256'] !== undefined && (typeof c['rootSha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(c['rootSha256']))) {
    throw tokenInvalid('join token rootSha256 must be 64 lower-case hex digits', 'rootSha256');
  }
  for (const name of ['iat', 'nbf', 'exp'] as const) {
    const t = c[name];
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) {
      throw tokenInvalid(`join token ${name} must be a NumericDate in whole seconds`, name);
    }
  }
  if ((c['exp'] as number) <= (c['nbf'] as number)) throw tokenInvalid('join token exp must be after nbf', 'exp');
}

function checkString(v: unknown, name: string, required: boolean): void {
  if (v === undefined && !required) return;
  if (typeof v !== 'string' || v.length === 0 || v.length > CLAIM_STRING_CHARS_MAX) {
    throw tokenInvalid(`join token ${name} must be a non-empty string`, name);
  }
}

/**
 * The claims of a token as it reads, without checking its signature: for the node that holds the
 * token (it has no key; the cluster verifies the token when it is presented). ERR_AUTH_TOKEN_INVALID
 * when it is not a join token's compact form and claims.
 */
export function readJoinTokenClaims(token: string): JoinTokenClaims {
  checkCompactForm(token);
  let claims: unknown;
  try {
    claims = decodeJwt(token);
  } catch (cause) {
    throw new PkiError('ERR_AUTH_TOKEN_INVALID', 'join token payload is not a JWT claims set', { cause });
  }
  checkClaims(claims);
  return claims;
}

/** The longest lifetime a join token may be minted with: a join token is a short-lived secret. */
export const JOIN_TOKEN_TTL_SECONDS_MAX = 7 * 24 * 3600;

/**
 * Claims for a new token valid from `nowSeconds` for `ttlSeconds`. The caller draws `jti` from a
 * CSPRNG (it is the token's identity in the replicated `JoinTokenIssued/JoinTokenUsed` events).
 */
export function newJoinTokenClaims(input: {
  jti: string;
  az: string;
  clusterId: string;
  nowSeconds: number;
  ttlSeconds: number;
  sub?: string;
  rootSha256?: string;
}): JoinTokenClaims {
  const { ttlSeconds, nowSeconds } = input;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > JOIN_TOKEN_TTL_SECONDS_MAX) {
    throw new PkiError('ERR_INPUT_INVALID', `ttlSeconds: must be 1..${JOIN_TOKEN_TTL_SECONDS_MAX}`, { field: 'ttlSeconds' });
  }
  const claims: JoinTokenClaims = {
    jti: input.jti,
    az: input.az,
    clusterId: input.clusterId,
    iat: nowSeconds,
    nbf: nowSeconds,
    exp: nowSeconds + ttlSeconds,
  };
  if (input.sub !== undefined) claims.sub = input.sub;
  if (input.rootSha256 !== undefined) claims.rootSha256 = input.rootSha256;
  checkClaims(claims);
  return claims;
}

/** Refuses a token whose `jti` the replicated state has already marked used. */
export function assertJoinTokenUnused(claims: JoinTokenClaims, isUsed: (jti: string) => boolean): void {
  if (isUsed(claims.jti)) throw new PkiError('ERR_AUTH_TOKEN_USED', 'join token has already been used');
}

/**
 * Reads the token from the file named by `ADRESTIA_JOIN_TOKEN_FILE` (systemd credentials, Docker
 * secrets with `mode: 0400`), or returns null when the variable is unset. The file must be a
 * regular file that neither group nor others can access: a readable secret is a leaked secret.
 */
export async function readJoinTokenFromEnv(env: NodeJS.ProcessEnv): Promise<string | null> {
  const path = env[JOIN_TOKEN_FILE_ENV];
  if (path === undefined || path === '') return null;
  return readJoinTokenFile(path);
}

export async function readJoinTokenFile(path: string): Promise<string> {
  const field = JOIN_TOKEN_FILE_ENV;
  let handle;
  try {
    handle = await open(path, fsConstants.O_RDONLY);
  } catch (cause) {
    throw new PkiError('ERR_IO', `${field}: cannot open the join token file`, { field, cause });
  }
  try {
    // fstat the opened file, not the path, so the checked file is the file read.
    const stat = await handle.stat();
    if (!stat.isFile()) throw new PkiError('ERR_INPUT_INVALID', `${field}: not a regular file`, { field });
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new PkiError('ERR_INPUT_INVALID', `${field}: mode ${mode} lets others read it; use 0400 or 0600`, { field });
    }
    if (stat.size > JOIN_TOKEN_BYTES_MAX) throw new PkiError('ERR_INPUT_INVALID', `${field}: file too large`, { field });
    const token = (await handle.readFile({ encoding: 'utf8' })).trim();
    if (token.length > JOIN_TOKEN_BYTES_MAX) throw new PkiError('ERR_INPUT_INVALID', `${field}: file too large`, { field });
    if (token === '') throw new PkiError('ERR_INPUT_INVALID', `${field}: the file is empty`, { field });
    return token;
  } finally {
    await handle.close();
  }
}
