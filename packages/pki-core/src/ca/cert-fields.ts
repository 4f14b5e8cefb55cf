// Lifts the fields the issuance path needs out of a certificate's DER with the small reader —
// no pkijs object graph — so preparing an issuer or checking a chain link costs microseconds.
// The full, read-only inspection view is CertificateView (view.ts).
import { PkiError } from '../errors.ts';
import { decodeOid } from './asn1-values.ts';
import { DerError, children, content, readTop, whole, type Tlv } from './der-reader.ts';
import { Tag } from './der.ts';
import { KEY_USAGES, type KeyUsage } from './extensions.ts';
import { OID_EXT } from './oids.ts';
import { serialHexFromContent } from './serial.ts';
import { decodeTime } from './time.ts';

export interface RawExtension {
  readonly critical: boolean;
  /** The content of extnValue (the DER of the extension's own structure). */
  readonly value: Uint8Array;
}

export interface CertificateFields {
  readonly der: Uint8Array;
  readonly tbsDer: Uint8Array;
  readonly serialHex: string;
  readonly signatureAlgorithmDer: Uint8Array;
  readonly issuerNameDer: Uint8Array;
  readonly subjectNameDer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spkiDer: Uint8Array;
  /** Keyed by dotted OID. */
  readonly extensions: ReadonlyMap<string, RawExtension>;
  readonly signatureValue: Uint8Array;
}

/**
 * RFC 5280 §4.1 `[n] EXPLICIT Extensions` (a certificate's [3], an OCSP request's [2] and [0]:
 * ocsp-request.ts), keyed by dotted OID; DerError on a malformed or repeated extension.
 */
export function readExtensions(der: Uint8Array, wrapper: Tlv): Map<string, RawExtension> {
  const out = new Map<string, RawExtension>();
  const [list, ...more] = children(der, wrapper);
  if (list === undefined || list.tag !== Tag.SEQUENCE || more.length > 0) throw new DerError('DER: extensions are not one SEQUENCE');
  for (const ext of children(der, list)) {
    const parts = children(der, ext);
    const id = parts[0];
    const last = parts[parts.length - 1];
    if (id?.tag !== Tag.OID || last?.tag !== Tag.OCTET_STRING || parts.length > 3 || (parts.length === 3 && parts[1]!.tag !== Tag.BOOLEAN)) {
      throw new DerError('DER: bad Extension');
    }
    const critical = parts.length === 3 && content(der, parts[1]!)[0] === 0xff;
    const dotted = decodeOid(content(der, id));
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (out.has(dotted)) throw new DerError(`DER: duplicate extension ${dotted}`);
    out.set(dotted, { critical, value: content(der, last) });
  }
  return out;
}

/** Parses the RFC 5280 §4.1 skeleton of a certificate; ERR_CERT_MALFORMED on anything else. */
export function readCertificateFields(der: Uint8Array): CertificateFields {
  try {
    const cert = readTop(der, Tag.SEQUENCE);
    const [tbs, sigAlg, sigValue] = children(der, cert);
    if (tbs?.tag !== Tag.SEQUENCE || sigAlg?.tag !== Tag.SEQUENCE || sigValue?.tag !== Tag.BIT_STRING) {
      throw new DerError('DER: not a Certificate');
    }
    const f = children(der, tbs);
    let i = f[0]?.tag === 0xa0 ? 1 : 0; // version is optional (v1)
    const [serial, , issuer, validity, subject, spki] = f.slice(i, i + 6);
    i += 6;
    if (serial?.tag !== Tag.INTEGER || issuer?.tag !== Tag.SEQUENCE || validity?.tag !== Tag.SEQUENCE || subject?.tag !== Tag.SEQUENCE || spki?.tag !== Tag.SEQUENCE) {
      throw new DerError('DER: not a TBSCertificate');
    }
    const [nb, na] = children(der, validity);
    if (nb === undefined || na === undefined) throw new DerError('DER: bad Validity');
    const extWrapper = f.slice(i).find((t) => t.tag === 0xa3);
    const sig = content(der, sigValue);
    return {
      der,
      tbsDer: whole(der, tbs),
      serialHex: serialHexFromContent(content(der, serial)),
      signatureAlgorithmDer: whole(der, sigAlg),
      issuerNameDer: whole(der, issuer),
      subjectNameDer: whole(der, subject),
      notBefore: decodeTime(nb.tag, content(der, nb)),
      notAfter: decodeTime(na.tag, content(der, na)),
      spkiDer: whole(der, spki),
      extensions: extWrapper === undefined ? new Map() : readExtensions(der, extWrapper),
      signatureValue: sig.subarray(1),
    };
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError('ERR_CERT_MALFORMED', `certificate is malformed: ${(cause as Error).message}`, { field: 'certificate', cause });
  }
}

/** The keyIdentifier of a SubjectKeyIdentifier extension, if present. */
/** RFC 5280 §4.2.1.1: the keyIdentifier [0] of the authority key identifier, when present. */
export function authorityKeyIdOf(fields: CertificateFields): Uint8Array | undefined {
  const ext = fields.extensions.get(OID_EXT.authorityKeyIdentifier);
  if (ext === undefined) return undefined;
  const keyId = children(ext.value, readTop(ext.value, Tag.SEQUENCE)).find((t) => t.tag === 0x80);
  return keyId === undefined ? undefined : content(ext.value, keyId);
}

export function subjectKeyIdOf(fields: CertificateFields): Uint8Array | undefined {
  const ext = fields.extensions.get(OID_EXT.subjectKeyIdentifier);
  if (ext === undefined) return undefined;
  const t = readTop(ext.value, Tag.OCTET_STRING);
  return content(ext.value, t);
}

/** basicConstraints (RFC 5280 §4.2.1.9): cA (false when absent) and pathLenConstraint. */
export function basicConstraintsOf(fields: CertificateFields): { ca: boolean; pathLen: number | undefined } {
  const ext = fields.extensions.get(OID_EXT.basicConstraints);
  if (ext === undefined) return { ca: false, pathLen: undefined };
  const parts = children(ext.value, readTop(ext.value, Tag.SEQUENCE));
  const ca = parts[0]?.tag === Tag.BOOLEAN && content(ext.value, parts[0])[0] === 0xff;
  const len = parts.find((t) => t.tag === Tag.INTEGER);
  const pathLen = len === undefined ? undefined : content(ext.value, len).reduce((n, b) => n * 256 + b, 0);
  return { ca, pathLen };
}

/** The keyUsage bits asserted (RFC 5280 §4.2.1.3), or undefined when the extension is absent. */
export function keyUsageOf(fields: CertificateFields): KeyUsage[] | undefined {
  const ext = fields.extensions.get(OID_EXT.keyUsage);
  if (ext === undefined) return undefined;
  const bits = content(ext.value, readTop(ext.value, Tag.BIT_STRING)).subarray(1);
  return KEY_USAGES.filter((_, bit) => ((bits[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0);
}
