// Single-use, expiring join tokens bound to one AZ of one cluster (seed 001 "KRC token": an HS256
// JWT read from a file named by an environment variable). A compact JWS (RFC 7515 §7.1) with
// HMAC-SHA256 (RFC 7518 §3.2), written here over node:crypto so the verifier is small enough to
// read whole. Single use is a property of the replicated state (a `JoinTokenUsed` event): the
// caller checks the `jti` against it — see {@link assertJoinTokenUnused}.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
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
export const JOIN_TOKEN_BYTES_MAX = 4096;
export const JOIN_TOKEN_FILE_ENV = 'ADRESTIA_JOIN_TOKEN_FILE';
const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 60;
const CLAIM_STRING_CHARS_MAX = 256;
const B64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;

function tokenInvalid(message: string, field?: string): PkiError {
  return new PkiError('ERR_AUTH_TOKEN_INVALID', message, field === undefined ? undefined : { field });
}

function checkKey(key: Uint8Array): void {
  if (key.length < JOIN_TOKEN_KEY_BYTES_MIN) {
    throw new TypeError(`join token key must be at least ${JOIN_TOKEN_KEY_BYTES_MIN} bytes`);
  }
}

function hs256(key: Uint8Array, signingInput: string): Buffer {
  return createHmac('sha256', key).update(signingInput, 'ascii').digest();
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function encodeJoinToken(claims: JoinTokenClaims, key: Uint8Array): string {
  checkKey(key);
  checkClaims(claims);
  const signingInput = `${b64json({ alg: 'HS256', typ: 'JWT' })}.${b64json(claims)}`;
  return `${signingInput}.${hs256(key, signingInput).toString('base64url')}`;
}

/**
 * Verifies signature, algorithm, time and binding, in that order, and returns the claims. It does
 * not know whether the token was used: check `claims.jti` against the replicated state.
 */
export function verifyJoinToken(token: string, key: Uint8Array, options: JoinTokenVerifyOptions): JoinTokenClaims {
  checkKey(key);
  if (token.length > JOIN_TOKEN_BYTES_MAX) throw tokenInvalid('join token is too long');
  const segments = token.split('.');
  if (segments.length !== 3 || !segments.every((s) => B64URL_SEGMENT.test(s))) {
    throw tokenInvalid('join token is not a compact JWS');
  }
  const [headerText, payloadText, signatureText] = segments as [string, string, string];
  checkHeader(decodeJson(headerText, 'header'));
  // Verify before trusting any claim; RFC 7515 §5.2 step 8 uses the exact received segments.
  const expected = hs256(key, `${headerText}.${payloadText}`);
  const signature = Buffer.from(signatureText, 'base64url');
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw tokenInvalid('join token signature does not verify');
  }
  const claims = decodeJson(payloadText, 'payload');
  checkClaims(claims);
  checkTime(claims, options.nowSeconds, options.maxClockSkewSeconds ?? DEFAULT_MAX_CLOCK_SKEW_SECONDS);
  if (claims.clusterId !== options.clusterId) throw tokenInvalid('join token is for another cluster', 'clusterId');
  if (claims.az !== options.az) {
    throw new PkiError('ERR_WRONG_AZ', `join token is bound to AZ ${claims.az}, not ${options.az}`, { field: 'az' });
  }
  return claims;
}

function decodeJson(segment: string, what: string): unknown {
  const bytes = Buffer.from(segment, 'base64url');
  // Only canonical base64url (no stray bits) so one token has exactly one encoding.
  if (bytes.toString('base64url') !== segment) throw tokenInvalid(`join token ${what} is not canonical base64url`);
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (cause) {
    throw new PkiError('ERR_AUTH_TOKEN_INVALID', `join token ${what} is not JSON`, { cause });
  }
}

// RFC 8725 §3.1: accept exactly the one algorithm we use; never `none`, never one the token picks.
// RFC 7515 §4.1.11: we implement no extensions, so a `crit` header must be refused.
function checkHeader(header: unknown): void {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw tokenInvalid('join token header is not an object');
  }
  const h = header as Record<string, unknown>;
  if (h['alg'] !== 'HS256') throw tokenInvalid(`join token alg must be HS256, got ${JSON.stringify(h['alg'])}`);
  if (h['typ'] !== undefined && h['typ'] !== 'JWT') throw tokenInvalid('join token typ must be JWT');
  if (h['crit'] !== undefined) throw tokenInvalid('join token has unsupported critical headers');
}

function checkClaims(value: unknown): asserts value is JoinTokenClaims {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw tokenInvalid('join token claims are not an object');
  }
  const c = value as Record<string, unknown>;
  for (const name of ['jti', 'az', 'clusterId'] as const) checkString(c[name], name, true);
  checkString(c['sub'], 'sub', false);
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

// RFC 7519 §4.1.4/§4.1.5, with a small skew bound for clocks that disagree.
function checkTime(c: JoinTokenClaims, nowSeconds: number, skewSeconds: number): void {
  if (nowSeconds - skewSeconds >= c.exp) throw new PkiError('ERR_AUTH_TOKEN_EXPIRED', 'join token has expired');
  if (nowSeconds + skewSeconds < c.nbf) throw tokenInvalid('join token is not valid yet', 'nbf');
  if (nowSeconds + skewSeconds < c.iat) throw tokenInvalid('join token was issued in the future', 'iat');
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
