// Certificate extension encoders (RFC 5280 §4.2). Each returns a whole `Extension` TLV:
//   Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
// DER omits `critical` when it is FALSE (X.690 §11.5: a DEFAULT value is not encoded).
import { createHash } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { bitString, boolean, explicit, implicitConstructed, implicitPrimitive, integer, octetString, oid, sequence } from './der.ts';
import { encodeGeneralName, type GeneralNameInput } from './general-names.ts';
import { OID_AD, OID_EXT, OID_KP } from './oids.ts';
import { content, readTop, readTlv } from './der-reader.ts';

export const KEY_USAGES = [
  'digitalSignature',
  'contentCommitment',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
/** RFC 5280 §4.2.1.3 KeyUsage; the index in KEY_USAGES is the bit number. */
export type KeyUsage = (typeof KEY_USAGES)[number];

export type ExtKeyUsage = keyof typeof OID_KP;

export interface BasicConstraintsChoice {
  readonly ca: boolean;
  /** Only for CAs: how many CA certificates may follow this one in a path (RFC 5280 §4.2.1.9). */
  readonly pathLen?: number;
}

export interface NameConstraintsChoice {
  /** DNS subtrees: `example.com` matches it and any name with labels added on the left (RFC 5280 §4.2.1.10). */
  readonly permittedDns?: readonly string[];
  readonly excludedDns?: readonly string[];
}

export interface AuthorityInfoAccessChoice {
  readonly caIssuers?: readonly string[];
  readonly ocsp?: readonly string[];
}

/** Extension choices derived from a profile (profiles.ts) plus issuer configuration (CRL DP, AIA). */
export interface ExtensionChoices {
  readonly basicConstraints?: BasicConstraintsChoice;
  readonly keyUsage?: readonly KeyUsage[];
  readonly extKeyUsage?: readonly ExtKeyUsage[];
  readonly nameConstraints?: NameConstraintsChoice;
  readonly crlDistributionPoints?: readonly (string | CrlDistributionPointChoice)[];
  readonly authorityInfoAccess?: AuthorityInfoAccessChoice;
}

/** A distribution point whose CRL another CA signs (RFC 5280 §4.2.1.13 cRLIssuer: an indirect CRL, §5.2.5). */
export interface CrlDistributionPointChoice {
  readonly url: string;
  /** The DER Name of the CA that signs the CRL at `url`. */
  readonly crlIssuerNameDer: Uint8Array;
}

export function extension(extnId: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? sequence(oid(extnId), boolean(true), octetString(value)) : sequence(oid(extnId), octetString(value));
}

/**
 * RFC 5280 §4.2.1.2 method (1): the key identifier is the SHA-1 of the subjectPublicKey BIT STRING
 * value, excluding tag, length and the unused-bits octet.
 */
export function keyIdentifier(spkiDer: Uint8Array): Uint8Array {
  const bits = subjectPublicKeyBits(spkiDer);
  return new Uint8Array(createHash('sha1').update(bits).digest());
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo (the BIT STRING content after its first octet). */
export function subjectPublicKeyBits(spkiDer: Uint8Array): Uint8Array {
  try {
    const spki = readTop(spkiDer, 0x30);
    const alg = readTlv(spkiDer, spki.contentStart, spki.end);
    const key = readTlv(spkiDer, alg.end, spki.end);
    if (alg.tag !== 0x30 || key.tag !== 0x03 || key.end !== spki.end) throw new Error('not AlgorithmIdentifier, BIT STRING');
    const c = content(spkiDer, key);
    if (c.length < 2 || c[0] !== 0) throw new Error('subjectPublicKey has unused bits');
    return c.subarray(1);
  } catch (cause) {
    throw new PkiError('ERR_KEY_MALFORMED', 'SubjectPublicKeyInfo is malformed', { field: 'spki', cause });
  }
}

/** RFC 5280 §4.2.1.2: non-critical. */
export function subjectKeyIdentifierExtension(keyId: Uint8Array): Uint8Array {
  return extension(OID_EXT.subjectKeyIdentifier, false, octetString(keyId));
}

/** RFC 5280 §4.2.1.1: AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT ... }, non-critical. */
export function authorityKeyIdentifierExtension(keyId: Uint8Array): Uint8Array {
  return extension(OID_EXT.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyId)));
}

/** RFC 5280 §4.2.1.9: critical in CA certificates (we mark it critical in leaves too). */
export function basicConstraintsExtension(choice: BasicConstraintsChoice): Uint8Array {
  if (choice.pathLen !== undefined) {
    if (!choice.ca) throw new TypeError('basicConstraints: pathLen is only meaningful for a CA (RFC 5280 §4.2.1.9)');
    if (!Number.isSafeInteger(choice.pathLen) || choice.pathLen < 0) throw new TypeError('basicConstraints: pathLen must be ≥ 0');
  }
  // cA BOOLEAN DEFAULT FALSE: encoded only when TRUE.
  const parts: Uint8Array[] = [];
  if (choice.ca) parts.push(boolean(true));
  if (choice.pathLen !== undefined) parts.push(integer(choice.pathLen));
  return extension(OID_EXT.basicConstraints, true, sequence(...parts));
}

/** KeyUsage as a DER named BIT STRING: bit 0 is the MSB of the first octet; trailing zero bits are dropped (X.690 §11.2.2). */
export function encodeKeyUsageBits(usages: readonly KeyUsage[]): Uint8Array {
  let highest = -1;
  const bytes = new Uint8Array(2);
  for (const u of usages) {
    const bit = KEY_USAGES.indexOf(u);
    if (bit < 0) throw new TypeError(`keyUsage: unknown usage ${String(u)}`);
    bytes[bit >> 3]! |= 0x80 >> (bit & 7);
    highest = Math.max(highest, bit);
  }
  if (highest < 0) throw new TypeError('keyUsage: at least one usage is required (RFC 5280 §4.2.1.3)');
  const used = (highest >> 3) + 1;
  return bitString(bytes.subarray(0, used), 7 - (highest & 7));
}

/** RFC 5280 §4.2.1.3: SHOULD be critical. */
export function keyUsageExtension(usages: readonly KeyUsage[]): Uint8Array {
  return extension(OID_EXT.keyUsage, true, encodeKeyUsageBits(usages));
}

/** RFC 5280 §4.2.1.12: non-critical, so relying parties that ignore it still see KeyUsage. */
export function extKeyUsageExtension(usages: readonly ExtKeyUsage[]): Uint8Array {
  if (usages.length === 0) throw new TypeError('extKeyUsage: at least one purpose is required');
  return extension(
    OID_EXT.extKeyUsage,
    false,
    sequence(
      ...usages.map((u) => {
        const dotted = OID_KP[u];
        if (dotted === undefined) throw new TypeError(`extKeyUsage: unknown purpose ${String(u)}`);
        return oid(dotted);
      }),
    ),
  );
}

/** RFC 5280 §4.2.1.6: critical exactly when the subject is empty; MUST hold at least one name. */
export function subjectAltNameExtension(names: readonly GeneralNameInput[], critical: boolean): Uint8Array {
  if (names.length === 0) throw new PkiError('ERR_SAN_INVALID', 'subjectAltName must not be empty', { field: 'sans' });
  return extension(OID_EXT.subjectAltName, critical, sequence(...names.map((n, i) => encodeGeneralName(n, `sans[${i}]`))));
}

/** RFC 5280 §4.2.1.10: MUST be critical; GeneralSubtree minimum 0 and no maximum are the DER defaults. */
export function nameConstraintsExtension(choice: NameConstraintsChoice): Uint8Array {
  const subtrees = (dns: readonly string[], field: string): Uint8Array[] =>
    dns.map((d, i) => sequence(encodeGeneralName({ type: 'dns', value: d }, `${field}[${i}]`)));
  const parts: Uint8Array[] = [];
  const permitted = choice.permittedDns ?? [];
  const excluded = choice.excludedDns ?? [];
  if (permitted.length > 0) parts.push(implicitConstructed(0, ...subtrees(permitted, 'permittedDns')));
  if (excluded.length > 0) parts.push(implicitConstructed(1, ...subtrees(excluded, 'excludedDns')));
  if (parts.length === 0) throw new TypeError('nameConstraints: no subtrees given (RFC 5280 §4.2.1.10 forbids an empty extension)');
  return extension(OID_EXT.nameConstraints, true, sequence(...parts));
}

/**
 * RFC 5280 §4.2.1.13: one DistributionPoint per URI, each `distributionPoint [0]` holding
 * `fullName [0]` (DistributionPointName is a CHOICE, so its tag is explicit), and `cRLIssuer [2]`
 * (a directoryName, [4] explicit: Name is a CHOICE) when another CA signs that CRL. Non-critical.
 */
export function crlDistributionPointsExtension(points: readonly (string | CrlDistributionPointChoice)[]): Uint8Array {
  return extension(OID_EXT.crlDistributionPoints, false, distributionPoints(points, 'crlDistributionPoints'));
}

/** RFC 5280 §5.2.6 (§4.2.1.15): where delta CRLs are, with the syntax of CRL distribution points. Non-critical. */
export function freshestCrlExtension(uris: readonly string[]): Uint8Array {
  return extension(OID_EXT.freshestCrl, false, distributionPoints(uris, 'freshestCrl'));
}

/** `distributionPoint [0] { fullName [0] { uniformResourceIdentifier } }`, shared with the CRL's IDP (§5.2.5). */
export function distributionPointName(uri: string, field: string): Uint8Array {
  return explicit(0, implicitConstructed(0, encodeGeneralName({ type: 'uri', value: uri }, field)));
}

function distributionPoints(points: readonly (string | CrlDistributionPointChoice)[], field: string): Uint8Array {
  if (points.length === 0) throw new TypeError(`${field}: at least one URI is required`);
  const encoded = points.map((p, i) => {
    if (typeof p === 'string') return sequence(distributionPointName(p, `${field}[${i}]`));
    return sequence(distributionPointName(p.url, `${field}[${i}]`), implicitConstructed(2, explicit(4, p.crlIssuerNameDer)));
  });
  return sequence(...encoded);
}

/** RFC 5280 §4.2.2.1: AccessDescription ::= SEQUENCE { accessMethod, accessLocation }; MUST be non-critical. */
export function authorityInfoAccessExtension(choice: AuthorityInfoAccessChoice): Uint8Array {
  const descriptions: Uint8Array[] = [];
  (choice.ocsp ?? []).forEach((u, i) =>
    descriptions.push(sequence(oid(OID_AD.ocsp), encodeGeneralName({ type: 'uri', value: u }, `authorityInfoAccess.ocsp[${i}]`))),
  );
  (choice.caIssuers ?? []).forEach((u, i) =>
    descriptions.push(sequence(oid(OID_AD.caIssuers), encodeGeneralName({ type: 'uri', value: u }, `authorityInfoAccess.caIssuers[${i}]`))),
  );
  if (descriptions.length === 0) throw new TypeError('authorityInfoAccess: no access descriptions given');
  return extension(OID_EXT.authorityInfoAccess, false, sequence(...descriptions));
}
