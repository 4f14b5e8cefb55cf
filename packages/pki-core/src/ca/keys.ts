// Key generation for CA keys (node ICA, AZ ICA, root): the key is generated where it is used
// (docs/spec.md §5.2) and leaves this module only as a KeyObject or a PKCS#8 DER the caller
// protects.
import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export const CA_KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;
export type CaKeyType = (typeof CA_KEY_TYPES)[number];

/** P-256 is the default: small signatures, fast signing, supported everywhere TLS 1.2+ is. */
export const defaultCaKeyType: CaKeyType = 'ecdsa-p256';

export interface GeneratedKeyPair {
  readonly keyType: CaKeyType;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7), ready for a CSR or a certificate. */
  readonly spkiDer: Uint8Array;
}

/** Makes a key pair: `generateCaKeyPair` (OS randomness) unless a caller injects another (the simulator). */
export type KeyPairGenerator = (keyType: CaKeyType) => Promise<GeneratedKeyPair>;

function isCaKeyType(v: unknown): v is CaKeyType {
  return typeof v === 'string' && (CA_KEY_TYPES as readonly string[]).includes(v);
}

/** Generates a CA key pair with node:crypto (OS randomness). RSA uses e = 65537. */
export async function generateCaKeyPair(keyType: CaKeyType = defaultCaKeyType): Promise<GeneratedKeyPair> {
  if (!isCaKeyType(keyType)) throw new TypeError(`generateCaKeyPair: unknown key type ${String(keyType)}`);
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  switch (keyType) {
    case 'ecdsa-p256':
      // RFC 5480 §2.1.1: namedCurve only, never explicit parameters (OpenSSL -x509_strict refuses those).
      pair = await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
      break;
    case 'ecdsa-p384':
      pair = await generateKeyPairAsync('ec', { namedCurve: 'secp384r1' });
      break;
    case 'rsa-3072':
      pair = await generateKeyPairAsync('rsa', { modulusLength: 3072, publicExponent: 0x10001 });
      break;
    case 'rsa-4096':
      pair = await generateKeyPairAsync('rsa', { modulusLength: 4096, publicExponent: 0x10001 });
      break;
    case 'ed25519':
      pair = await generateKeyPairAsync('ed25519');
      break;
  }
  return { keyType, ...pair, spkiDer: spkiDerOf(pair.publicKey) };
}

/** SubjectPublicKeyInfo DER of a public key, or of the public half of a private key. */
export function spkiDerOf(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(pub.export({ format: 'der', type: 'spki' }));
}

/** PKCS#8 DER of a private key: the plaintext that key wrapping encrypts. Handle as a secret. */
export function privateKeyPkcs8Der(privateKey: KeyObject): Uint8Array {
  if (privateKey.type !== 'private') throw new TypeError('privateKeyPkcs8Der: not a private key');
  return new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }));
}
