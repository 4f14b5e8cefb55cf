// Phase II authentication with the pre-shared key `authPsk` (docs/spec.md §3.2) without the key
// ever crossing the wire. Two proofs, one per direction, each under its own HKDF-derived key
// (RFC 5869) so a proof made in one direction can never be replayed as the other:
//
//  1. Server → node, over plain HTTP. The node asks for the CA bundle with a fresh `clientNonce`;
//     the server returns the bundle, a `serverNonce`, and
//       HMAC-SHA256(K_bundle, "adrestia-ca-bundle-v1" ‖ clusterId ‖ clientNonce ‖ serverNonce ‖ SHA-256(bundle))
//     The node trusts the bundle only after verifying it: a man in the middle without the PSK can
//     neither substitute a bundle nor replay an old one (the client nonce is fresh).
//  2. Node → server, over HTTPS pinned to that bundle. The registration request carries
//       HMAC-SHA256(K_register, "adrestia-registration-v1" ‖ clusterId ‖ nodeId ‖ az ‖ timestamp
//                   ‖ SHA-256(body) ‖ serverNonce)
//     The server accepts it once: the timestamp must lie within ±maxClockSkewSeconds of its clock
//     and the server nonce must not have been used inside that window (a bounded set).
//
// Every field is length-prefixed (u32 big-endian) so no two field lists encode alike.
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { PkiError } from '../errors.ts';

export const PSK_BYTES_MIN = 16;
export const NONCE_BYTES_MIN = 16;
export const NONCE_BYTES_MAX = 64;
const MAC_BYTES = 32;
const CA_BUNDLE_LABEL = 'adrestia-ca-bundle-v1';
const REGISTRATION_LABEL = 'adrestia-registration-v1';

export interface CaBundleProofInput {
  psk: Uint8Array;
  clusterId: string;
  /** Chosen fresh by the node for this fetch. */
  clientNonce: Uint8Array;
  /** Chosen by the server; the node echoes it in its registration proof. */
  serverNonce: Uint8Array;
  /** The exact bytes of the bundle as served. */
  bundle: Uint8Array;
}

export interface RegistrationClaims {
  clusterId: string;
  nodeId: string;
  az: string;
  /** The node's clock, whole seconds since the epoch. */
  timestampSeconds: number;
  bodySha256: Uint8Array;
  serverNonce: Uint8Array;
}

export interface RegistrationProof extends RegistrationClaims {
  mac: Uint8Array;
}

function proofError(message: string): PkiError {
  return new PkiError('ERR_AUTH_PSK_PROOF', message);
}

function checkPsk(psk: Uint8Array): void {
  if (psk.length < PSK_BYTES_MIN) {
    throw new PkiError('ERR_INPUT_INVALID', `authPsk: must be at least ${PSK_BYTES_MIN} bytes`, {
      field: 'authPsk',
    });
  }
}

function checkNonce(nonce: Uint8Array, field: string): void {
  if (nonce.length < NONCE_BYTES_MIN || nonce.length > NONCE_BYTES_MAX) {
    throw proofError(`${field}: must be ${NONCE_BYTES_MIN}..${NONCE_BYTES_MAX} bytes`);
  }
}

// RFC 5869: the cluster id salts the extraction so equal PSKs in two clusters yield unrelated keys;
// `info` separates the two directions.
function deriveKey(psk: Uint8Array, clusterId: string, label: string): Buffer {
  checkPsk(psk);
  return Buffer.from(hkdfSync('sha256', psk, Buffer.from(clusterId, 'utf8'), Buffer.from(label, 'utf8'), 32));
}

function frame(fields: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [];
  for (const field of fields) {
    const bytes = typeof field === 'string' ? Buffer.from(field, 'utf8') : Buffer.from(field);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

function mac(key: Buffer, fields: readonly (string | Uint8Array)[]): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(frame(fields)).digest());
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** Constant-time equality (the length of a MAC is public). */
function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function computeCaBundleProof(input: CaBundleProofInput): Uint8Array {
  checkNonce(input.clientNonce, 'clientNonce');
  checkNonce(input.serverNonce, 'serverNonce');
  const key = deriveKey(input.psk, input.clusterId, CA_BUNDLE_LABEL);
  return mac(key, [CA_BUNDLE_LABEL, input.clusterId, input.clientNonce, input.serverNonce, sha256(input.bundle)]);
}

/** Throws ERR_AUTH_PSK_PROOF unless `proof` shows the server knows the PSK and served this bundle. */
export function verifyCaBundleProof(input: CaBundleProofInput & { proof: Uint8Array }): void {
  const expected = computeCaBundleProof(input);
  if (!macEquals(expected, input.proof)) throw proofError('CA bundle proof does not verify');
}

export function signRegistration(psk: Uint8Array, claims: RegistrationClaims): RegistrationProof {
  checkClaims(claims);
  const key = deriveKey(psk, claims.clusterId, REGISTRATION_LABEL);
  return { ...claims, mac: mac(key, registrationFields(claims)) };
}

function registrationFields(c: RegistrationClaims): (string | Uint8Array)[] {
  return [REGISTRATION_LABEL, c.clusterId, c.nodeId, c.az, String(c.timestampSeconds), c.bodySha256, c.serverNonce];
}

function checkClaims(c: RegistrationClaims): void {
  if (!Number.isSafeInteger(c.timestampSeconds) || c.timestampSeconds < 0) {
    throw proofError('timestampSeconds: must be a non-negative integer');
  }
  if (c.bodySha256.length !== 32) throw proofError('bodySha256: must be 32 bytes');
  checkNonce(c.serverNonce, 'serverNonce');
}

export interface RegistrationVerifyOptions {
  clusterId: string;
  /** The exact request body received; its hash must match the signed one. */
  body: Uint8Array;
  nowSeconds: number;
  replayGuard: NonceReplayGuard;
}

/**
 * Verifies a registration proof and consumes its server nonce. Returns the authenticated node id
 * and AZ. Order matters: the nonce is recorded only after the MAC verifies, so requests without
 * the PSK cannot fill the replay set.
 */
export function verifyRegistration(
  psk: Uint8Array,
  proof: RegistrationProof,
  options: RegistrationVerifyOptions,
): { nodeId: string; az: string } {
  checkClaims(proof);
  if (proof.clusterId !== options.clusterId) throw proofError('registration is for another cluster');
  options.replayGuard.checkWindow(proof.timestampSeconds, options.nowSeconds);
  const key = deriveKey(psk, proof.clusterId, REGISTRATION_LABEL);
  if (!macEquals(mac(key, registrationFields(proof)), proof.mac)) {
    throw proofError('registration proof does not verify');
  }
  if (!macEquals(sha256(options.body), proof.bodySha256)) {
    throw proofError('registration body does not match its signed hash');
  }
  options.replayGuard.consume(proof.serverNonce, proof.timestampSeconds, options.nowSeconds);
  return { nodeId: proof.nodeId, az: proof.az };
}

/**
 * Single use of nonces inside the accepted time window. A nonce is remembered with the timestamp
 * it was signed with; once that timestamp leaves the window a replay fails the window check
 * anyway, so the entry can be forgotten. At most `maxEntries` are held: when full of live entries
 * the guard refuses (fail closed) rather than forget one that could then be replayed.
 */
export class NonceReplayGuard {
  readonly maxClockSkewSeconds: number;
  readonly maxEntries: number;
  private readonly used = new Map<string, number>();

  constructor(options: { maxClockSkewSeconds: number; maxEntries: number }) {
    if (!Number.isSafeInteger(options.maxClockSkewSeconds) || options.maxClockSkewSeconds < 0) {
      throw new TypeError('maxClockSkewSeconds must be a non-negative integer');
    }
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new TypeError('maxEntries must be a positive integer');
    }
    this.maxClockSkewSeconds = options.maxClockSkewSeconds;
    this.maxEntries = options.maxEntries;
  }

  get size(): number {
    return this.used.size;
  }

  checkWindow(timestampSeconds: number, nowSeconds: number): void {
    if (Math.abs(nowSeconds - timestampSeconds) > this.maxClockSkewSeconds) {
      throw proofError(`timestamp ${timestampSeconds} is outside ±${this.maxClockSkewSeconds} s of ${nowSeconds}`);
    }
  }

  consume(nonce: Uint8Array, timestampSeconds: number, nowSeconds: number): void {
    this.checkWindow(timestampSeconds, nowSeconds);
    const key = Buffer.from(nonce).toString('base64url');
    if (this.used.has(key)) throw proofError('nonce already used');
    if (this.used.size >= this.maxEntries) this.forgetExpired(nowSeconds);
    if (this.used.size >= this.maxEntries) {
      throw proofError(`replay guard full (${this.maxEntries} live nonces); retry later`);
    }
    this.used.set(key, timestampSeconds);
  }

  private forgetExpired(nowSeconds: number): void {
    for (const [key, timestampSeconds] of this.used) {
      if (timestampSeconds < nowSeconds - this.maxClockSkewSeconds) this.used.delete(key);
    }
  }
}

/** The `Authorization` header value: `Adrestia-PSK v1.<fields as base64url, dot-separated>`. */
export function formatRegistrationProof(p: RegistrationProof): string {
  const b64 = (x: string | Uint8Array): string => Buffer.from(x).toString('base64url');
  const fields = [p.clusterId, p.nodeId, p.az].map(b64);
  fields.push(String(p.timestampSeconds), b64(p.bodySha256), b64(p.serverNonce), b64(p.mac));
  return `Adrestia-PSK v1.${fields.join('.')}`;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

export function parseRegistrationProof(header: string): RegistrationProof {
  const match = /^Adrestia-PSK v1\.(.+)$/.exec(header.trim());
  const parts = match?.[1]?.split('.') ?? [];
  if (parts.length !== 7 || !parts.every((p) => B64URL.test(p))) {
    throw proofError('malformed Adrestia-PSK authorization');
  }
  const [clusterId, nodeId, az, ts, bodySha256, serverNonce, macText] = parts as [
    string, string, string, string, string, string, string,
  ];
  if (!/^(0|[1-9]\d{0,15})$/.test(ts)) throw proofError('malformed Adrestia-PSK timestamp');
  const bytes = (x: string): Uint8Array => new Uint8Array(Buffer.from(x, 'base64url'));
  const text = (x: string): string => Buffer.from(x, 'base64url').toString('utf8');
  const proof: RegistrationProof = {
    clusterId: text(clusterId),
    nodeId: text(nodeId),
    az: text(az),
    timestampSeconds: Number(ts),
    bodySha256: bytes(bodySha256),
    serverNonce: bytes(serverNonce),
    mac: bytes(macText),
  };
  if (proof.mac.length !== MAC_BYTES) throw proofError('malformed Adrestia-PSK mac');
  checkClaims(proof);
  return proof;
}
