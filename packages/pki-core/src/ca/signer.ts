// The Signer abstraction: whatever can produce a signature over a to-be-signed structure.
//
// Implementations here: an in-memory KeyObject, a PEM key file (refused unless mode 0400/0600),
// and a wrapped key (AES-256-GCM blob from the replicated state, unwrapped only in memory).
//
// Offline root: an external signer is any object implementing `Signer` — for instance one that
// forwards the TBS bytes to an HSM or to another process. For a root kept fully offline, the
// cluster installs only the root certificate (no key anywhere in the cluster); AZ ICAs are then
// signed out of band: `buildUnsignedCertificate` with `offlineSigner(rootSpki)` yields the TBS,
// the offline machine signs it, and `completeCertificate` checks and joins the signature
// (see ca/README.md).
import { createPublicKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { signatureAlgorithmForKey, signatureAlgorithmInfo, type SignatureAlgorithm } from './algorithms.ts';
import { readPrivateKeyFile } from './key-file.ts';
import { spkiDerOf } from './keys.ts';
import { unwrapPrivateKey, type KeyWrapBinding } from './key-wrap.ts';

export interface Signer {
  /** The signature algorithm this signer produces; it fixes the certificate's AlgorithmIdentifier. */
  readonly algorithm: SignatureAlgorithm;
  /** SubjectPublicKeyInfo DER of the verifying key; must match the issuer certificate's key. */
  readonly spkiDer: Uint8Array;
  /** Signs `tbs` and returns the signature value (for ECDSA, the DER Ecdsa-Sig-Value, RFC 5758 §3.2). */
  sign(tbs: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

/** A signer over an in-memory private key. Signing is synchronous (node:crypto.sign). */
export class KeyObjectSigner implements Signer {
  readonly algorithm: SignatureAlgorithm;
  readonly spkiDer: Uint8Array;
  readonly #key: KeyObject;
  readonly #digest: 'sha256' | 'sha384' | null;

  constructor(privateKey: KeyObject) {
    if (privateKey.type !== 'private') throw new TypeError('KeyObjectSigner: a private key is required');
    this.algorithm = signatureAlgorithmForKey(privateKey);
    this.#digest = signatureAlgorithmInfo(this.algorithm).nodeDigest;
    this.spkiDer = spkiDerOf(privateKey);
    this.#key = privateKey;
  }

  sign(tbs: Uint8Array): Uint8Array {
    // ECDSA signatures come out DER-encoded (dsaEncoding 'der' is node's default).
    return nodeSign(this.#digest, tbs, this.#key);
  }

  /** Keeps the key out of logs and JSON dumps. */
  toJSON(): object {
    return { algorithm: this.algorithm };
  }
}

/** Loads a PEM private key file (refused unless mode 0400/0600) into an in-memory signer. */
export async function loadPemFileSigner(path: string): Promise<KeyObjectSigner> {
  return new KeyObjectSigner(await readPrivateKeyFile(path));
}

/** Unwraps a wrapped CA key (key-wrap.ts) into memory and signs with it; the plaintext never touches disk. */
export function wrappedKeySigner(wrapped: Uint8Array, kek: Uint8Array, binding: KeyWrapBinding): KeyObjectSigner {
  return new KeyObjectSigner(unwrapPrivateKey(wrapped, kek, binding));
}

/**
 * The public half of a key that signs out of band (an offline root): enough to build a TBS with
 * `buildUnsignedCertificate`; its `sign` refuses, since the key is not here. Finish the
 * certificate with `completeCertificate` once the signature comes back.
 */
export function offlineSigner(spkiDer: Uint8Array): Signer {
  const algorithm = signatureAlgorithmForKey(createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' }));
  return Object.freeze({
    algorithm,
    spkiDer: Uint8Array.from(spkiDer),
    sign(): never {
      throw new TypeError('offline signer: this key signs out of band (buildUnsignedCertificate, then completeCertificate)');
    },
  });
}
