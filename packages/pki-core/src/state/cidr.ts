// IP addresses and CIDR blocks for AZ subnets. Requests are routed to an AZ by REMOTE_ADDR
// (seed 000_…), so the subnets of different AZs must never overlap: the state machine checks it.
// Parsing is strict (no zone ids, no leading zeros in IPv4 octets, host bits zero in a CIDR) so
// every replica reads the same text the same way.

export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

export interface CidrBlock {
  family: 4 | 6;
  /** The first address of the block. */
  base: bigint;
  prefixBits: number;
}

const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

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

export function parseIpAddress(text: string): IpAddress | undefined {
  if (text.length > 45) return undefined;
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (!text.includes(':')) return undefined;
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

export function parseCidr(text: string): CidrBlock | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIpAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (ip === undefined || !/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefixBits = Number(prefixText);
  const widthBits = ip.family === 4 ? 32 : 128;
  if (prefixBits > widthBits) return undefined;
  const hostMask = (1n << BigInt(widthBits - prefixBits)) - 1n;
  // A CIDR with host bits set names its block ambiguously; demand the canonical form.
  if ((ip.value & hostMask) !== 0n) return undefined;
  return { family: ip.family, base: ip.value, prefixBits };
}

function lastAddress(block: CidrBlock): bigint {
  const widthBits = block.family === 4 ? 32 : 128;
  return block.base + ((1n << BigInt(widthBits - block.prefixBits)) - 1n);
}

export function cidrsOverlap(a: CidrBlock, b: CidrBlock): boolean {
  if (a.family !== b.family) return false;
  return a.base <= lastAddress(b) && b.base <= lastAddress(a);
}

export function cidrContains(block: CidrBlock, ip: IpAddress): boolean {
  return block.family === ip.family && block.base <= ip.value && ip.value <= lastAddress(block);
}

/** RFC 4291 §2.5.5.2: `::ffff:a.b.c.d` (how dual-stack sockets report IPv4 peers) as IPv4. */
export function unmapIpv4(ip: IpAddress): IpAddress {
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) return { family: 4, value: ip.value & 0xffff_ffffn };
  return ip;
}
