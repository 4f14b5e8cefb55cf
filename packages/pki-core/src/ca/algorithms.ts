// Signature algorithms the CA signs with, and their AlgorithmIdentifier encodings. The hash is
// fixed by the key, never defaulted to SHA-1 (see TOOLCHAIN.md on pkijs' default).
import type { KeyObject } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { NULL_DER, oid, sequence } from './der.ts';
import { OID_SIG } from './oids.ts';

export type SignatureAlgorithm = 'ecdsa-with-SHA256' | 'ecdsa-with-SHA384' | 'sha256WithRSAEncryption' | 'Ed25519';

export interface SignatureAlgorithmInfo {
  readonly name: SignatureAlgorithm;
  readonly oid: string;
  /** The DER AlgorithmIdentifier placed in tbsCertificate.signature and Certificate.signatureAlgorithm. */
  readonly algorithmIdentifierDer: Uint8Array;
  /** Digest name for node:crypto.sign, or null for Ed25519 (pure EdDSA hashes internally). */
  readonly nodeDigest: 'sha256' | 'sha384' | null;
}

// RFC 5758 §3.2: ECDSA AlgorithmIdentifiers omit parameters. RFC 4055 §5: RSA PKCS#1 v1.5
// identifiers carry NULL parameters. RFC 8410 §3: Ed25519 parameters are absent.
const TABLE: Record<SignatureAlgorithm, SignatureAlgorithmInfo> = {
  'ecdsa-with-SHA256': info('ecdsa-with-SHA256', OID_SIG.ecdsaWithSha256, false, 'sha256'),
  'ecdsa-with-SHA384': info('ecdsa-with-SHA384', OID_SIG.ecdsaWithSha384, false, 'sha384'),
  sha256WithRSAEncryption: info('sha256WithRSAEncryption', OID_SIG.sha256WithRsaEncryption, true, 'sha256'),
  Ed25519: info('Ed25519', OID_SIG.ed25519, false, null),
};

function info(
  name: SignatureAlgorithm,
  dotted: string,
  nullParams: boolean,
  nodeDigest: 'sha256' | 'sha384' | null,
): SignatureAlgorithmInfo {
  const algorithmIdentifierDer = nullParams ? sequence(oid(dotted), NULL_DER) : sequence(oid(dotted));
  return Object.freeze({ name, oid: dotted, algorithmIdentifierDer, nodeDigest });
}

export function signatureAlgorithmInfo(name: SignatureAlgorithm): SignatureAlgorithmInfo {
  const found = TABLE[name];
  if (found === undefined) throw new TypeError(`unknown signature algorithm ${String(name)}`);
  return found;
}

/** Smallest RSA modulus the engine will sign with (NIST SP 800-57 Part 1 Rev. 5, 112-bit strength). */
const rsaMinModulusBits = 2048;

/**
 * The signature algorithm the CA uses with `key` (private or public): ecdsa-with-SHA256 for P-256,
 * ecdsa-with-SHA384 for P-384, sha256WithRSAEncryption for RSA, Ed25519 for Ed25519.
 */
export function signatureAlgorithmForKey(key: KeyObject): SignatureAlgorithm {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    if (details.namedCurve === 'prime256v1') return 'ecdsa-with-SHA256';
    if (details.namedCurve === 'secp384r1') return 'ecdsa-with-SHA384';
    throw new PkiError('ERR_KEY_UNSUPPORTED', `EC curve ${String(details.namedCurve)} is not supported`);
  }
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < rsaMinModulusBits) throw new PkiError('ERR_KEY_TOO_WEAK', `RSA ${bits} is below ${rsaMinModulusBits} bits`);
    return 'sha256WithRSAEncryption';
  }
  if (type === 'ed25519') return 'Ed25519';
  throw new PkiError('ERR_KEY_UNSUPPORTED', `key type ${String(type)} is not supported`);
}
