// IP addresses and CIDR subnets as validated values, so request routing can match a client's
// REMOTE_ADDR against the AZ table (seed 000 item 10). Pure: no DNS, no sockets.
import { isIPv4, isIPv6 } from 'node:net';
import { PkiError } from '../errors.ts';

export type IpFamily = 4 | 6;

/** A parsed IP address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) is family 4. */
export interface IpAddress {
  readonly family: IpFamily;
  /** The address as an unsigned integer of 32 (v4) or 128 (v6) bits. */
  readonly value: bigint;
}

/** A parsed subnet with its host bits zero (RFC 4632 §3.1 prefix notation). */
export interface Cidr {
  readonly family: IpFamily;
  readonly network: bigint;
  readonly prefixLength: number;
}

const V4_BITS = 32;
const V6_BITS = 128;
// RFC 4291 §2.5.5.2: ::ffff:0:0/96 holds IPv4-mapped addresses.
const V4_MAPPED_PREFIX = 0xffffn << 32n;
const V4_MAPPED_MASK = ((1n << 96n) - 1n) << 32n;

function bitsOf(family: IpFamily): number {
  return family === 4 ? V4_BITS : V6_BITS;
}

function invalid(field: string, message: string): PkiError {
  return new PkiError('ERR_INPUT_INVALID', `${field}: ${message}`, { field });
}

function parseV4(text: string): bigint {
  let value = 0n;
  for (const octet of text.split('.')) value = (value << 8n) | BigInt(Number(octet));
  return value;
}

function parseV6(text: string): bigint {
  let head = text;
  let tailV4: bigint | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // RFC 4291 §2.2 form 3: the low 32 bits written as dotted IPv4.
    tailV4 = parseV4(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const zeros = right === undefined ? 0 : 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...new Array<string>(zeros).fill('0'), ...rightGroups];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(parseInt(group, 16));
  if (tailV4 !== null) value = (value & ~0xffff_ffffn) | tailV4;
  return value;
}

/**
 * Parses an IPv4 or IPv6 address. A zone index (`fe80::1%eth0`) is dropped: it names a local
 * interface, not a different host. IPv4-mapped IPv6 is normalized to IPv4, because Node reports
 * IPv4 clients of a dual-stack listener as `::ffff:a.b.c.d`.
 */
export function parseIp(text: string, field = 'address'): IpAddress {
  const trimmed = text.trim();
  const bare = trimmed.includes(':') ? trimmed.replace(/%[^%]*$/, '') : trimmed;
  if (isIPv4(bare)) return { family: 4, value: parseV4(bare) };
  if (!isIPv6(bare)) throw invalid(field, `not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
  const value = parseV6(bare);
  if ((value & V4_MAPPED_MASK) === V4_MAPPED_PREFIX) {
    return { family: 4, value: value & 0xffff_ffffn };
  }
  return { family: 6, value };
}

/**
 * Parses `address/prefixLength`. Host bits must be zero (`10.1.1.0/24`, not `10.1.1.7/24`): a
 * typo in an AZ table should fail loudly, not silently widen or shift a subnet. An IPv4-mapped
 * IPv6 subnet of prefix ≥ 96 becomes the equivalent IPv4 subnet.
 */
export function parseCidr(text: string, field = 'subnet'): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw invalid(field, `missing "/prefixLength" in ${JSON.stringify(text)}`);
  const lengthText = text.slice(slash + 1).trim();
  if (!/^(0|[1-9]\d{0,2})$/.test(lengthText)) {
    throw invalid(field, `prefix length is not a number in ${JSON.stringify(text)}`);
  }
  let prefixLength = Number(lengthText);
  const raw = text.slice(0, slash);
  const address = parseIp(raw, field);
  const isMapped = raw.includes(':') && address.family === 4;
  if (isMapped) {
    if (prefixLength < 96 || prefixLength > V6_BITS) {
      throw invalid(field, `IPv4-mapped subnet needs a prefix of 96..128 in ${JSON.stringify(text)}`);
    }
    prefixLength -= 96;
  }
  const bits = bitsOf(address.family);
  if (prefixLength > bits) {
    throw invalid(field, `prefix length ${prefixLength} exceeds ${bits} in ${JSON.stringify(text)}`);
  }
  if ((address.value & ~prefixMask(address.family, prefixLength)) !== 0n) {
    throw invalid(field, `host bits are set in ${JSON.stringify(text)}`);
  }
  return { family: address.family, network: address.value, prefixLength };
}

function prefixMask(family: IpFamily, prefixLength: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefixLength))) & all;
}

export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.family !== address.family) return false;
  return (address.value & prefixMask(cidr.family, cidr.prefixLength)) === cidr.network;
}

/** True when the two subnets share at least one address (one contains the other). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  const mask = prefixMask(a.family, shorter);
  return (a.network & mask) === (b.network & mask);
}

export function formatIp(address: IpAddress): string {
  if (address.family === 4) {
    const v = address.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((address.value >> s) & 0xffffn).toString(16));
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (bestStart < 0) return groups.join(':');
  const left = groups.slice(0, bestStart).join(':');
  const right = groups.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, value: cidr.network })}/${cidr.prefixLength}`;
}
