// Certificate issuance (RFC 5280 §4): roots, intermediates and leaves, from DER pieces. The
// caller supplies every input — subject, key, SANs, serial, validity, extension choices and the
// signer — so issuance is a pure function of its inputs plus the signature
// (docs/architecture.md §4).
import { PkiError } from '../errors.ts';
import { assembleCertificate, buildTbsCertificate, checkValidity } from './certificate.ts';
import { readTop } from './der-reader.ts';
import { Tag, bytesEqual } from './der.ts';
import {
  authorityInfoAccessExtension,
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  crlDistributionPointsExtension,
  extKeyUsageExtension,
  keyIdentifier,
  keyUsageExtension,
  nameConstraintsExtension,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
  type BasicConstraintsChoice,
  type ExtensionChoices,
  type NameConstraintsChoice,
} from './extensions.ts';
import type { GeneralNameInput } from './general-names.ts';
import { prepareIssuer, signChecked, verifySignature, type PreparedIssuer } from './issuer.ts';
import { toPem } from './pem.ts';
import { normalizeSerialHex } from './serial.ts';
import type { Signer } from './signer.ts';

export type { ExtensionChoices };

type IssuerRef =
  | { readonly certDer: Uint8Array; readonly signer: Signer }
  | { readonly selfSigned: true; readonly signer: Signer }
  | PreparedIssuer;

export interface IssueCertificateInput {
  readonly issuer: IssuerRef;
  /** The subject Name, DER; `30 00` (empty) requires SANs, which then become critical. */
  readonly subjectDer: Uint8Array;
  readonly spkiDer: Uint8Array;
  readonly sans?: readonly GeneralNameInput[];
  /** Serial as hex (see `randomSerial`); unique per issuer, chosen by the caller. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: ExtensionChoices;
}

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  /** Canonical serial hex (serial.ts). */
  readonly serialHex: string;
}

const EMPTY_NAME = Uint8Array.of(0x30, 0x00);

/** Encoded profile-level extensions, memoized per choices object: profiles are reused across leaves. */
const staticExtensionCache = new WeakMap<ExtensionChoices, readonly Uint8Array[]>();

function staticExtensions(choices: ExtensionChoices): readonly Uint8Array[] {
  const hit = staticExtensionCache.get(choices);
  if (hit !== undefined) return hit;
  checkExtensionChoices(choices);
  const out: Uint8Array[] = [];
  if (choices.basicConstraints !== undefined) out.push(basicConstraintsExtension(choices.basicConstraints));
  if (choices.keyUsage !== undefined) out.push(keyUsageExtension(choices.keyUsage));
  if (choices.extKeyUsage !== undefined) out.push(extKeyUsageExtension(choices.extKeyUsage));
  const tail: Uint8Array[] = [];
  if (choices.nameConstraints !== undefined) tail.push(nameConstraintsExtension(choices.nameConstraints));
  if (choices.crlDistributionPoints !== undefined) tail.push(crlDistributionPointsExtension(choices.crlDistributionPoints));
  if (choices.authorityInfoAccess !== undefined) tail.push(authorityInfoAccessExtension(choices.authorityInfoAccess));
  const result = Object.freeze([Object.freeze(out), Object.freeze(tail)].flat());
  staticExtensionCache.set(choices, result);
  return result;
}

/** Misuse of the builder (inconsistent profile output) is a TypeError, per STYLE.md. */
function checkExtensionChoices(c: ExtensionChoices): void {
  const isCa = c.basicConstraints?.ca === true;
  const certSign = c.keyUsage?.includes('keyCertSign') === true;
  // RFC 5280 §4.2.1.9: keyCertSign MUST NOT be asserted unless cA is; §4.2.1.3: a CA certificate
  // MUST carry keyUsage, and keyCertSign is what lets it sign certificates.
  if (certSign && !isCa) throw new TypeError('extensions: keyCertSign requires basicConstraints cA');
  if (isCa && !certSign) throw new TypeError('extensions: a CA certificate needs keyUsage keyCertSign');
  // RFC 5280 §4.2.1.10: name constraints MUST be used only in a CA certificate.
  if (c.nameConstraints !== undefined && !isCa) throw new TypeError('extensions: nameConstraints only in CA certificates');
}

function checkStructure(der: Uint8Array, field: string, code: 'ERR_SUBJECT_INVALID' | 'ERR_KEY_MALFORMED'): void {
  try {
    readTop(der, Tag.SEQUENCE);
  } catch (cause) {
    throw new PkiError(code, `${field} is not a DER SEQUENCE`, { field, cause });
  }
}

/**
 * A TBSCertificate ready for signing, and how to finish it. `issueCertificate` signs at once; an
 * offline root exports `tbsDer`, has it signed out of band, and calls `completeCertificate`.
 */
export interface UnsignedCertificate {
  readonly tbsDer: Uint8Array;
  readonly serialHex: string;
  /** The signer that must sign `tbsDer` (its algorithm is already written into the TBS). */
  readonly signer: Signer;
  readonly isCa: boolean;
}

/** Builds (but does not sign) a certificate: every check of `issueCertificate` happens here. */
export function buildUnsignedCertificate(input: IssueCertificateInput): UnsignedCertificate {
  checkStructure(input.subjectDer, 'subjectDer', 'ERR_SUBJECT_INVALID');
  const subjectKeyId = keyIdentifier(input.spkiDer); // also validates the SPKI
  const { signer } = input.issuer;
  const validity = checkValidity(input.notBefore, input.notAfter);
  let issuerNameDer: Uint8Array;
  let akiExtension: Uint8Array;
  if ('selfSigned' in input.issuer) {
    if (!bytesEqual(signer.spkiDer, input.spkiDer)) {
      throw new PkiError('ERR_SIGNER_MISMATCH', 'a self-signed certificate must carry the signer key', { field: 'spkiDer' });
    }
    issuerNameDer = input.subjectDer;
    akiExtension = authorityKeyIdentifierExtension(subjectKeyId);
  } else {
    const issuer = 'kind' in input.issuer ? input.issuer : prepareIssuer(input.issuer.certDer, signer);
    // A certificate never outlives its issuer: relying parties would reject the tail of its life.
    if (validity.notAfter.getTime() > issuer.notAfter.getTime()) {
      throw new PkiError('ERR_LIFETIME_EXCEEDS_ISSUER', `notAfter ${validity.notAfter.toISOString()} is after the issuer's ${issuer.notAfter.toISOString()}`, {
        field: 'notAfter',
      });
    }
    // RFC 5280 §4.2.1.9: pathLenConstraint 0 means no intermediate CA may follow this issuer.
    if (issuer.pathLen === 0 && input.extensions.basicConstraints?.ca === true) {
      throw new TypeError('issueCertificate: the issuer has pathLen 0 and cannot issue a CA certificate');
    }
    issuerNameDer = issuer.nameDer;
    akiExtension = issuer.akiExtension;
  }
  const extensions = [subjectKeyIdentifierExtension(subjectKeyId), akiExtension, ...sanExtension(input), ...staticExtensions(input.extensions)];
  const serialHex = normalizeSerialHex(input.serial);
  const tbsDer = buildTbsCertificate({
    serialHex,
    signatureAlgorithm: signer.algorithm,
    issuerNameDer,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    subjectNameDer: input.subjectDer,
    spkiDer: input.spkiDer,
    extensions,
  });
  return { tbsDer, serialHex, signer, isCa: input.extensions.basicConstraints?.ca === true };
}

/**
 * Joins an unsigned certificate and a signature made elsewhere, after checking the signature
 * with the signer's public key (ERR_SIGNER_MISMATCH if it does not verify).
 */
export function completeCertificate(unsigned: UnsignedCertificate, signature: Uint8Array): IssuedCertificate {
  const { signer, tbsDer } = unsigned;
  if (!verifySignature(signer.spkiDer, signer.algorithm, tbsDer, signature)) {
    throw new PkiError('ERR_SIGNER_MISMATCH', "the signature does not verify with the issuer's key", { field: 'signature' });
  }
  const der = assembleCertificate(tbsDer, signer.algorithm, signature);
  return { der, pem: toPem(der), serialHex: unsigned.serialHex };
}

/** Issues a certificate. Signs once; CA certificates are also verified after signing. */
export async function issueCertificate(input: IssueCertificateInput): Promise<IssuedCertificate> {
  const unsigned = buildUnsignedCertificate(input);
  const { signer, tbsDer } = unsigned;
  // Leaves skip the self-check: it would cost a verification per leaf on the hot path.
  const signature = unsigned.isCa ? await signChecked(signer, tbsDer) : await signer.sign(tbsDer);
  const der = assembleCertificate(tbsDer, signer.algorithm, signature);
  return { der, pem: toPem(der), serialHex: unsigned.serialHex };
}

function sanExtension(input: IssueCertificateInput): Uint8Array[] {
  const sans = input.sans ?? [];
  const emptySubject = bytesEqual(input.subjectDer, EMPTY_NAME);
  if (sans.length === 0) {
    if (emptySubject) throw new PkiError('ERR_SUBJECT_INVALID', 'an empty subject requires subjectAltName (RFC 5280 §4.1.2.6)', { field: 'subjectDer' });
    return [];
  }
  return [subjectAltNameExtension(sans, emptySubject)];
}

export interface CreateRootCertificateInput {
  readonly signer: Signer;
  readonly subjectDer: Uint8Array;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Omitted: no path length limit. The default hierarchy root → AZ ICA → node ICA needs ≥ 1. */
  readonly pathLen?: number;
  readonly nameConstraints?: NameConstraintsChoice;
}

/** A self-signed root CA certificate: cA with keyCertSign and cRLSign (RFC 5280 §4.2.1.3, §4.2.1.9). */
export function createRootCertificate(input: CreateRootCertificateInput): Promise<IssuedCertificate> {
  if (bytesEqual(input.subjectDer, EMPTY_NAME)) {
    throw new PkiError('ERR_SUBJECT_INVALID', 'a CA subject must not be empty (RFC 5280 §4.1.2.6)', { field: 'subjectDer' });
  }
  const basicConstraints: BasicConstraintsChoice = input.pathLen === undefined ? { ca: true } : { ca: true, pathLen: input.pathLen };
  const extensions: ExtensionChoices = {
    basicConstraints,
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
    ...(input.nameConstraints === undefined ? {} : { nameConstraints: input.nameConstraints }),
  };
  return issueCertificate({
    issuer: { selfSigned: true, signer: input.signer },
    subjectDer: input.subjectDer,
    spkiDer: input.signer.spkiDer,
    serial: input.serial,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    extensions,
  });
}
