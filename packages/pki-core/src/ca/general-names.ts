// GeneralName encoding for SAN, name constraints, CRL distribution points and AIA
// (RFC 5280 §4.2.1.6). Only the forms the CA issues: rfc822Name [1], dNSName [2],
// uniformResourceIdentifier [6] and iPAddress [7], all IMPLICIT over primitives.
import { isIPv4, isIPv6 } from 'node:net';
import { PkiError } from '../errors.ts';
import { ia5Bytes, implicitPrimitive } from './der.ts';

export type GeneralNameType = 'dns' | 'ip' | 'uri' | 'email';

export interface GeneralNameInput {
  readonly type: GeneralNameType;
  readonly value: string;
}

/** Longest name accepted, in characters (a DNS name is at most 253; URIs get more room). */
const generalNameMaxChars = 2048;

/** IA5 printable characters without space: what dNSName, rfc822Name and URI may contain here. */
const printableIa5 = /^[\x21-\x7e]+$/;

function invalid(field: string, message: string): PkiError {
  return new PkiError('ERR_SAN_INVALID', message, { field });
}

/** Encodes one GeneralName; `field` names the input for error messages (e.g. `sans[2]`). */
export function encodeGeneralName(name: GeneralNameInput, field = 'generalName'): Uint8Array {
  const { type, value } = name;
  if (typeof value !== 'string' || value.length === 0 || value.length > generalNameMaxChars) {
    throw invalid(field, `${field}: empty or over ${generalNameMaxChars} characters`);
  }
  switch (type) {
    case 'dns':
      // RFC 5280 §4.2.1.6: preferred name syntax (RFC 1034); a space (" ") MUST NOT be used.
      if (!printableIa5.test(value)) throw invalid(field, `${field}: DNS name ${JSON.stringify(value)} is not IA5 text`);
      return implicitPrimitive(2, ia5Bytes(value));
    case 'email':
      if (!printableIa5.test(value) || !/^[^@]+@[^@]+$/.test(value)) throw invalid(field, `${field}: bad email ${JSON.stringify(value)}`);
      return implicitPrimitive(1, ia5Bytes(value));
    case 'uri':
      // RFC 5280 §4.2.1.6: the name MUST NOT be a relative URI; it has a scheme.
      if (!printableIa5.test(value) || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) {
        throw invalid(field, `${field}: URI ${JSON.stringify(value)} is not absolute IA5 text`);
      }
      return implicitPrimitive(6, ia5Bytes(value));
    case 'ip':
      return implicitPrimitive(7, parseIpAddress(value, field));
    default:
      throw new TypeError(`${field}: unknown GeneralName type ${String(type)}`);
  }
}

/** The 4 (IPv4) or 16 (IPv6) network-order octets of an address (RFC 5280 §4.2.1.6 iPAddress). */
export function parseIpAddress(text: string, field = 'ip'): Uint8Array {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) throw invalid(field, `${field}: ${JSON.stringify(text)} is not an IP address`);
  let tail = text;
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let v4Bytes: number[] = [];
  if (v4 !== null) {
    v4Bytes = v4[1]!.split('.').map(Number);
    tail = text.slice(0, text.length - v4[1]!.length) + '0:0';
  }
  const [head, rest] = tail.split('::') as [string, string | undefined];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (v4Bytes.length === 4) out.set(v4Bytes, 12);
  return out;
}

/** Text form of an iPAddress octet string: dotted quad or RFC 5952 compressed IPv6. */
export function formatIpAddress(octets: Uint8Array): string {
  if (octets.length === 4) return Array.from(octets).join('.');
  if (octets.length !== 16) return Buffer.from(octets).toString('hex');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((octets[i]! << 8) | octets[i + 1]!);
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}
