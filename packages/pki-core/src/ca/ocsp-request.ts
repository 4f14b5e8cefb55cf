// OCSP requests (RFC 6960 §4.1), read with the DER reader (der-reader.ts) as certificates are
// (cert-fields.ts): the CertIDs asked about and the nonce to echo. Every answer parses one request,
// so this walks TLVs without building an object graph.
//
//   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
//   TBSRequest  ::= SEQUENCE { version [0] v1, requestorName [1] OPTIONAL, requestList SEQUENCE OF Request,
//                              requestExtensions [2] EXPLICIT Extensions OPTIONAL }
//   Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
//   CertID      ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING,
//                              serialNumber CertificateSerialNumber }
//   Signature   ::= SEQUENCE { signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
// Anything else — bad DER (BER's indefinite or non-minimal lengths included), trailing bytes, no
// or too many requests, an oversized nonce — is an OcspRequestError, which the responder answers
// with `malformedRequest` (RFC 6960 §2.3).
import { PkiError } from '../errors.ts';
import { decodeOid } from './asn1-values.ts';
import { readCertificateFields, readExtensions, type RawExtension } from './cert-fields.ts';
import { children, content, DerError, readTop, whole, type Tlv } from './der-reader.ts';
import { bytesEqual, oid, Tag, toHex } from './der.ts';
import { normalizeSerialHex } from './serial.ts';

/** RFC 6960 §4.4.1 id-pkix-ocsp-nonce. */
export const OID_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';

/** The CertID hash algorithms answered (RFC 6960 §4.1.1 names SHA-1; RFC 5019 §2.1.1 allows SHA-256). */
export const OCSP_HASHES = { '1.3.14.3.2.26': 'sha1', '2.16.840.1.101.3.4.2.1': 'sha256' } as const;
export type OcspHash = (typeof OCSP_HASHES)[keyof typeof OCSP_HASHES];

/** A request larger than this is refused before parsing (RFC 5019 §2.1: one small request). */
export const OCSP_REQUEST_BYTES_MAX = 8 * 1024;
/** RFC 5019 §2.1.1 asks for one Request per OCSPRequest; a few are accepted, all for one issuer. */
const OCSP_REQUESTS_MAX = 8;
/** RFC 8954 §2.1: a nonce is 1 to 32 octets. */
const OCSP_NONCE_BYTES_MIN = 1;
const OCSP_NONCE_BYTES_MAX = 32;

export class OcspRequestError extends Error {
  readonly code = 'ERR_OCSP_REQUEST_MALFORMED';
  constructor(message: string) {
    super(message);
    this.name = 'OcspRequestError';
  }
}

export interface OcspCertId {
  /** The CertID as the request encoded it: SingleResponse.certID repeats it (RFC 6960 §4.2.1). */
  readonly der: Uint8Array;
  /** Null for a hash algorithm not in OCSP_HASHES (no issuer of ours can match it). */
  readonly hash: OcspHash | null;
  readonly issuerNameHashHex: string;
  readonly issuerKeyHashHex: string;
  /** Canonical serial (serial.ts); null for a zero, negative or oversized serial, which no CA of ours issues. */
  readonly serialHex: string | null;
}

export interface ParsedOcspRequest {
  readonly certIds: readonly OcspCertId[];
  /** The nonce extension's extnValue as sent (RFC 8954: echoed unchanged), if any. */
  readonly nonceExtnValue: Uint8Array | undefined;
}

/** The hash OIDs answered, as DER, for a byte comparison on every request. */
const HASH_OIDS_DER: readonly (readonly [Uint8Array, OcspHash])[] = Object.entries(OCSP_HASHES).map(([dotted, hash]) => [oid(dotted), hash] as const);
/** X.680 §8.4 context tags of the OCSP module (RFC 6960 Appendix B.1: EXPLICIT, so constructed). */
const CONTEXT_0 = 0xa0;
const CONTEXT_1 = 0xa1;
const CONTEXT_2 = 0xa2;

function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t?.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got ${t === undefined ? 'nothing' : `0x${t.tag.toString(16)}`}`);
  return t;
}

/** The one TLV inside an EXPLICIT tag (X.690 §8.14.3). */
function explicitInner(buf: Uint8Array, t: Tlv, what: string): Tlv {
  const inner = children(buf, t);
  if (inner.length !== 1) throw new DerError(`${what}: an EXPLICIT tag holds one value`);
  return inner[0]!;
}

/** RFC 5280 §4.1.1.2 AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }: the hash a CertID uses. */
function hashOf(buf: Uint8Array, t: Tlv): OcspHash | null {
  const parts = children(buf, expectTag(t, Tag.SEQUENCE, 'CertID hashAlgorithm'));
  const id = expectTag(parts[0], Tag.OID, 'CertID hashAlgorithm');
  if (parts.length > 2) throw new DerError('CertID hashAlgorithm: extra fields');
  const der = whole(buf, id);
  for (const [oidDer, hash] of HASH_OIDS_DER) if (bytesEqual(der, oidDer)) return hash;
  decodeOid(content(buf, id));
  return null;
}

function serialOf(integer: Uint8Array): string | null {
  if (integer.length === 0 || (integer[0]! & 0x80) !== 0) return null;
  try {
    return normalizeSerialHex(toHex(integer));
  } catch {
    return null;
  }
}

/** Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }. */
function certIdOf(buf: Uint8Array, request: Tlv): OcspCertId {
  const parts = children(buf, expectTag(request, Tag.SEQUENCE, 'Request'));
  const certId = expectTag(parts[0], Tag.SEQUENCE, 'Request reqCert');
  if (parts.length > 2) throw new DerError('Request: extra fields');
  if (parts[1] !== undefined) readExtensions(buf, expectTag(parts[1], CONTEXT_0, 'singleRequestExtensions'));
  const fields = children(buf, certId);
  if (fields.length !== 4) throw new DerError('CertID: four fields');
  return {
    der: buf.slice(certId.start, certId.end),
    hash: hashOf(buf, fields[0]!),
    issuerNameHashHex: toHex(content(buf, expectTag(fields[1], Tag.OCTET_STRING, 'CertID issuerNameHash'))),
    issuerKeyHashHex: toHex(content(buf, expectTag(fields[2], Tag.OCTET_STRING, 'CertID issuerKeyHash'))),
    serialHex: serialOf(content(buf, expectTag(fields[3], Tag.INTEGER, 'CertID serialNumber'))),
  };
}

/**
 * RFC 8954 §2.1: the nonce is an OCTET STRING inside extnValue, 1 to 32 octets. Longer or empty
 * nonces are refused as malformed rather than echoed.
 */
function nonceOf(extensions: ReadonlyMap<string, RawExtension>): Uint8Array | undefined {
  const extnValue = extensions.get(OID_OCSP_NONCE)?.value;
  if (extnValue === undefined) return undefined;
  let length = extnValue.length;
  try {
    const inner = readTop(extnValue, Tag.OCTET_STRING);
    length = inner.end - inner.contentStart;
  } catch (e) {
    // A nonce sent bare, not wrapped in an OCTET STRING: its octets are the nonce.
    if (!(e instanceof DerError)) throw e;
  }
  if (length < OCSP_NONCE_BYTES_MIN || length > OCSP_NONCE_BYTES_MAX) {
    throw new OcspRequestError(`nonce: ${length} octets, RFC 8954 allows ${OCSP_NONCE_BYTES_MIN}..${OCSP_NONCE_BYTES_MAX}`);
  }
  return Uint8Array.from(extnValue);
}

/** TBSRequest: version [0], requestorName [1] (both only checked for shape), requestList, requestExtensions [2]. */
function readTbsRequest(buf: Uint8Array, tbs: Tlv): ParsedOcspRequest {
  const parts = children(buf, expectTag(tbs, Tag.SEQUENCE, 'TBSRequest'));
  let next = 0;
  if (parts[next]?.tag === CONTEXT_0) expectTag(explicitInner(buf, parts[next++]!, 'version'), Tag.INTEGER, 'version');
  if (parts[next]?.tag === CONTEXT_1) explicitInner(buf, parts[next++]!, 'requestorName');
  const list = children(buf, expectTag(parts[next++], Tag.SEQUENCE, 'requestList'));
  const extensions = parts[next]?.tag === CONTEXT_2 ? readExtensions(buf, parts[next++]!) : new Map<string, RawExtension>();
  if (next !== parts.length) throw new DerError('TBSRequest: extra fields');
  if (list.length === 0 || list.length > OCSP_REQUESTS_MAX) throw new OcspRequestError(`requestList: 1..${OCSP_REQUESTS_MAX} requests`);
  return { certIds: list.map((r) => certIdOf(buf, r)), nonceExtnValue: nonceOf(extensions) };
}

/** Reads a DER OCSPRequest; throws OcspRequestError for anything RFC 6960 §4.1 does not allow. */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  if (der.length === 0 || der.length > OCSP_REQUEST_BYTES_MAX) throw new OcspRequestError(`request: 1..${OCSP_REQUEST_BYTES_MAX} bytes`);
  try {
    const parts = children(der, readTop(der, Tag.SEQUENCE));
    if (parts.length === 2) {
      // optionalSignature: only its shape; requests are answered unsigned or signed alike (RFC 6960 §4.1.2).
      const wrapped = explicitInner(der, expectTag(parts[1], CONTEXT_0, 'optionalSignature'), 'optionalSignature');
      const signature = children(der, expectTag(wrapped, Tag.SEQUENCE, 'Signature'));
      expectTag(signature[0], Tag.SEQUENCE, 'Signature signatureAlgorithm');
      expectTag(signature[1], Tag.BIT_STRING, 'Signature signature');
      if (signature.length > 3) throw new DerError('Signature: extra fields');
      if (signature[2] !== undefined) {
        const certs = expectTag(explicitInner(der, expectTag(signature[2], CONTEXT_0, 'Signature certs'), 'Signature certs'), Tag.SEQUENCE, 'Signature certs');
        for (const cert of children(der, certs)) readCertificateFields(whole(der, cert));
      }
    } else if (parts.length !== 1) {
      throw new DerError('OCSPRequest: one or two fields');
    }
    return readTbsRequest(der, parts[0]!);
  } catch (e) {
    // ERR_CERT_MALFORMED: a certificate in optionalSignature (cert-fields.ts).
    if (e instanceof DerError || e instanceof PkiError) throw new OcspRequestError(`request: not a DER OCSPRequest (${e.message})`);
    throw e;
  }
}
