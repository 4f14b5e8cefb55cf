// OCSP requests (RFC 6960 §4.1), read with pkijs: the CertIDs asked about and the nonce to echo.
//
//   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
//   TBSRequest  ::= SEQUENCE { version [0] v1, requestorName [1] OPTIONAL, requestList SEQUENCE OF Request,
//                              requestExtensions [2] EXPLICIT Extensions OPTIONAL }
//   CertID      ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING,
//                              serialNumber CertificateSerialNumber }
// Anything else — bad DER, trailing bytes, no or too many requests, an oversized nonce — is an
// OcspRequestError, which the responder answers with `malformedRequest` (RFC 6960 §2.3).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { normalizeSerialHex } from './serial.ts';
import { toHex } from './der.ts';

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

function serialOf(integer: asn1js.Integer): string | null {
  const bytes = integer.valueBlock.valueHexView;
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) return null;
  try {
    return normalizeSerialHex(toHex(bytes));
  } catch {
    return null;
  }
}

function certIdOf(request: pkijs.Request): OcspCertId {
  const id = request.reqCert;
  const oid = id.hashAlgorithm.algorithmId;
  return {
    der: new Uint8Array(id.toSchema().toBER()),
    hash: Object.hasOwn(OCSP_HASHES, oid) ? OCSP_HASHES[oid as keyof typeof OCSP_HASHES] : null,
    issuerNameHashHex: toHex(id.issuerNameHash.valueBlock.valueHexView),
    issuerKeyHashHex: toHex(id.issuerKeyHash.valueBlock.valueHexView),
    serialHex: serialOf(id.serialNumber),
  };
}

/**
 * RFC 8954 §2.1: the nonce is an OCTET STRING inside extnValue, 1 to 32 octets. Longer or empty
 * nonces are refused as malformed rather than echoed.
 */
function nonceOf(extensions: readonly pkijs.Extension[] | undefined): Uint8Array | undefined {
  const ext = extensions?.find((e) => e.extnID === OID_OCSP_NONCE);
  if (ext === undefined) return undefined;
  const extnValue = new Uint8Array(ext.extnValue.valueBlock.valueHexView);
  const inner = asn1js.fromBER(extnValue);
  const length = inner.offset === extnValue.length && inner.result instanceof asn1js.OctetString ? inner.result.valueBlock.valueHexView.length : extnValue.length;
  if (length < OCSP_NONCE_BYTES_MIN || length > OCSP_NONCE_BYTES_MAX) {
    throw new OcspRequestError(`nonce: ${length} octets, RFC 8954 allows ${OCSP_NONCE_BYTES_MIN}..${OCSP_NONCE_BYTES_MAX}`);
  }
  return extnValue;
}

/** Reads a DER OCSPRequest; throws OcspRequestError for anything RFC 6960 §4.1 does not allow. */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  if (der.length === 0 || der.length > OCSP_REQUEST_BYTES_MAX) throw new OcspRequestError(`request: 1..${OCSP_REQUEST_BYTES_MAX} bytes`);
  const top = asn1js.fromBER(der);
  if (top.offset !== der.length) throw new OcspRequestError('request: not one DER value');
  let request: pkijs.OCSPRequest;
  try {
    request = new pkijs.OCSPRequest({ schema: top.result });
  } catch (e) {
    throw new OcspRequestError(`request: not an OCSPRequest (${e instanceof Error ? e.message : String(e)})`);
  }
  const list = request.tbsRequest.requestList;
  if (list.length === 0 || list.length > OCSP_REQUESTS_MAX) throw new OcspRequestError(`requestList: 1..${OCSP_REQUESTS_MAX} requests`);
  return { certIds: list.map(certIdOf), nonceExtnValue: nonceOf(request.tbsRequest.requestExtensions) };
}
