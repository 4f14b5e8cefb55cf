// Order identifiers (RFC 8555 §7.1.3, §7.4; IP identifiers RFC 8738 §3): their syntax, their
// canonical form and the directory's identifier policy (DNS suffixes, IP CIDRs).
import { checkDnsName } from '../../ca/dns-name.ts';
import { cidrContains, formatIpAddress, parseCidr, parseIpAddress, unmapIpv4, type CidrBlock } from '../../net/ip.ts';
import type { AcmeIdentifier } from '../../state/acme-events.ts';
import { AcmeProblem } from './acme-problem.ts';

export interface AcmeIdentifierPolicy {
  /** DNS names must equal one of these or end in `.` + one of them; empty: no DNS name is allowed. */
  dnsSuffixes: readonly string[];
  /** IP identifiers must lie in one of these; empty: no IP identifier is allowed. */
  ipCidrs: readonly string[];
}

/** Any DNS name, any IP address: the policy when the operator sets none. */
export const OPEN_IDENTIFIER_POLICY: AcmeIdentifierPolicy = Object.freeze({ dnsSuffixes: [''], ipCidrs: ['0.0.0.0/0', '::/0'] });

/** An identifier as the order keeps it: lower-case DNS name (with `*.` for a wildcard), RFC 5952 IP. */
export function canonicalIdentifier(raw: unknown, field: string): AcmeIdentifier {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AcmeProblem('malformed', `${field}: expected an object {type, value}`);
  const { type, value } = raw as Record<string, unknown>;
  if (typeof value !== 'string') throw new AcmeProblem('malformed', `${field}.value: expected a string`);
  if (type === 'dns') {
    const check = checkDnsName(value, { allowWildcardLabel: true });
    if (!check.ok) throw new AcmeProblem('rejectedIdentifier', `${field}: DNS name ${JSON.stringify(value)} ${check.reason}`);
    if (parseIpAddress(value) !== undefined) throw new AcmeProblem('rejectedIdentifier', `${field}: ${value} is an IP address: use an "ip" identifier (RFC 8738)`);
    return { type: 'dns', value: value.toLowerCase() };
  }
  if (type === 'ip') {
    const ip = parseIpAddress(value);
    if (ip === undefined) throw new AcmeProblem('rejectedIdentifier', `${field}: ${JSON.stringify(value)} is not an IP address`);
    return { type: 'ip', value: formatIpAddress(unmapIpv4(ip)) };
  }
  throw new AcmeProblem('unsupportedIdentifier', `${field}.type: ${JSON.stringify(type)} is not supported; use "dns" or "ip"`);
}

/** Whether the policy admits the identifier; `rejectedIdentifier` naming the rule otherwise. */
export function checkIdentifierPolicy(identifier: AcmeIdentifier, policy: AcmeIdentifierPolicy, field: string): void {
  if (identifier.type === 'dns') {
    const name = identifier.value.startsWith('*.') ? identifier.value.slice(2) : identifier.value;
    const allowed = policy.dnsSuffixes.some((suffix) => suffix === '' || name === suffix || name.endsWith(`.${suffix}`));
    if (!allowed) {
      const list = policy.dnsSuffixes.length === 0 ? 'none are allowed' : `allowed: ${policy.dnsSuffixes.join(', ')}`;
      throw new AcmeProblem('rejectedIdentifier', `${field}: ${identifier.value} is outside this directory's DNS names (${list})`);
    }
    return;
  }
  const ip = parseIpAddress(identifier.value);
  const blocks = policy.ipCidrs.map((c) => parseCidr(c)).filter((b): b is CidrBlock => b !== undefined);
  if (ip === undefined || !blocks.some((b) => cidrContains(b, ip))) {
    const list = policy.ipCidrs.length === 0 ? 'none are allowed' : `allowed: ${policy.ipCidrs.join(', ')}`;
    throw new AcmeProblem('rejectedIdentifier', `${field}: ${identifier.value} is outside this directory's IP ranges (${list})`);
  }
}

/** Identifiers compare by type and canonical value; order and duplicates do not matter. */
export function identifierSetKey(identifiers: readonly AcmeIdentifier[]): string {
  return [...new Set(identifiers.map((i) => `${i.type}:${i.value}`))].sort().join('\n');
}
