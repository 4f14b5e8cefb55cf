// RFC 8555 §6.2 request authentication: a JWS in flattened JSON serialization (RFC 7515 §7.2.2)
// only — no `signatures` array (general serialization), no unprotected `header` — with `alg`
// from the allow-list, `nonce`, `url`, and exactly one of `jwk` (newAccount, revokeCert by the
// certificate key) or `kid` (everything else). Signatures are verified with jose.
import { calculateJwkThumbprint, decodeProtectedHeader, flattenedVerify, importJWK, type FlattenedJWSInput, type JWK } from 'jose';
import { AcmeProblem } from '@adrestia/pki-core';

/** RS256 (certbot's RSA account keys), ES256, ES384, EdDSA (RFC 8037). */
const JWS_ALGORITHMS = ['RS256', 'ES256', 'ES384', 'EdDSA'] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

export interface ProtectedHeader {
  alg: JwsAlgorithm;
  nonce: string;
  url: string;
  jwk?: JWK;
  kid?: string;
}

export interface ParsedJws {
  jws: FlattenedJWSInput;
  header: ProtectedHeader;
}

const FLATTENED_MEMBERS = new Set(['protected', 'payload', 'signature']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The JWS and its checked protected header; `malformed` / `badSignatureAlgorithm` / `badNonce` otherwise. */
export function parseJws(body: Buffer): ParsedJws {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AcmeProblem('malformed', 'the body is not JSON: expected a JWS in flattened JSON serialization (RFC 7515 §7.2.2)');
  }
  const jws = flattenedJwsOf(value, 'the body');
  return { jws, header: checkHeader(protectedHeaderOf(jws)) };
}

/** The inner JWS of a keyChange (RFC 8555 §7.3.5): flattened, `jwk` (the new key), `url`, and no `nonce` or `kid`. */
export interface InnerJws {
  jws: FlattenedJWSInput;
  alg: JwsAlgorithm;
  url: string;
  jwk: JWK;
}

export function parseInnerJws(value: unknown): InnerJws {
  const jws = flattenedJwsOf(value, 'the keyChange payload');
  const raw = protectedHeaderOf(jws);
  const alg = algOf(raw);
  if (raw['nonce'] !== undefined) throw new AcmeProblem('malformed', 'the inner JWS of a keyChange must not have a "nonce" (RFC 8555 §7.3.5)');
  if (raw['kid'] !== undefined) throw new AcmeProblem('malformed', 'the inner JWS of a keyChange takes "jwk" (the new key), not "kid" (RFC 8555 §7.3.5)');
  const { url, jwk } = raw;
  if (typeof url !== 'string') throw new AcmeProblem('malformed', 'the inner JWS of a keyChange needs "url" (RFC 8555 §7.3.5)');
  if (!isObject(jwk)) throw new AcmeProblem('malformed', 'the inner JWS of a keyChange needs "jwk", the new key (RFC 8555 §7.3.5)');
  return { jws, alg, url, jwk };
}

/** A flattened JWS (RFC 7515 §7.2.2) and nothing else: no `signatures` array, no unprotected `header`. */
export function flattenedJwsOf(value: unknown, what: string): FlattenedJWSInput {
  if (!isObject(value)) throw new AcmeProblem('malformed', `${what} is not a JSON object: expected a flattened JWS`);
  if ('signatures' in value) throw new AcmeProblem('malformed', 'general JWS serialization (a "signatures" array) is not accepted: send one flattened JWS (RFC 8555 §6.2)');
  if ('header' in value) throw new AcmeProblem('malformed', 'unprotected JWS header fields are not accepted: put everything in "protected" (RFC 8555 §6.2)');
  for (const key of Object.keys(value)) if (!FLATTENED_MEMBERS.has(key)) throw new AcmeProblem('malformed', `unexpected JWS member ${JSON.stringify(key)}`);
  const { protected: prot, payload, signature } = value;
  if (typeof prot !== 'string' || typeof payload !== 'string' || typeof signature !== 'string') {
    throw new AcmeProblem('malformed', 'a flattened JWS needs string "protected", "payload" and "signature" members');
  }
  return { protected: prot, payload, signature };
}

export function protectedHeaderOf(jws: FlattenedJWSInput): Record<string, unknown> {
  try {
    return decodeProtectedHeader(jws);
  } catch {
    throw new AcmeProblem('malformed', 'the JWS protected header is not base64url-encoded JSON');
  }
}

function algOf(raw: Record<string, unknown>): JwsAlgorithm {
  const alg = raw['alg'];
  if (typeof alg !== 'string' || !(JWS_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new AcmeProblem('badSignatureAlgorithm', `JWS alg ${JSON.stringify(alg)} is not accepted; use one of ${JWS_ALGORITHMS.join(', ')}`);
  }
  return alg as JwsAlgorithm;
}

function checkHeader(raw: Record<string, unknown>): ProtectedHeader {
  const alg = algOf(raw);
  const url = raw['url'];
  if (typeof url !== 'string') throw new AcmeProblem('malformed', 'the JWS protected header needs "url" (RFC 8555 §6.4)');
  const nonce = raw['nonce'];
  if (typeof nonce !== 'string') throw new AcmeProblem('badNonce', 'the JWS protected header needs "nonce" (RFC 8555 §6.5)');
  const jwk = raw['jwk'];
  const kid = raw['kid'];
  if ((jwk === undefined) === (kid === undefined)) throw new AcmeProblem('malformed', 'the JWS protected header needs exactly one of "jwk" and "kid" (RFC 8555 §6.2)');
  if (jwk !== undefined && !isObject(jwk)) throw new AcmeProblem('malformed', '"jwk" must be a JSON Web Key object');
  if (kid !== undefined && typeof kid !== 'string') throw new AcmeProblem('malformed', '"kid" must be the account URL');
  return { alg, nonce, url, ...(jwk === undefined ? {} : { jwk: jwk }), ...(kid === undefined ? {} : { kid: kid }) };
}

/** The public members of a JWK (RFC 7638 §3.2), so the stored key never holds more. */
export function publicJwk(jwk: JWK): JWK {
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) throw new AcmeProblem('badPublicKey', 'the JWK holds private key material');
  switch (jwk.kty) {
    case 'RSA':
      if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new AcmeProblem('badPublicKey', 'an RSA JWK needs "n" and "e"');
      if (Buffer.from(jwk.n, 'base64url').length < 256) throw new AcmeProblem('badPublicKey', 'RSA account keys must have at least 2048 bits');
      return { kty: 'RSA', n: jwk.n, e: jwk.e };
    case 'EC':
      if (jwk.crv !== 'P-256' && jwk.crv !== 'P-384') throw new AcmeProblem('badPublicKey', 'EC account keys must be on P-256 or P-384');
      if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw new AcmeProblem('badPublicKey', 'an EC JWK needs "x" and "y"');
      return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
    case 'OKP':
      if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new AcmeProblem('badPublicKey', 'OKP account keys must be Ed25519 with "x"');
      return { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
    default:
      throw new AcmeProblem('badPublicKey', `JWK kty ${JSON.stringify(jwk.kty)} is not supported; use RSA, EC or OKP`);
  }
}

/** RFC 7638 SHA-256 thumbprint (base64url): names the account of a key, and keyAuthorizations use it (RFC 8555 §8.1). */
export function jwkThumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

/** The decoded payload: null for POST-as-GET (an empty payload, RFC 8555 §6.3), else the JSON object. */
export async function verifyJws(jws: FlattenedJWSInput, alg: JwsAlgorithm, jwk: JWK): Promise<Record<string, unknown> | null> {
  let key;
  try {
    key = await importJWK(jwk, alg);
  } catch {
    throw new AcmeProblem('badPublicKey', `the key cannot be used with ${alg}`);
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await flattenedVerify(jws, key, { algorithms: [alg] }));
  } catch {
    throw new AcmeProblem('malformed', 'the JWS signature does not verify with the account key');
  }
  if (payload.length === 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new AcmeProblem('malformed', 'the JWS payload is not JSON');
  }
  if (!isObject(value)) throw new AcmeProblem('malformed', 'the JWS payload must be a JSON object (or empty for POST-as-GET)');
  return value;
}
