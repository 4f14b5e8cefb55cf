// Subject alternative names (RFC 5280 §4.2.1.6) as typed data, their syntax checks and canonical
// forms. Policy (which names a profile admits) lives in san-policy.ts; syntax lives here, so a
// malformed name is ERR_SAN_INVALID whatever the profile says.
import { PkiError } from '../errors.ts';
import { formatIpAddress, parseIpAddress } from '../net/ip.ts';
import { checkDnsName } from './dns-name.ts';

export const SAN_TYPES = ['dns', 'ip', 'uri', 'email'] as const;
export type SanType = (typeof SAN_TYPES)[number];

/** One subjectAltName entry: dNSName, iPAddress, uniformResourceIdentifier or rfc822Name. */
export interface SanEntry {
  readonly type: SanType;
  readonly value: string;
}

/** SPIFFE ID limit (SPIFFE-ID spec §2.3) and a general bound on URIs we put in certificates. */
const uriMaxBytes = 2048;
/** RFC 5321 §4.5.3.1.1 (local part) and §4.5.3.1.3 (path, less the angle brackets). */
const emailLocalMaxChars = 64;
const emailMaxChars = 254;

/**
 * The canonical form of `entry` after its syntax check, or ERR_SAN_INVALID naming `field`.
 * DNS names and email domains are lower-cased (RFC 5280 §7.2, §7.5 compare them case-insensitively);
 * IP addresses are rewritten in RFC 5952 form; URIs are kept as written.
 */
export function normalizeSan(entry: SanEntry, field: string): SanEntry {
  if (entry === null || typeof entry !== 'object' || typeof entry.value !== 'string') {
    throw new PkiError('ERR_SAN_INVALID', `${field}: not a {type, value} SAN`, { field });
  }
  const invalid = (why: string): never => {
    throw new PkiError('ERR_SAN_INVALID', `${field}: ${entry.type} SAN ${JSON.stringify(entry.value)} ${why}`, { field });
  };
  switch (entry.type) {
    case 'dns': {
      const check = checkDnsName(entry.value, { allowWildcardLabel: true });
      return check.ok ? { type: 'dns', value: check.name } : invalid(check.reason);
    }
    case 'ip': {
      const ip = parseIpAddress(entry.value);
      return ip === undefined ? invalid('is not an IPv4 or IPv6 address') : { type: 'ip', value: formatIpAddress(ip) };
    }
    case 'uri': {
      const reason = checkUri(entry.value);
      return reason === null ? { type: 'uri', value: entry.value } : invalid(reason);
    }
    case 'email': {
      const at = entry.value.lastIndexOf('@');
      const reason = checkEmail(entry.value, at);
      return reason === null ? { type: 'email', value: entry.value.slice(0, at + 1) + entry.value.slice(at + 1).toLowerCase() } : invalid(reason);
    }
    default:
      return invalid(`has unknown type (expected one of ${SAN_TYPES.join(', ')})`);
  }
}

// RFC 3986 §2: unreserved, reserved and percent-encoded characters; anything else must be encoded.
const uriCharsRe = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
const schemeRe = /^[A-Za-z][A-Za-z0-9+.-]*$/;

function checkUri(value: string): string | null {
  if (Buffer.byteLength(value) > uriMaxBytes) return `is longer than ${uriMaxBytes} bytes`;
  if (!uriCharsRe.test(value)) return 'has characters RFC 3986 requires to be percent-encoded';
  const colon = value.indexOf(':');
  // RFC 5280 §4.2.1.6: never a relative URI; both a scheme and a scheme-specific part.
  if (colon < 1 || !schemeRe.test(value.slice(0, colon))) return 'is not an absolute URI (no scheme)';
  if (colon === value.length - 1) return 'has an empty scheme-specific part';
  const scheme = value.slice(0, colon).toLowerCase();
  if (scheme === 'spiffe') return checkSpiffeId(value);
  const authority = uriAuthority(value);
  if (authority !== null && authority.host === '') return 'has an empty host';
  return null;
}

/** Host (lower-cased) and the rest of the authority of a `scheme://authority…` URI, else null. */
export function uriAuthority(value: string): { host: string } | null {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(value);
  if (m === null) return null;
  const hostPort = m[1]!.slice(m[1]!.lastIndexOf('@') + 1);
  const host = hostPort.startsWith('[') ? hostPort.slice(0, hostPort.indexOf(']') + 1) : hostPort.replace(/:\d*$/, '');
  return { host: host.toLowerCase() };
}

/**
 * SPIFFE-ID spec §2: `spiffe://<trust-domain><path>`, scheme in lower case, trust domain of
 * [a-z0-9.-_], no port, user info, query or fragment; path segments non-empty, of
 * [A-Za-z0-9.-_], never `.` or `..`, no trailing slash.
 */
function checkSpiffeId(value: string): string | null {
  if (!value.startsWith('spiffe://')) return 'is not a SPIFFE ID (scheme must be lower-case spiffe://)';
  const rest = value.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (trustDomain.length === 0) return 'has an empty SPIFFE trust domain';
  if (trustDomain.length > 255) return 'has a SPIFFE trust domain longer than 255 characters';
  if (!/^[a-z0-9._-]+$/.test(trustDomain)) return 'has a SPIFFE trust domain outside [a-z0-9._-] (no port or user info)';
  if (path === '') return null;
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') return 'has an empty SPIFFE path segment (or a trailing slash)';
    if (segment === '.' || segment === '..') return 'has a dot segment in its SPIFFE path';
    if (!/^[A-Za-z0-9._-]+$/.test(segment)) return 'has a SPIFFE path segment outside [A-Za-z0-9._-] (no query or fragment)';
  }
  return null;
}

/** The trust domain of a valid SPIFFE ID. */
export function spiffeTrustDomain(value: string): string {
  const rest = value.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash);
}

// RFC 5321 §4.1.2 Dot-string of Atoms: atext (RFC 5322 §3.2.3) separated by single dots.
const dotAtomRe = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

function checkEmail(value: string, at: number): string | null {
  if (value.length > emailMaxChars) return `is longer than ${emailMaxChars} characters`;
  if (at < 1) return 'is not local@domain';
  const local = value.slice(0, at);
  if (local.length > emailLocalMaxChars) return `has a local part longer than ${emailLocalMaxChars} characters`;
  // Quoted local parts and non-ASCII (SmtpUTF8Mailbox, RFC 9598) are not issued.
  if (!dotAtomRe.test(local)) return 'has a local part that is not an RFC 5321 dot-string';
  const domain = checkDnsName(value.slice(at + 1), { allowWildcardLabel: false });
  return domain.ok ? null : `has a domain that ${domain.reason}`;
}

/**
 * A SAN from operator text: `dns:name`, `ip:addr`, `uri:value`, `email:addr`, or a bare value
 * whose type is inferred (an IP address, a URI with `://` or `spiffe:`, an address with `@`,
 * else a DNS name). The result is syntax-checked and canonical.
 */
export function parseSanText(text: string, field: string): SanEntry {
  const m = /^(dns|ip|uri|email):(.*)$/i.exec(text);
  if (m !== null) {
    return normalizeSan({ type: m[1]!.toLowerCase() as SanType, value: m[2]! }, field);
  }
  if (parseIpAddress(text) !== undefined) return normalizeSan({ type: 'ip', value: text }, field);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(text) && (text.includes('://') || /^spiffe:/i.test(text))) {
    return normalizeSan({ type: 'uri', value: text }, field);
  }
  if (text.includes('@')) return normalizeSan({ type: 'email', value: text }, field);
  return normalizeSan({ type: 'dns', value: text }, field);
}
