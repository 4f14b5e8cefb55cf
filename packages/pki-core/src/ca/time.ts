// RFC 5280 §4.1.2.5: validity dates through 2049 are UTCTime (YYMMDDHHMMSSZ), dates in 2050 or
// later are GeneralizedTime (YYYYMMDDHHMMSSZ). Both are UTC, end in Z and carry no fractional
// seconds (§4.1.2.5.1, §4.1.2.5.2). The same rule holds for CRL thisUpdate/nextUpdate (§5.1.2.4).
import { Tag, tlv } from './der.ts';

/** First instant encoded as GeneralizedTime. */
const generalizedFromMs = Date.UTC(2050, 0, 1);
/** UTCTime's two-digit years cover 1950–2049 (RFC 5280 §4.1.2.5.1). */
const utcTimeFromMs = Date.UTC(1950, 0, 1);
/** GeneralizedTime's four-digit year stops at 9999 (99991231235959Z means "no expiry"). */
const generalizedUntilMs = Date.UTC(9999, 11, 31, 23, 59, 59);

/** The instant truncated to whole seconds, as certificates carry it. */
export function truncateToSeconds(date: Date): Date {
  assertDate(date);
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function assertDate(date: Date): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new TypeError('time: an invalid Date');
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Encodes `date` (truncated to seconds) as UTCTime or GeneralizedTime per RFC 5280 §4.1.2.5. */
export function encodeTime(date: Date): Uint8Array {
  assertDate(date);
  const ms = date.getTime();
  if (ms < utcTimeFromMs || ms > generalizedUntilMs) {
    throw new RangeError(`time: ${date.toISOString()} is outside what RFC 5280 can encode`);
  }
  const year = date.getUTCFullYear();
  const rest =
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds()) +
    'Z';
  if (ms < generalizedFromMs) return tlv(Tag.UTC_TIME, ascii(two(year % 100) + rest));
  return tlv(Tag.GENERALIZED_TIME, ascii(String(year) + rest));
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Decodes a UTCTime or GeneralizedTime TLV's content in the RFC 5280 profile (Z, whole seconds). */
export function decodeTime(tag: number, content: Uint8Array): Date {
  const s = String.fromCharCode(...content);
  const m =
    tag === Tag.UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : tag === Tag.GENERALIZED_TIME
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
        : null;
  if (m === null) throw new RangeError(`time: unsupported time encoding ${JSON.stringify(s)}`);
  let year = Number(m[1]);
  // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY, YY < 50 is 20YY.
  if (tag === Tag.UTC_TIME) year += year >= 50 ? 1900 : 2000;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
