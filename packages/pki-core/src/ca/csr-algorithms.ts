// What a CSR may carry as its subject key and its signature algorithm. Subject keys: ECDSA on
// P-256/P-384 with a named curve (RFC 5480 §2.1.1), RSA of 2048–8192 bits with an odd public
// exponent ≥ 3 (CA/B BR §6.1.6), Ed25519 (RFC 8410 §3, parameters absent). Signatures: ECDSA and
// PKCS#1 v1.5 with SHA-2 (RFC 5758 §3.2, RFC 4055 §5) and Ed25519; SHA-1 and MD5 are refused.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { decodeOid } from './asn1-values.ts';
import { children, content, DerError, readTop } from './der-reader.ts';
import { Tag } from './der.ts';

export type CsrKeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa' | 'ed25519';
export const CSR_KEY_TYPES: readonly CsrKeyType[] = ['ecdsa-p256', 'ecdsa-p384', 'rsa', 'ed25519'];

/** NIST SP 800-57 Part 1 Rev. 5: 112-bit security at the least. */
const csrRsaMinBits = 2048;
/** Larger moduli buy nothing and make verification a denial-of-service lever. */
const csrRsaMaxBits = 8192;

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ed25519: '1.3.101.112',
} as const;

// Names for the refusals people meet most, so the message says what was sent.
const KNOWN_UNSUPPORTED: Record<string, string> = {
  '1.3.132.0.35': 'ECDSA P-521',
  '1.3.132.0.10': 'ECDSA secp256k1',
  '1.2.840.10040.4.1': 'DSA',
  '1.3.101.113': 'Ed448',
  '1.3.101.110': 'X25519',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
};

export interface CsrKey {
  readonly keyType: CsrKeyType;
  readonly publicKey: KeyObject;
  readonly rsaBits?: number;
}

function describe(oid: string): string {
  return KNOWN_UNSUPPORTED[oid] ?? `OID ${oid}`;
}

/** The algorithm OID and the raw parameters TLV (or null) of an AlgorithmIdentifier DER. */
function readAlgorithmIdentifier(der: Uint8Array): { oid: string; params: Uint8Array | null } {
  const parts = children(der, readTop(der, Tag.SEQUENCE));
  const [id, params, extra] = parts;
  if (id === undefined || id.tag !== Tag.OID || extra !== undefined) throw new DerError('AlgorithmIdentifier: not {OID, params?}');
  return { oid: decodeOid(content(der, id)), params: params === undefined ? null : der.subarray(params.start, params.end) };
}

/** Classifies and imports the subject key of a CSR; refusals are ERR_KEY_UNSUPPORTED / ERR_KEY_TOO_WEAK. */
export function importCsrKey(spkiDer: Uint8Array, algorithmDer: Uint8Array): CsrKey {
  const { oid, params } = readAlgorithmIdentifier(algorithmDer);
  let keyType: CsrKeyType;
  if (oid === OID.ecPublicKey) {
    // RFC 5480 §2.1.1: namedCurve only; implicitCurve and specifiedCurve MUST NOT be used.
    if (params === null || params[0] !== Tag.OID) throw new PkiError('ERR_KEY_UNSUPPORTED', 'EC key without a named curve', { field: 'csr.publicKey' });
    const curve = decodeOid(content(params, readTop(params, Tag.OID)));
    if (curve === OID.p256) keyType = 'ecdsa-p256';
    else if (curve === OID.p384) keyType = 'ecdsa-p384';
    else throw new PkiError('ERR_KEY_UNSUPPORTED', `${describe(curve)} keys are not accepted (P-256, P-384, RSA, Ed25519 are)`, { field: 'csr.publicKey' });
  } else if (oid === OID.rsaEncryption) {
    keyType = 'rsa';
  } else if (oid === OID.ed25519 && params === null) {
    keyType = 'ed25519';
  } else {
    throw new PkiError('ERR_KEY_UNSUPPORTED', `${describe(oid)} keys are not accepted (P-256, P-384, RSA, Ed25519 are)`, { field: 'csr.publicKey' });
  }
  let publicKey: KeyObject;
  try {
    publicKey = importByJwk(keyType, spkiDer) ?? createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new PkiError('ERR_CSR_MALFORMED', 'the CSR public key does not decode', { field: 'csr.publicKey', cause });
  }
  if (keyType !== 'rsa') return { keyType, publicKey };
  return { keyType, publicKey, rsaBits: checkRsa(publicKey) };
}

/** Coordinate size in bytes of the curves we accept (SEC 1 §2.3.3 uncompressed point: 04 ‖ X ‖ Y). */
const coordinateBytes: Partial<Record<CsrKeyType, number>> = { 'ecdsa-p256': 32, 'ecdsa-p384': 48 };

/**
 * Imports an uncompressed EC point or an Ed25519 key through JWK (RFC 7518 §6.2, RFC 8037 §2):
 * OpenSSL 3's DER decoder framework costs ~1.6× (P-256) to ~12× (Ed25519) more per key, and key
 * import dominates CSR parsing. The curve check still happens (JWK EC import rejects points off
 * the curve). Null: take the general DER path (RSA, compressed points).
 */
function importByJwk(keyType: CsrKeyType, spkiDer: Uint8Array): KeyObject | null {
  const bits = subjectPublicKeyBytes(spkiDer);
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  if (keyType === 'ed25519') {
    if (bits.length !== 32) return null;
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64(bits) }, format: 'jwk' });
  }
  const n = coordinateBytes[keyType];
  if (n === undefined || bits.length !== 1 + 2 * n || bits[0] !== 0x04) return null;
  const crv = keyType === 'ecdsa-p256' ? 'P-256' : 'P-384';
  return createPublicKey({ key: { kty: 'EC', crv, x: b64(bits.subarray(1, 1 + n)), y: b64(bits.subarray(1 + n)) }, format: 'jwk' });
}

/** The subjectPublicKey BIT STRING's bytes (no unused bits allowed). */
function subjectPublicKeyBytes(spkiDer: Uint8Array): Uint8Array {
  const [, key] = children(spkiDer, readTop(spkiDer, Tag.SEQUENCE));
  if (key === undefined || key.tag !== Tag.BIT_STRING) throw new DerError('SubjectPublicKeyInfo: no BIT STRING');
  const c = content(spkiDer, key);
  if (c.length < 1 || c[0] !== 0) throw new DerError('subjectPublicKey has unused bits');
  return c.subarray(1);
}

function checkRsa(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const e = key.asymmetricKeyDetails?.publicExponent ?? 0n;
  if (bits < csrRsaMinBits) throw new PkiError('ERR_KEY_TOO_WEAK', `RSA ${bits}-bit keys are below ${csrRsaMinBits} bits`, { field: 'csr.publicKey' });
  if (bits > csrRsaMaxBits) throw new PkiError('ERR_KEY_UNSUPPORTED', `RSA ${bits}-bit keys are above ${csrRsaMaxBits} bits`, { field: 'csr.publicKey' });
  if (e < 3n || e % 2n === 0n) throw new PkiError('ERR_KEY_TOO_WEAK', `RSA public exponent ${e} is not odd and ≥ 3`, { field: 'csr.publicKey' });
  return bits;
}

interface CsrSignatureAlgorithm {
  readonly name: string;
  /** node:crypto digest; null for Ed25519. */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
  readonly family: 'ecdsa' | 'rsa' | 'ed25519';
  /** RFC 4055 §5: PKCS#1 v1.5 identifiers carry NULL parameters; the others carry none. */
  readonly params: 'absent' | 'null-or-absent';
}

const SIGNATURE_ALGORITHMS: Record<string, CsrSignatureAlgorithm> = {
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', digest: 'sha256', family: 'ecdsa', params: 'absent' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', digest: 'sha384', family: 'ecdsa', params: 'absent' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', digest: 'sha512', family: 'ecdsa', params: 'absent' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', digest: 'sha256', family: 'rsa', params: 'null-or-absent' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', digest: 'sha384', family: 'rsa', params: 'null-or-absent' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', digest: 'sha512', family: 'rsa', params: 'null-or-absent' },
  '1.3.101.112': { name: 'Ed25519', digest: null, family: 'ed25519', params: 'absent' },
};

/** The signature algorithm of a CSR, checked against its key type. */
export function csrSignatureAlgorithm(algorithmDer: Uint8Array, keyType: CsrKeyType): CsrSignatureAlgorithm {
  const { oid, params } = readAlgorithmIdentifier(algorithmDer);
  const alg = SIGNATURE_ALGORITHMS[oid];
  if (alg === undefined) {
    throw new PkiError('ERR_CSR_UNSUPPORTED_SIGNATURE_ALGORITHM', `CSR signature algorithm ${describe(oid)} is not accepted`, {
      field: 'csr.signatureAlgorithm',
    });
  }
  const nullParams = params !== null && params.length === 2 && params[0] === Tag.NULL && params[1] === 0;
  if (params !== null && !(alg.params === 'null-or-absent' && nullParams)) {
    throw new PkiError('ERR_CSR_MALFORMED', `${alg.name} with unexpected parameters`, { field: 'csr.signatureAlgorithm' });
  }
  const family = keyType === 'rsa' ? 'rsa' : keyType === 'ed25519' ? 'ed25519' : 'ecdsa';
  if (alg.family !== family) {
    throw new PkiError('ERR_CSR_SIGNATURE', `a ${alg.name} signature cannot be made by a ${keyType} key`, { field: 'csr.signature' });
  }
  return alg;
}
