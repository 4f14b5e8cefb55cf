// What an operator may declare as an AZ (docs/spec.md §9.2), checked before anything is proposed
// so each refusal names its field: the state machine checks subnet overlap again on apply, which
// is authoritative, but answers only ERR_EVENT_REJECTED.
import { AZ_NAME } from '../../cluster/cluster-map.ts';
import { PkiError } from '../../errors.ts';
import { cidrContains, cidrsOverlap, parseCidr, parseIpAddress, type CidrBlock } from '../../net/ip.ts';
import type { AzSpec } from '../../state/events.ts';
import { LIMITS } from '../../state/fields.ts';
import type { AzRecord } from '../../state/records.ts';

function invalid(field: string, message: string): never {
  throw new PkiError('ERR_INPUT_INVALID', `${field}: ${message}`, { field });
}

export function checkAzName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !AZ_NAME.test(name)) invalid(field, '1–63 letters, digits, ".", "_" or "-", starting with a letter or digit');
  return name;
}

function checkSubnets(value: unknown): { texts: string[]; blocks: CidrBlock[] } {
  if (!Array.isArray(value) || value.length === 0 || value.length > LIMITS.maxSubnets) {
    invalid('subnets', `1..${LIMITS.maxSubnets} CIDR blocks`);
  }
  const texts: string[] = [];
  const blocks: CidrBlock[] = [];
  value.forEach((s: unknown, i) => {
    // parseCidr is strict: host bits must be zero, so `10.4.0.1/16` is refused, not widened.
    const block = typeof s === 'string' ? parseCidr(s) : undefined;
    if (block === undefined) invalid(`subnets[${i}]`, 'a CIDR block with its host bits zero (e.g. 10.4.0.0/16)');
    blocks.forEach((b, j) => {
      if (cidrsOverlap(b, block)) invalid(`subnets[${i}]`, `overlaps subnets[${j}]`);
    });
    texts.push(s as string);
    blocks.push(block);
  });
  return { texts, blocks };
}

/**
 * A declared AZ: a valid name not in use; subnets that overlap neither each other nor another
 * AZ's (docs/spec.md §2.2.2: each client routes by REMOTE_ADDR to exactly one AZ); a local VIP that
 * lies in one of its own subnets (its nodes hold it there) and is no other AZ's.
 */
export function checkAzSpec(input: { name: unknown; subnets: unknown; localVip: unknown }, others: readonly AzRecord[]): AzSpec {
  const name = checkAzName(input.name);
  if (others.some((az) => az.name === name)) throw new PkiError('ERR_ALREADY_EXISTS', `AZ ${name} already exists`, { field: 'name' });
  const { texts, blocks } = checkSubnets(input.subnets);
  for (const other of others) {
    for (const text of other.subnets) {
      const theirs = parseCidr(text);
      const i = theirs === undefined ? -1 : blocks.findIndex((b) => cidrsOverlap(b, theirs));
      if (i >= 0) invalid(`subnets[${i}]`, `overlaps ${text} of AZ ${other.name}`);
    }
  }
  const vip = typeof input.localVip === 'string' ? parseIpAddress(input.localVip) : undefined;
  if (vip === undefined || typeof input.localVip !== 'string') return invalid('localVip', 'an IPv4 or IPv6 address');
  const home = blocks.find((b) => cidrContains(b, vip));
  if (!home) return invalid('localVip', `must lie in one of the AZ's subnets (${texts.join(', ')})`);
  if (isNetworkOrBroadcast(home, vip.value)) invalid('localVip', 'is the network or broadcast address of its subnet, which no host can hold');
  const taken = others.find((az) => az.localVip === input.localVip);
  if (taken) invalid('localVip', `is the local VIP of AZ ${taken.name}`);
  return { name, subnets: texts, localVip: input.localVip };
}

/** RFC 919 / RFC 950: an IPv4 subnet of /30 or wider reserves its first and last addresses. */
function isNetworkOrBroadcast(block: CidrBlock, value: bigint): boolean {
  if (block.family !== 4 || block.prefixBits > 30) return false;
  const last = block.base + (1n << BigInt(32 - block.prefixBits)) - 1n;
  return value === block.base || value === last;
}

/**
 * A node founding a declared AZ must be configured as the operator declared it: otherwise its
 * clients would be routed by other subnets, or its VIP held at another address, than the map says.
 */
export function checkAzMatches(declared: AzRecord, configured: AzSpec): void {
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((s, i) => s === [...b].sort()[i]);
  if (!same(declared.subnets, configured.subnets)) {
    throw new PkiError('ERR_AZ_MISMATCH', `AZ ${declared.name} was declared with subnets ${declared.subnets.join(', ')}; this node is configured with ${configured.subnets.join(', ')}`, { field: 'az.subnets' });
  }
  if (declared.localVip !== configured.localVip) {
    throw new PkiError('ERR_AZ_MISMATCH', `AZ ${declared.name} was declared with local VIP ${declared.localVip}; this node is configured with ${configured.localVip}`, { field: 'az.localVip' });
  }
}
