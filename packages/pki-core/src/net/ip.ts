// IP addresses and CIDR blocks: the one parser for AZ subnets and local VIPs (state/, node/az-spec.ts),
// request routing by REMOTE_ADDR (cluster/routing.ts), iPAddress SANs (ca/) and the server's config.
// The replicated state machine applies these rules, so every replica and every caller must read
// the same text the same way: no zone ids (they name a local interface, not a host), no
// surrounding space, no leading zeros in IPv4 octets or prefix lengths, host bits zero in a CIDR.
// An IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2) stays IPv6 when parsed; `unmapIpv4` turns a
// client's address into IPv4 where a dual-stack socket reports it mapped.

type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** The address as an unsigned integer of 32 (IPv4) or 128 (IPv6) bits. */
  readonly value: bigint;
}

export interface CidrBlock {
  readonly family: IpFamily;
  /** The first address of the block. */
  readonly base: bigint;
  readonly prefixBits: number;
}

/** Longest address text: eight groups, or six groups and a dotted quad (RFC 4291 §2.2). */
const IP_TEXT_CHARS_MAX = 45;
const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const PREFIX_BITS = /^(?:0|[1-9][0-9]{0,2})$/;

function widthBitsOf(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6Groups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (const [i, part] of parts.entries()) {
    // RFC 4291 §2.2 form 3: an IPv4 dotted quad may end the address.
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      continue;
    }
    if (!IPV6_GROUP.test(part)) return undefined;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

/** RFC 4291 §2.2 text forms, including one `::`. */
function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseIpv6Groups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseIpv6Groups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** An IPv4 dotted quad or an RFC 4291 §2.2 IPv6 text form; undefined for anything else. */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (text.length > IP_TEXT_CHARS_MAX) return undefined;
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (!text.includes(':')) return undefined;
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** `address/prefixBits` (RFC 4632 §3.1, RFC 4291 §2.3) with the host bits zero; undefined otherwise. */
export function parseCidr(text: string): CidrBlock | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIpAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (ip === undefined || !PREFIX_BITS.test(prefixText)) return undefined;
  const prefixBits = Number(prefixText);
  const widthBits = widthBitsOf(ip.family);
  if (prefixBits > widthBits) return undefined;
  const hostMask = (1n << BigInt(widthBits - prefixBits)) - 1n;
  // A CIDR with host bits set names its block ambiguously (a typo would widen or shift a subnet):
  // demand the canonical form.
  if ((ip.value & hostMask) !== 0n) return undefined;
  return { family: ip.family, base: ip.value, prefixBits };
}

function cidrLastAddress(block: CidrBlock): bigint {
  return block.base + ((1n << BigInt(widthBitsOf(block.family) - block.prefixBits)) - 1n);
}

/** True when the blocks share an address; blocks of different families never do. */
export function cidrsOverlap(a: CidrBlock, b: CidrBlock): boolean {
  if (a.family !== b.family) return false;
  return a.base <= cidrLastAddress(b) && b.base <= cidrLastAddress(a);
}

/** True when `ip` lies in `block`; an IPv4 block never holds an IPv6 address, mapped or not. */
export function cidrContains(block: CidrBlock, ip: IpAddress): boolean {
  return block.family === ip.family && block.base <= ip.value && ip.value <= cidrLastAddress(block);
}

/** RFC 4291 §2.5.5.2: `::ffff:a.b.c.d` (how dual-stack sockets report IPv4 peers) as IPv4. */
export function unmapIpv4(ip: IpAddress): IpAddress {
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) return { family: 4, value: ip.value & 0xffff_ffffn };
  return ip;
}

/** Dotted quad, or RFC 5952 §4 text: lower case, no leading zeros, the longest zero run as `::`. */
export function formatIpAddress(ip: IpAddress): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((ip.value >> s) & 0xffffn).toString(16));
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
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

export function formatCidr(block: CidrBlock): string {
  return `${formatIpAddress({ family: block.family, value: block.base })}/${block.prefixBits}`;
}

/** The 4 (IPv4) or 16 (IPv6) network-order octets of an address (RFC 5280 §4.2.1.6 iPAddress). */
export function ipAddressOctets(ip: IpAddress): Uint8Array {
  const out = new Uint8Array(widthBitsOf(ip.family) / 8);
  let value = ip.value;
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** The address held in 4 or 16 network-order octets; undefined for any other length. */
export function ipAddressFromOctets(octets: Uint8Array): IpAddress | undefined {
  if (octets.length !== 4 && octets.length !== 16) return undefined;
  let value = 0n;
  for (const octet of octets) value = (value << 8n) | BigInt(octet);
  return { family: octets.length === 4 ? 4 : 6, value };
}
