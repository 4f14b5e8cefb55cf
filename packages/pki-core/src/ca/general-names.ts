// GeneralName encoding for SAN, name constraints, CRL distribution points and AIA
// (RFC 5280 §4.2.1.6). Only the forms the CA issues: rfc822Name [1], dNSName [2],
// uniformResourceIdentifier [6] and iPAddress [7], all IMPLICIT over primitives.
import { PkiError } from '../errors.ts';
import { ipAddressOctets, parseIpAddress } from '../net/ip.ts';
import { ia5Bytes, implicitPrimitive } from './der.ts';

type GeneralNameType = 'dns' | 'ip' | 'uri' | 'email';

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
    case 'ip': {
      const ip = parseIpAddress(value);
      if (ip === undefined) throw invalid(field, `${field}: ${JSON.stringify(value)} is not an IP address`);
      return implicitPrimitive(7, ipAddressOctets(ip));
    }
    default:
      throw new TypeError(`${field}: unknown GeneralName type ${String(type)}`);
  }
}
