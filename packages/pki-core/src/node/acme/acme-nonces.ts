// ACME anti-replay nonces (RFC 8555 §6.5) that work behind VIPs and across nodes. A nonce is an
// AES-256-GCM sealed record (counter, issue time, issuing node id) under a key every node derives
// alike from the cluster's KEK (RFC 5869 HKDF), so any node tells a nonce of this cluster from a
// forgery and reads who issued it. The issuing node keeps the set of its nonces not used yet,
// bounded by `outstandingMax` (the replay window: the oldest fall out and are refused), and a
// nonce is accepted exactly once: when its issuer takes it out of that set, asked over the peer
// endpoint when the request reached another node (acme.ts `consumeNonce`).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const AAD = Buffer.from('adrestia acme nonce v1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEAD_BYTES = 8 + 8;
/** Node ids are UUIDs in the server (36 characters); any id up to this many bytes works. */
const NODE_ID_BYTES_MAX = 128;

export interface NonceLimits {
  /** A nonce older than this is refused (RFC 8555 §6.5 lets the server expire nonces). */
  lifetimeMs: number;
  /** Unused nonces this node remembers; older ones are refused. */
  outstandingMax: number;
}

const DEFAULT_NONCE_LIMITS: NonceLimits = Object.freeze({ lifetimeMs: 3600_000, outstandingMax: 100_000 });

export type NonceVerdict = { ok: true } | { ok: false; reason: string };

export interface OpenedNonce {
  issuer: string;
  counter: bigint;
  issuedAtMs: number;
}

export class AcmeNonces {
  private counter = 0n;
  /** Counters issued here and not used yet, oldest first (a Map keeps insertion order). */
  private readonly outstanding = new Set<bigint>();
  private readonly key: Buffer;
  private readonly nodeBytes: Buffer;

  constructor(
    kek: Uint8Array,
    readonly nodeId: string,
    private readonly nowMs: () => number,
    private readonly limits: NonceLimits = DEFAULT_NONCE_LIMITS,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'adrestia acme nonce key', 32));
    this.nodeBytes = Buffer.from(nodeId, 'utf8');
    if (this.nodeBytes.length === 0 || this.nodeBytes.length > NODE_ID_BYTES_MAX) throw new TypeError(`AcmeNonces: node id of 1..${NODE_ID_BYTES_MAX} bytes expected`);
  }

  issue(): string {
    this.counter += 1n;
    this.outstanding.add(this.counter);
    while (this.outstanding.size > this.limits.outstandingMax) this.outstanding.delete(this.outstanding.values().next().value as bigint);
    const plain = Buffer.alloc(HEAD_BYTES + this.nodeBytes.length);
    plain.writeBigUInt64BE(this.counter, 0);
    plain.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.nowMs()))), 8);
    this.nodeBytes.copy(plain, HEAD_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(AAD);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  /** A nonce of this cluster, opened; null for anything else (forged, truncated, not base64url). */
  open(nonce: string): OpenedNonce | null {
    if (!/^[A-Za-z0-9_-]{1,512}$/.test(nonce)) return null;
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length <= IV_BYTES + HEAD_BYTES + TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES)).setAAD(AAD);
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
      return { counter: plain.readBigUInt64BE(0), issuedAtMs: Number(plain.readBigUInt64BE(8)), issuer: plain.subarray(HEAD_BYTES).toString('utf8') };
    } catch {
      return null;
    }
  }

  /** Whether an opened nonce is still within its lifetime. */
  fresh(opened: OpenedNonce): boolean {
    return this.nowMs() - opened.issuedAtMs <= this.limits.lifetimeMs;
  }

  /** The issuing node's half: takes the counter out of the unused set, once. */
  consumeCounter(counter: bigint): NonceVerdict {
    if (!this.outstanding.delete(counter)) return { ok: false, reason: 'the nonce was already used, or is older than this node\'s replay window' };
    return { ok: true };
  }
}
