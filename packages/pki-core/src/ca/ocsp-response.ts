// OCSP responses (RFC 6960 §4.2.1), built by DER concatenation like CRLs (crl.ts). The OCSP
// ASN.1 module uses EXPLICIT tags unless a field says IMPLICIT (RFC 6960 Appendix B.1):
//
//   OCSPResponse      ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
//   ResponseBytes     ::= SEQUENCE { responseType OID (id-pkix-ocsp-basic), response OCTET STRING }
//   BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature BIT STRING,
//                                    certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
//   ResponseData      ::= SEQUENCE { responderID, producedAt GeneralizedTime, responses SEQUENCE OF
//                                    SingleResponse, responseExtensions [1] EXPLICIT Extensions OPTIONAL }
//   ResponderID       ::= CHOICE { byName [1] Name, byKey [2] KeyHash }
//   SingleResponse    ::= SEQUENCE { certID, certStatus, thisUpdate GeneralizedTime,
//                                    nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL }
//   CertStatus        ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }
//   RevokedInfo       ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
import { signatureAlgorithmInfo } from './algorithms.ts';
import { CRL_REASONS, type CrlReason } from './crl-reasons.ts';
import { bitString, explicit, implicitConstructed, implicitPrimitive, integer, octetString, oid, sequence, Tag, tlv } from './der.ts';
import { extension, keyIdentifier } from './extensions.ts';
import { OID_OCSP_NONCE } from './ocsp-request.ts';
import type { Signer } from './signer.ts';

/** RFC 6960 §4.2.1 OCSPResponseStatus (4 is unused). */
const OCSP_RESPONSE_STATUS = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;
type OcspResponseStatus = keyof typeof OCSP_RESPONSE_STATUS;
/** The statuses sent without a signed body (RFC 6960 §2.3). */
export type OcspErrorStatus = Exclude<OcspResponseStatus, 'successful'>;

/** RFC 6960 §4.2.1 id-pkix-ocsp-basic. */
const OID_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';

export type OcspCertStatus =
  | { readonly kind: 'good' }
  | { readonly kind: 'revoked'; readonly revokedAt: Date; readonly reason: CrlReason }
  | { readonly kind: 'unknown' };

interface OcspSingleAnswer {
  /** The request's CertID, repeated byte for byte. */
  readonly certIdDer: Uint8Array;
  readonly status: OcspCertStatus;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

/**
 * What every answer of one responder repeats — its ResponderID (RFC 5019 §2.2.2 byKey), the
 * signature AlgorithmIdentifier and the `certs` field — encoded once (prepareOcspResponder), as a
 * CA's issuer fields are (issuer.ts `prepareIssuer`).
 */
export interface PreparedOcspResponder {
  readonly kind: 'preparedOcspResponder';
  readonly signer: Signer;
  readonly responderIdDer: Uint8Array;
  readonly algorithmIdDer: Uint8Array;
  /** `certs [0] EXPLICIT SEQUENCE OF Certificate` with the delegated responder's certificate; absent when the CA signs. */
  readonly certsDer: Uint8Array | undefined;
}

interface OcspResponderInput {
  /** The responder's key: a delegated responder's (RFC 6960 §4.2.2.2) or the issuing CA's own. */
  readonly signer: Signer;
  /** A delegated responder's certificate, sent in `certs` so clients can check it; absent when the CA signs. */
  readonly responderCertDer?: Uint8Array;
}

export type BuildOcspResponseInput = (OcspResponderInput | { readonly responder: PreparedOcspResponder }) & {
  readonly producedAt: Date;
  readonly answers: readonly OcspSingleAnswer[];
  /** The request nonce's extnValue, echoed (RFC 8954 §2.1). */
  readonly nonceExtnValue?: Uint8Array;
};

/** Encodes the parts of a response that depend only on the responder (see PreparedOcspResponder). */
export function prepareOcspResponder(signer: Signer, responderCertDer?: Uint8Array): PreparedOcspResponder {
  return Object.freeze({
    kind: 'preparedOcspResponder',
    signer,
    responderIdDer: explicit(2, octetString(keyIdentifier(signer.spkiDer))),
    algorithmIdDer: signatureAlgorithmInfo(signer.algorithm).algorithmIdentifierDer,
    certsDer: responderCertDer === undefined ? undefined : explicit(0, sequence(responderCertDer)),
  });
}

/** The last time encoded: an answer's producedAt and thisUpdate, and every answer within one second, repeat it. */
let lastTime: { ms: number; der: Uint8Array } = { ms: Number.NaN, der: new Uint8Array(0) };

/** RFC 6960 §4.2.2.1: GeneralizedTime, UTC, whole seconds (YYYYMMDDHHMMSSZ). */
function generalizedTime(date: Date): Uint8Array {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new TypeError('OCSP: an invalid Date');
  if (ms === lastTime.ms) return lastTime.der;
  const text = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:T]/g, '');
  lastTime = { ms, der: tlv(Tag.GENERALIZED_TIME, new TextEncoder().encode(text)) };
  return lastTime.der;
}

function certStatus(status: OcspCertStatus): Uint8Array {
  switch (status.kind) {
    case 'good':
      return implicitPrimitive(0, new Uint8Array(0));
    case 'unknown':
      return implicitPrimitive(2, new Uint8Array(0));
    case 'revoked': {
      const code = CRL_REASONS[status.reason];
      if (code === undefined) throw new TypeError(`OCSP: unknown revocation reason ${String(status.reason)}`);
      const parts = [generalizedTime(status.revokedAt)];
      // As in CRL entries (crl.ts): no reason for 'unspecified' (RFC 5280 §5.3.1).
      if (code !== CRL_REASONS.unspecified) parts.push(explicit(0, integer(code, Tag.ENUMERATED)));
      return implicitConstructed(1, ...parts);
    }
  }
}

function singleResponse(answer: OcspSingleAnswer): Uint8Array {
  if (answer.nextUpdate.getTime() <= answer.thisUpdate.getTime()) throw new TypeError('OCSP: nextUpdate must be later than thisUpdate');
  return sequence(answer.certIdDer, certStatus(answer.status), generalizedTime(answer.thisUpdate), explicit(0, generalizedTime(answer.nextUpdate)));
}

function responseStatus(status: OcspResponseStatus): Uint8Array {
  return integer(OCSP_RESPONSE_STATUS[status], Tag.ENUMERATED);
}

const SUCCESSFUL_DER = responseStatus('successful');

/** An unsigned answer without a body: malformedRequest, internalError, tryLater, sigRequired or unauthorized. */
export function ocspErrorResponse(status: OcspErrorStatus): Uint8Array {
  return sequence(responseStatus(status));
}

/** A signed `successful` OCSPResponse (RFC 6960 §4.2.1) with the responder named by key hash (RFC 5019 §2.2.2). */
export async function buildOcspResponse(input: BuildOcspResponseInput): Promise<Uint8Array> {
  if (input.answers.length === 0) throw new TypeError('OCSP: at least one answer is required');
  const responder = 'responder' in input ? input.responder : prepareOcspResponder(input.signer, input.responderCertDer);
  const parts = [responder.responderIdDer, generalizedTime(input.producedAt), sequence(...input.answers.map(singleResponse))];
  if (input.nonceExtnValue !== undefined) {
    parts.push(explicit(1, sequence(extension(OID_OCSP_NONCE, false, input.nonceExtnValue))));
  }
  const tbs = sequence(...parts);
  const signature = await responder.signer.sign(tbs);
  const basic = [tbs, responder.algorithmIdDer, bitString(signature)];
  if (responder.certsDer !== undefined) basic.push(responder.certsDer);
  const responseBytes = sequence(oid(OID_OCSP_BASIC), octetString(sequence(...basic)));
  return sequence(SUCCESSFUL_DER, explicit(0, responseBytes));
}
