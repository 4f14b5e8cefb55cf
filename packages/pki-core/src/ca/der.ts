// A small DER writer (ITU-T X.690 §8, §10, §11) for the certificate hot path. Every encoder returns
// a finished TLV; composite encoders allocate once and copy their children in. Nothing here knows
// about X.509: the structure lives in certificate.ts, extensions.ts and crl.ts.

/** Universal and context tags used by RFC 5280 structures (X.680 §8.4). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Largest length this writer emits (X.690 §8.1.3.5 allows more; certificates never need it). */
const maxContentBytes = 0xffff_ffff;

function headerBytes(contentBytes: number): number {
  if (contentBytes < 0x80) return 2;
  if (contentBytes <= 0xff) return 3;
  if (contentBytes <= 0xffff) return 4;
  if (contentBytes <= 0xff_ffff) return 5;
  return 6;
}

/** Writes tag and definite length (X.690 §8.1.3: short form below 128, else minimal long form). */
function writeHeader(out: Uint8Array, tag: number, contentBytes: number): number {
  if (contentBytes > maxContentBytes) throw new RangeError(`DER: content of ${contentBytes} bytes is too long`);
  out[0] = tag;
  if (contentBytes < 0x80) {
    out[1] = contentBytes;
    return 2;
  }
  const n = headerBytes(contentBytes) - 2;
  out[1] = 0x80 | n;
  for (let i = 0; i < n; i++) out[2 + i] = (contentBytes >>> (8 * (n - 1 - i))) & 0xff;
  return 2 + n;
}

/** A TLV whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  return tlvOf(tag, parts);
}

/**
 * `tlv` over an array: for contents of very many parts (a CRL's revokedCertificates), which a
 * spread into rest parameters cannot pass (V8 limits a call's arguments by stack size).
 */
function tlvOf(tag: number, parts: readonly Uint8Array[]): Uint8Array {
  let contentBytes = 0;
  for (const p of parts) contentBytes += p.length;
  const out = new Uint8Array(headerBytes(contentBytes) + contentBytes);
  let at = writeHeader(out, tag, contentBytes);
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function sequence(...parts: Uint8Array[]): Uint8Array {
  return tlvOf(Tag.SEQUENCE, parts);
}

/** SEQUENCE over an array of any length (see `tlvOf`). */
export function sequenceOf(parts: readonly Uint8Array[]): Uint8Array {
  return tlvOf(Tag.SEQUENCE, parts);
}

/** SET OF in DER sorts its elements by their encodings (X.690 §11.6). */
export function setOf(...parts: Uint8Array[]): Uint8Array {
  return tlv(Tag.SET, ...[...parts].sort(compareBytes));
}

/** `[n] EXPLICIT`: a constructed context tag wrapping whole TLVs. */
export function explicit(n: number, ...parts: Uint8Array[]): Uint8Array {
  if (n < 0 || n > 30) throw new RangeError(`DER: context tag ${n} out of range`);
  return tlv(0xa0 | n, ...parts);
}

/** `[n] IMPLICIT` over a primitive type: the content octets with a context tag. */
export function implicitPrimitive(n: number, content: Uint8Array): Uint8Array {
  if (n < 0 || n > 30) throw new RangeError(`DER: context tag ${n} out of range`);
  return tlv(0x80 | n, content);
}

/** `[n] IMPLICIT` over a constructed type (SEQUENCE OF …): children with a constructed context tag. */
export function implicitConstructed(n: number, ...parts: Uint8Array[]): Uint8Array {
  return explicit(n, ...parts);
}

export const NULL_DER: Uint8Array = Uint8Array.of(Tag.NULL, 0);

export function boolean(value: boolean): Uint8Array {
  // X.690 §11.1: DER TRUE is 0xFF.
  return Uint8Array.of(Tag.BOOLEAN, 1, value ? 0xff : 0x00);
}

/**
 * INTEGER from the big-endian magnitude of a non-negative value (X.690 §8.3): leading zero octets
 * are dropped and one 0x00 is prepended when the top bit is set, so the value stays positive and
 * the encoding minimal.
 */
export function unsignedInteger(magnitude: Uint8Array, tag: number = Tag.INTEGER): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const body = magnitude.subarray(start);
  if (body.length === 0) return Uint8Array.of(tag, 1, 0);
  const pad = (body[0]! & 0x80) !== 0;
  const out = new Uint8Array(headerBytes(body.length + (pad ? 1 : 0)) + body.length + (pad ? 1 : 0));
  let at = writeHeader(out, tag, body.length + (pad ? 1 : 0));
  if (pad) out[at++] = 0;
  out.set(body, at);
  return out;
}

/** INTEGER (or ENUMERATED with `tag`) from a non-negative safe integer or bigint. */
export function integer(value: number | bigint, tag: number = Tag.INTEGER): Uint8Array {
  let v = typeof value === 'bigint' ? value : BigInt(value);
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`DER: ${value} is not a safe integer`);
  if (v < 0n) throw new RangeError('DER: negative INTEGERs are not used in RFC 5280 structures');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return unsignedInteger(Uint8Array.from(bytes), tag);
}

const oidCache = new Map<string, Uint8Array>();
/** The engine uses a few dozen OIDs; the cache stops growing past this. */
const oidCacheMaxEntries = 512;

/** OBJECT IDENTIFIER from dotted form (X.690 §8.19), cached: the same few OIDs recur in every certificate. */
export function oid(dotted: string): Uint8Array {
  const hit = oidCache.get(dotted);
  if (hit !== undefined) return hit;
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new TypeError(`DER: bad OID ${dotted}`);
    return BigInt(a);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) throw new TypeError(`DER: bad OID ${dotted}`);
  const content: number[] = [];
  const subs = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  for (const sub of subs) {
    const group: number[] = [Number(sub & 0x7fn)];
    for (let s = sub >> 7n; s > 0n; s >>= 7n) group.unshift(Number(s & 0x7fn) | 0x80);
    content.push(...group);
  }
  const der = tlv(Tag.OID, Uint8Array.from(content));
  if (oidCache.size < oidCacheMaxEntries) oidCache.set(dotted, der);
  return der;
}

/** BIT STRING with the given count of unused trailing bits in the last octet (X.690 §8.6.2). */
export function bitString(bytes: Uint8Array, unusedBits = 0): Uint8Array {
  if (unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new RangeError(`DER: bad unused bit count ${unusedBits}`);
  }
  return tlv(Tag.BIT_STRING, Uint8Array.of(unusedBits), bytes);
}

export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(Tag.OCTET_STRING, bytes);
}

const utf8 = new TextEncoder();

export function utf8String(text: string): Uint8Array {
  return tlv(Tag.UTF8_STRING, utf8.encode(text));
}

/** IA5String: 7-bit ASCII only (X.680 §41); callers validate first, this asserts. */
export function ia5Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) throw new TypeError(`DER: non-IA5 character in ${JSON.stringify(text)}`);
    out[i] = c;
  }
  return out;
}

export function ia5String(text: string): Uint8Array {
  return tlv(Tag.IA5_STRING, ia5Bytes(text));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
