// Delegated OCSP responder certificates (RFC 6960 §4.2.2.2): issued directly by the CA whose
// certificates the responder answers for, with extKeyUsage id-kp-OCSPSigning, and with
// id-pkix-ocsp-nocheck (§4.2.2.2.1) so clients do not ask about the responder itself — which is
// why these certificates are short-lived (docs/architecture.md §14).
import { assembleCertificate, buildTbsCertificate, checkValidity } from './certificate.ts';
import { NULL_DER } from './der.ts';
import {
  basicConstraintsExtension,
  extension,
  extKeyUsageExtension,
  keyIdentifier,
  keyUsageExtension,
  subjectKeyIdentifierExtension,
} from './extensions.ts';
import type { IssuedCertificate } from './issue.ts';
import { prepareIssuer, type PreparedIssuer } from './issuer.ts';
import { toPem } from './pem.ts';
import { normalizeSerialHex } from './serial.ts';
import type { Signer } from './signer.ts';

/** RFC 6960 §4.2.2.2.1 id-pkix-ocsp-nocheck. */
const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

export interface OcspResponderCertificateInput {
  /** The CA that delegates: its certificate and signer, or both prepared. */
  readonly issuer: { readonly certDer: Uint8Array; readonly signer: Signer } | PreparedIssuer;
  readonly subjectDer: Uint8Array;
  /** The responder's public key. */
  readonly spkiDer: Uint8Array;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** The fixed extensions of every responder certificate, after SKI and AKI. */
const RESPONDER_EXTENSIONS: readonly Uint8Array[] = Object.freeze([
  basicConstraintsExtension({ ca: false }),
  keyUsageExtension(['digitalSignature']),
  extKeyUsageExtension(['ocspSigning']),
  extension(OID_OCSP_NOCHECK, false, NULL_DER),
]);

/** Issues a delegated responder certificate; it may not outlive its issuer (TypeError otherwise). */
export async function issueOcspResponderCertificate(input: OcspResponderCertificateInput): Promise<IssuedCertificate> {
  const issuer = 'kind' in input.issuer ? input.issuer : prepareIssuer(input.issuer.certDer, input.issuer.signer);
  const validity = checkValidity(input.notBefore, input.notAfter);
  if (validity.notAfter.getTime() > issuer.notAfter.getTime()) throw new TypeError('OCSP responder certificate: notAfter is after the issuer expires');
  const serialHex = normalizeSerialHex(input.serial);
  const tbs = buildTbsCertificate({
    serialHex,
    signatureAlgorithm: issuer.signer.algorithm,
    issuerNameDer: issuer.nameDer,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    subjectNameDer: input.subjectDer,
    spkiDer: input.spkiDer,
    extensions: [subjectKeyIdentifierExtension(keyIdentifier(input.spkiDer)), issuer.akiExtension, ...RESPONDER_EXTENSIONS],
  });
  const der = assembleCertificate(tbs, issuer.signer.algorithm, await issuer.signer.sign(tbs));
  return { der, pem: toPem(der), serialHex };
}
