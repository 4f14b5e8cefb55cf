// External account binding keys (RFC 8555 §7.3.4): a random key id and a 256-bit HMAC key the
// operator hands to an ACME client. The state keeps the HMAC key AES-256-GCM sealed under a key
// every node derives alike from the cluster's KEK (RFC 5869 HKDF), as CA keys are wrapped, so a
// copy of the state alone does not let anyone bind accounts.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const AAD = Buffer.from('adrestia acme eab v1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** RFC 8555 §7.3.4 leaves the size open; 256 bits suit HS256 (RFC 7518 §3.2: at least the hash size). */
const EAB_HMAC_KEY_BYTES = 32;

export class AcmeEabSealer {
  private readonly key: Buffer;

  constructor(kek: Uint8Array) {
    this.key = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'adrestia acme eab key', 32));
  }

  /** A fresh HMAC key, and its sealed form for the state. */
  fresh(): { hmacKey: Uint8Array; sealed: Uint8Array } {
    const hmacKey = new Uint8Array(randomBytes(EAB_HMAC_KEY_BYTES));
    return { hmacKey, sealed: this.seal(hmacKey) };
  }

  /** `hmacKey` sealed (AES-256-GCM, a fresh IV) for the state; a KEK rotation seals it again (node/kek/kek-rotation.ts). */
  seal(hmacKey: Uint8Array): Uint8Array {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(AAD);
    return new Uint8Array(Buffer.concat([iv, cipher.update(hmacKey), cipher.final(), cipher.getAuthTag()]));
  }

  /** `sealed` opened with the key derived from the first of `keks` that opens it (a KEK rotation, kek-ring.ts); throws if none does. */
  static openWithAny(keks: readonly Uint8Array[], sealed: Uint8Array): Uint8Array {
    let first: Error | undefined;
    for (const kek of keks) {
      try {
        return new AcmeEabSealer(kek).open(sealed);
      } catch (e) {
        first ??= e instanceof Error ? e : new Error(String(e));
      }
    }
    throw first ?? new Error('no KEK to open an EAB key with');
  }

  open(sealed: Uint8Array): Uint8Array {
    const raw = Buffer.from(sealed);
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES)).setAAD(AAD);
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return new Uint8Array(Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]));
  }
}
