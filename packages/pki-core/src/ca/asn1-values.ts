// Decoders for the primitive ASN.1 values found in certificates, names, CSRs and GeneralNames:
// OBJECT IDENTIFIER (X.690 §8.19) and the character string types RFC 5280 §4.1.2.4 lets a Name use.
// Every failure is a DerError, which the callers turn into their own PkiError code.
import { DerError } from './der-reader.ts';
import { Tag } from './der.ts';

/** Longest OID we accept, in content octets: real OIDs are far shorter, this bounds the loop. */
const oidMaxContentBytes = 64;

/** Dotted form of an OID's content octets, refusing non-minimal sub-identifiers (X.690 §8.19.2). */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0 || content.length > oidMaxContentBytes) throw new DerError('DER: bad OID length');
  const arcs: bigint[] = [];
  let value = 0n;
  let fresh = true;
  for (const byte of content) {
    if (fresh && byte === 0x80) throw new DerError('DER: non-minimal OID sub-identifier');
    value = (value << 7n) | BigInt(byte & 0x7f);
    fresh = (byte & 0x80) === 0;
    if (fresh) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (!fresh) throw new DerError('DER: truncated OID');
  const first = arcs[0]!;
  // X.690 §8.19.4: the first sub-identifier packs the first two arcs as 40·X + Y.
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].map(String).join('.');
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Universal string tags (X.680 §41) that can carry a Name attribute value. */
export const StringTag = {
  UTF8_STRING: Tag.UTF8_STRING,
  PRINTABLE_STRING: Tag.PRINTABLE_STRING,
  TELETEX_STRING: 0x14,
  IA5_STRING: Tag.IA5_STRING,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
} as const;

// X.680 §41.4 Table 10: PrintableString's repertoire.
const printableRe = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function isPrintableString(text: string): boolean {
  return printableRe.test(text);
}

export function isIa5String(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text);
}

/** Text of a character string TLV, or null when `tag` is not a string type we decode. */
export function decodeString(tag: number, content: Uint8Array): string | null {
  switch (tag) {
    case StringTag.UTF8_STRING:
      try {
        return utf8Strict.decode(content);
      } catch {
        throw new DerError('DER: invalid UTF-8 in UTF8String');
      }
    case StringTag.PRINTABLE_STRING: {
      const text = latin1(content);
      if (!isPrintableString(text)) throw new DerError('DER: character outside PrintableString');
      return text;
    }
    case StringTag.IA5_STRING: {
      const text = latin1(content);
      if (!isIa5String(text)) throw new DerError('DER: character outside IA5String');
      return text;
    }
    // TeletexString (T.61) is in practice Latin-1 (RFC 5280 §4.1.2.4 lists it for legacy names).
    case StringTag.TELETEX_STRING:
      return latin1(content);
    case StringTag.BMP_STRING:
      return ucs(content, 2);
    case StringTag.UNIVERSAL_STRING:
      return ucs(content, 4);
    default:
      return null;
  }
}

function latin1(content: Uint8Array): string {
  let s = '';
  for (const b of content) s += String.fromCharCode(b);
  return s;
}

/** BMPString (UCS-2) and UniversalString (UCS-4), both big-endian. */
function ucs(content: Uint8Array, width: 2 | 4): string {
  if (content.length % width !== 0) throw new DerError('DER: odd length for a UCS string');
  let s = '';
  for (let i = 0; i < content.length; i += width) {
    let cp = 0;
    for (let j = 0; j < width; j++) cp = cp * 256 + content[i + j]!;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new DerError('DER: invalid code point');
    s += String.fromCodePoint(cp);
  }
  return s;
}
