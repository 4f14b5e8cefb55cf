// The Certificate and TBSCertificate structures of RFC 5280 §4.1, built from precomputed DER
// pieces by concatenation (no ASN.1 object graph on the hot path).
//
//   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
//   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT v3, serialNumber, signature, issuer,
//                                 validity, subject, subjectPublicKeyInfo, extensions [3] EXPLICIT }
import { PkiError } from '../errors.ts';
import { signatureAlgorithmInfo, type SignatureAlgorithm } from './algorithms.ts';
import { bitString, sequence, tlv } from './der.ts';
import { encodeSerial } from './serial.ts';
import { encodeTime, truncateToSeconds } from './time.ts';

/** `[0] EXPLICIT INTEGER 2` — v3, required because the CA always emits extensions (§4.1.2.1). */
const VERSION_V3 = Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02);

export interface TbsCertificateInput {
  readonly serialHex: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The issuer's subject Name, DER (byte-identical, RFC 5280 §4.1.2.4). */
  readonly issuerNameDer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectNameDer: Uint8Array;
  readonly spkiDer: Uint8Array;
  /** Whole `Extension` TLVs, in the order they should appear; at least one. */
  readonly extensions: readonly Uint8Array[];
}

/** Checks validity input and returns the dates truncated to whole seconds. */
export function checkValidity(notBefore: Date, notAfter: Date): { notBefore: Date; notAfter: Date } {
  const nb = truncateToSeconds(notBefore);
  const na = truncateToSeconds(notAfter);
  if (na.getTime() <= nb.getTime()) {
    throw new PkiError('ERR_LIFETIME_INVALID', 'notAfter must be later than notBefore', { field: 'notAfter' });
  }
  return { notBefore: nb, notAfter: na };
}

/** DER of a TBSCertificate: the bytes a signer signs (offline roots sign these out of band). */
export function buildTbsCertificate(input: TbsCertificateInput): Uint8Array {
  if (input.extensions.length === 0) throw new TypeError('buildTbsCertificate: a v3 certificate needs extensions here');
  const { notBefore, notAfter } = checkValidity(input.notBefore, input.notAfter);
  return sequence(
    VERSION_V3,
    encodeSerial(input.serialHex),
    signatureAlgorithmInfo(input.signatureAlgorithm).algorithmIdentifierDer,
    input.issuerNameDer,
    sequence(encodeTime(notBefore), encodeTime(notAfter)),
    input.subjectNameDer,
    input.spkiDer,
    tlv(0xa3, sequence(...input.extensions)),
  );
}

/**
 * Joins a TBSCertificate and its signature. RFC 5280 §4.1.1.2: signatureAlgorithm MUST equal the
 * `signature` field inside the TBS; we write the same precomputed bytes into both.
 */
export function assembleCertificate(tbsDer: Uint8Array, algorithm: SignatureAlgorithm, signature: Uint8Array): Uint8Array {
  if (signature.length === 0) throw new TypeError('assembleCertificate: empty signature');
  return sequence(tbsDer, signatureAlgorithmInfo(algorithm).algorithmIdentifierDer, bitString(signature));
}
