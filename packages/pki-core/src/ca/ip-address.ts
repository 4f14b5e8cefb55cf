// IP addresses in SAN policy: text to octets (null instead of an error, for validators) and CIDR
// ranges. Octet encoding and RFC 5952 text come from general-names.ts, the SAN encoder, so the
// policy and the certificate see one canonical form. Zone ids are refused: they have no meaning
// in a certificate.
import { isIP } from 'node:net';
import { formatIpAddress, parseIpAddress } from './general-names.ts';

/** 4 or 16 octets of an IPv4/IPv6 address, or null when `text` is not one. */
export function parseIp(text: string): Uint8Array | null {
  if (isIP(text) === 0 || text.includes('%')) return null;
  return parseIpAddress(text);
}

/** Canonical text of a 4- or 16-octet address; null for any other length. */
export function formatIp(bytes: Uint8Array): string | null {
  return bytes.length === 4 || bytes.length === 16 ? formatIpAddress(bytes) : null;
}

export interface Cidr {
  readonly network: Uint8Array;
  readonly prefixBits: number;
}

/** Parses `addr/prefix`; the address must have no bits set past the prefix. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const network = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (network === null || !/^(0|[1-9]\d{0,2})$/.test(prefixText)) return null;
  const prefixBits = Number(prefixText);
  if (prefixBits > network.length * 8) return null;
  for (let bit = prefixBits; bit < network.length * 8; bit++) {
    if ((network[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) return null;
  }
  return { network, prefixBits };
}

/** Whether `address` lies in `cidr` (same family only: an IPv4 range never admits IPv6). */
export function cidrContains(cidr: Cidr, address: Uint8Array): boolean {
  if (cidr.network.length !== address.length) return false;
  for (let bit = 0; bit < cidr.prefixBits; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((cidr.network[bit >> 3]! & mask) !== (address[bit >> 3]! & mask)) return false;
  }
  return true;
}
