// The Name attribute types we build and render by name (RFC 4514 §3 table, plus the two
// PKCS#9/X.520 attributes OpenSSL users routinely write), with their upper bounds from RFC 5280
// Appendix A.1 (ub-… values) and the string type each is encoded with.
import { StringTag } from './asn1-values.ts';

export interface NameAttributeType {
  /** The short name used in strings, as RFC 4514 §3 spells it. */
  readonly shortName: string;
  readonly oid: string;
  /** Upper bound on the value's length in characters (RFC 5280 Appendix A.1). */
  readonly maxChars: number;
  /** The string type new names use: UTF8String unless RFC 5280 demands otherwise. */
  readonly encodeTag: number;
}

const table: readonly NameAttributeType[] = [
  { shortName: 'CN', oid: '2.5.4.3', maxChars: 64, encodeTag: StringTag.UTF8_STRING }, // ub-common-name
  // RFC 5280 Appendix A.1: X520SerialNumber and countryName are PrintableString.
  { shortName: 'serialNumber', oid: '2.5.4.5', maxChars: 64, encodeTag: StringTag.PRINTABLE_STRING },
  { shortName: 'C', oid: '2.5.4.6', maxChars: 2, encodeTag: StringTag.PRINTABLE_STRING },
  { shortName: 'L', oid: '2.5.4.7', maxChars: 128, encodeTag: StringTag.UTF8_STRING },
  { shortName: 'ST', oid: '2.5.4.8', maxChars: 128, encodeTag: StringTag.UTF8_STRING },
  { shortName: 'STREET', oid: '2.5.4.9', maxChars: 128, encodeTag: StringTag.UTF8_STRING },
  { shortName: 'O', oid: '2.5.4.10', maxChars: 64, encodeTag: StringTag.UTF8_STRING },
  { shortName: 'OU', oid: '2.5.4.11', maxChars: 64, encodeTag: StringTag.UTF8_STRING },
  // RFC 4519 §2.4 / RFC 5280 §4.1.2.4: domainComponent is an IA5String label.
  { shortName: 'DC', oid: '0.9.2342.19200300.100.1.25', maxChars: 63, encodeTag: StringTag.IA5_STRING },
  { shortName: 'UID', oid: '0.9.2342.19200300.100.1.1', maxChars: 256, encodeTag: StringTag.UTF8_STRING },
  // PKCS#9 emailAddress: IA5String, ub-emailaddress-length 255 (legacy; RFC 5280 §4.1.2.6 prefers SANs).
  { shortName: 'emailAddress', oid: '1.2.840.113549.1.9.1', maxChars: 255, encodeTag: StringTag.IA5_STRING },
];

const byName = new Map(table.map((t) => [t.shortName.toUpperCase(), t]));
const byOid = new Map(table.map((t) => [t.oid, t]));

/** The attribute type for a short name (case-insensitive, RFC 4514 §3) or null. */
export function attributeTypeByName(name: string): NameAttributeType | null {
  return byName.get(name.toUpperCase()) ?? null;
}

export function attributeTypeByOid(oid: string): NameAttributeType | null {
  return byOid.get(oid) ?? null;
}

/** The short name of `oid`, or the dotted OID itself (RFC 4514 §2.3). */
export function attributeShortName(oid: string): string {
  return byOid.get(oid)?.shortName ?? oid;
}

export const KNOWN_NAME_ATTRIBUTES: readonly string[] = table.map((t) => t.shortName);
