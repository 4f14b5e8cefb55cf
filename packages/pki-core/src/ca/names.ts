// X.501 Names (RFC 5280 §4.1.2.4): built from an RFC 4514 string, read from DER, rendered back
// to RFC 4514. Each RDN of a built name is its own SET (a single-valued RDN) unless the string
// joins attributes with `+`; see TOOLCHAIN.md on pkijs putting every attribute in one SET.
import { PkiError } from '../errors.ts';
import { decodeOid, decodeString, isIa5String, isPrintableString, StringTag } from './asn1-values.ts';
import { children, DerError, readTlv, readTop, whole, content, type Tlv } from './der-reader.ts';
import { oid, sequence, setOf, Tag, tlv, toHex } from './der.ts';
import { attributeShortName, attributeTypeByName, attributeTypeByOid } from './name-attributes.ts';
import { parseDnString, type ParsedAttribute } from './name-string.ts';

interface NameAttribute {
  readonly oid: string;
  /** Short name (`CN`) when known, else the dotted OID. */
  readonly type: string;
  /** Universal tag of the value (e.g. 0x0c UTF8String). */
  readonly valueTag: number;
  /** The value's text, or null when it is not a character string we decode. */
  readonly text: string | null;
  /** The value's whole DER encoding. */
  readonly valueDer: Uint8Array;
}

/** RDNs in DER order (least specific first, e.g. C before CN), each a SET of attributes. */
export type NameRdns = readonly (readonly NameAttribute[])[];

/** Largest Name DER we read or build: bounds work on hostile input. */
const nameMaxBytes = 8192;

// Control characters make names ambiguous in logs and UIs; RFC 5280 names never need them.
// eslint-disable-next-line no-control-regex
const controlRe = /[\x00-\x1f\x7f]/;

/** DER of the Name written as `text` (RFC 4514), e.g. `CN=node-1,O=Adrestia,C=US`. Empty string: empty Name. */
export function buildName(text: string, field = 'subject'): Uint8Array {
  const rdns = parseDnString(text, field);
  // RFC 4514 §2.1: the string lists RDNs from the last (most specific) to the first.
  const sets = rdns.reverse().map((rdn) => setOf(...rdn.map((a) => encodeAttribute(a, field))));
  const der = sequence(...sets);
  if (der.length > nameMaxBytes) throw new PkiError('ERR_SUBJECT_INVALID', `${field}: name too long`, { field });
  return der;
}

function encodeAttribute(a: ParsedAttribute, field: string): Uint8Array {
  const known = /^\d/.test(a.type) ? attributeTypeByOid(a.type) : attributeTypeByName(a.type);
  if (known === null && !/^\d/.test(a.type)) {
    throw new PkiError('ERR_SUBJECT_INVALID', `${field}: unknown attribute type ${a.type}`, { field });
  }
  const dotted = known?.oid ?? a.type;
  if (a.value.kind === 'hex') return sequence(oid(dotted), hexValue(a.value.der, a.type, field));
  const text = a.value.text;
  const bad = (why: string): never => {
    throw new PkiError('ERR_SUBJECT_INVALID', `${field}: ${a.type} ${why}`, { field });
  };
  if (text.length === 0) bad('is empty');
  if (controlRe.test(text)) bad('contains a control character');
  if (known === null) return sequence(oid(dotted), tlv(StringTag.UTF8_STRING, new TextEncoder().encode(text)));
  if ([...text].length > known.maxChars) bad(`is longer than ${known.maxChars} characters`);
  // RFC 5280 §4.1.2.4 / ISO 3166: countryName is two letters.
  if (known.shortName === 'C' && !/^[A-Z]{2}$/.test(text)) bad('must be a two-letter ISO 3166 code');
  if (known.encodeTag === StringTag.PRINTABLE_STRING && !isPrintableString(text)) bad('has characters outside PrintableString');
  if (known.encodeTag === StringTag.IA5_STRING && !isIa5String(text)) bad('has non-ASCII characters');
  const bytes = known.encodeTag === StringTag.UTF8_STRING ? new TextEncoder().encode(text) : Buffer.from(text, 'latin1');
  return sequence(oid(dotted), tlv(known.encodeTag, bytes));
}

/** A `#hex` value must be exactly one well-formed TLV (RFC 4514 §2.4: the value's BER/DER). */
function hexValue(der: Uint8Array, type: string, field: string): Uint8Array {
  try {
    readTop(der, der[0] ?? -1);
    if ((der[0]! & 0x20) !== 0) readTree(der, readTlv(der, 0));
    return der;
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    throw new PkiError('ERR_SUBJECT_INVALID', `${field}: ${type} #hex is not one DER value`, { field, cause: e });
  }
}

/** Nesting depth we follow inside opaque values; real attribute values nest two or three deep. */
const valueMaxDepth = 16;

/** Checks that every constructed TLV under `t` is well formed (X.690 §8.1), to a bounded depth. */
export function readTree(buf: Uint8Array, t: Tlv, depth = 0): void {
  if (depth > valueMaxDepth) throw new DerError('DER: nested too deeply');
  for (const c of children(buf, t)) if ((c.tag & 0x20) !== 0) readTree(buf, c, depth + 1);
}

/** The RDNs of the Name TLV `t` inside `buf`. Throws DerError on malformed input. */
export function readNameTlv(buf: Uint8Array, t: Tlv): NameRdns {
  if (t.tag !== Tag.SEQUENCE) throw new DerError('Name: not a SEQUENCE');
  if (t.end - t.start > nameMaxBytes) throw new DerError('Name: too long');
  return children(buf, t).map((set) => {
    if (set.tag !== Tag.SET) throw new DerError('Name: RDN is not a SET');
    const attrs = children(buf, set).map((atv) => readAttribute(buf, atv));
    // X.501: a RelativeDistinguishedName is SET SIZE (1..MAX).
    if (attrs.length === 0) throw new DerError('Name: empty RDN');
    return attrs;
  });
}

function readAttribute(buf: Uint8Array, atv: Tlv): NameAttribute {
  if (atv.tag !== Tag.SEQUENCE) throw new DerError('Name: attribute is not a SEQUENCE');
  const parts = children(buf, atv);
  if (parts.length !== 2 || parts[0]!.tag !== Tag.OID) throw new DerError('Name: attribute is not {type, value}');
  const dotted = decodeOid(content(buf, parts[0]!));
  const v = parts[1]!;
  if ((v.tag & 0x20) !== 0) readTree(buf, v);
  return {
    oid: dotted,
    type: attributeShortName(dotted),
    valueTag: v.tag,
    text: decodeString(v.tag, content(buf, v)),
    valueDer: whole(buf, v).slice(),
  };
}

/** The RDNs of a whole Name DER. Throws DerError on malformed input. */
export function readName(der: Uint8Array): NameRdns {
  return readNameTlv(der, readTop(der, Tag.SEQUENCE));
}

/** RFC 4514 string of a Name DER, most specific RDN first (e.g. `CN=a,O=b,C=US`). */
export function renderName(der: Uint8Array): string {
  return renderRdns(readName(der));
}

export function renderRdns(rdns: NameRdns): string {
  return [...rdns]
    .reverse()
    .map((rdn) => rdn.map(renderAttribute).join('+'))
    .join(',');
}

function renderAttribute(a: NameAttribute): string {
  // RFC 4514 §2.4: values of unknown types, and values we cannot show as text, go as #hex.
  if (a.text === null || a.type === a.oid) return `${a.type}=#${toHex(a.valueDer)}`;
  return `${a.type}=${escapeValue(a.text)}`;
}

/** RFC 4514 §2.4 escaping; control characters are escaped as hex pairs so output stays one line. */
export function escapeValue(text: string): string {
  let out = '';
  const chars = [...text];
  chars.forEach((ch, i) => {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp === 0x7f) out += `\\${cp.toString(16).padStart(2, '0')}`;
    else if ('"+,;<>\\'.includes(ch)) out += `\\${ch}`;
    else if ((i === 0 && (ch === '#' || ch === ' ')) || (i === chars.length - 1 && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  });
  return out;
}

/** The text values of attribute `type` (short name or OID), in DER order. */
export function attributeValues(rdns: NameRdns, type: string): string[] {
  const want = attributeTypeByName(type)?.oid ?? type;
  return rdns.flatMap((rdn) => rdn.filter((a) => a.oid === want && a.text !== null).map((a) => a.text!));
}
