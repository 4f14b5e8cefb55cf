// Certificate serial numbers (RFC 5280 §4.1.2.2): positive, unique per issuer, at most 20 octets.
// We draw 128 random bits (CA/Browser Forum BR §7.1 asks for at least 64) and encode them as a
// minimal positive INTEGER: leading zero octets dropped, a 0x00 added only when the top bit is set
// (a needless 0x00 or a negative value makes OpenSSL refuse the certificate).
//
// The canonical text form, `serialHex`, is the lowercase hex of the value's magnitude without
// leading zero octets (even length). It is how serials are keyed in the replicated state.
import { PkiError } from '../errors.ts';
import { toHex, unsignedInteger } from './der.ts';

/** Where serial randomness comes from; `RandomSource` of @adrestia/consensus satisfies it. */
export interface SerialRandomSource {
  nextInt(maxExclusive: number): number;
}

const serialRandomBytes = 16;
/** RFC 5280 §4.1.2.2: conforming CAs MUST NOT use serials longer than 20 octets. */
const serialMaxBytes = 20;

/** A fresh, non-zero 128-bit serial as its canonical hex. */
export function randomSerial(random: SerialRandomSource): string {
  const bytes = new Uint8Array(serialRandomBytes);
  for (;;) {
    for (let i = 0; i < serialRandomBytes; i += 2) {
      const v = random.nextInt(0x1_0000);
      bytes[i] = v >>> 8;
      bytes[i + 1] = v & 0xff;
    }
    // RFC 5280 §4.1.2.2: the serial MUST be positive; zero is drawn with probability 2^-128.
    if (bytes.some((b) => b !== 0)) return canonicalHex(bytes);
  }
}

function canonicalHex(magnitude: Uint8Array): string {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  return toHex(magnitude.subarray(start));
}

/**
 * Parses and canonicalizes a serial given as hex (any case, optional `0x`, optional colons as
 * OpenSSL prints them). Refuses zero, non-hex and values over 20 octets.
 */
export function normalizeSerialHex(serialHex: string): string {
  if (typeof serialHex !== 'string') throw new TypeError('serial: expected a hex string');
  let s = serialHex.trim().toLowerCase().replace(/:/g, '');
  if (s.startsWith('0x')) s = s.slice(2);
  if (!/^[0-9a-f]+$/.test(s)) throw new PkiError('ERR_SERIAL_INVALID', `serial ${JSON.stringify(serialHex)} is not hex`, { field: 'serial' });
  s = s.replace(/^0+/, '');
  if (s.length === 0) throw new PkiError('ERR_SERIAL_INVALID', 'serial must be positive (RFC 5280 §4.1.2.2)', { field: 'serial' });
  if (s.length % 2 === 1) s = `0${s}`;
  // The DER INTEGER may need a 0x00 sign octet, and RFC 5280 counts it against the 20 octets.
  const derOctets = s.length / 2 + (parseInt(s.slice(0, 2), 16) >= 0x80 ? 1 : 0);
  if (derOctets > serialMaxBytes) {
    throw new PkiError('ERR_SERIAL_INVALID', `serial needs ${derOctets} octets; RFC 5280 allows ${serialMaxBytes}`, { field: 'serial' });
  }
  return s;
}

/** The DER INTEGER for a serial given as hex. */
export function encodeSerial(serialHex: string): Uint8Array {
  return unsignedInteger(Buffer.from(normalizeSerialHex(serialHex), 'hex'));
}

/** Canonical hex of an INTEGER's content octets (as read from a certificate or CRL). */
export function serialHexFromContent(contentOctets: Uint8Array): string {
  return canonicalHex(contentOctets);
}
