// A minimal DER reader (X.690 §8.1): walks TLVs without building an object graph, so the issuance
// path can lift the few fields it needs (issuer Name, SPKI, SKI, validity) out of a certificate
// at the cost of a few index operations. Indefinite lengths and high tag numbers are not DER
// for RFC 5280 structures and are refused.

export interface Tlv {
  readonly tag: number;
  /** Offset of the tag octet in the buffer. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
}

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Reads the TLV at `at`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, at: number, limit: number = buf.length): Tlv {
  if (at + 2 > limit) throw new DerError('DER: truncated header');
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('DER: high tag numbers are not supported');
  const first = buf[at + 1]!;
  let len: number;
  let contentStart: number;
  if (first < 0x80) {
    len = first;
    contentStart = at + 2;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw new DerError('DER: indefinite length');
    if (n > 4) throw new DerError('DER: length too long');
    if (at + 2 + n > limit) throw new DerError('DER: truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
    // X.690 §10.1: the long form only for lengths ≥ 128, in the fewest octets.
    if (len < 0x80 || buf[at + 2] === 0) throw new DerError('DER: non-minimal length');
    contentStart = at + 2 + n;
  }
  const end = contentStart + len;
  if (end > limit) throw new DerError('DER: content runs past its container');
  return { tag, start: at, contentStart, end };
}

/** The children of a constructed TLV, in order. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw new DerError('DER: children of a primitive TLV');
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** The whole encoding (tag, length and content) of `t`. */
export function whole(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

export function content(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.contentStart, t.end);
}

/** Reads a TLV that must span all of `buf` (a top-level structure). */
export function readTop(buf: Uint8Array, expectedTag: number): Tlv {
  const t = readTlv(buf, 0);
  if (t.tag !== expectedTag) throw new DerError(`DER: expected tag 0x${expectedTag.toString(16)}, got 0x${t.tag.toString(16)}`);
  if (t.end !== buf.length) throw new DerError('DER: trailing bytes after the top-level structure');
  return t;
}
