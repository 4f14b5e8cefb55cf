// The names a cluster vouches for under its built-in profiles (docs/architecture.md §16.2): DNS
// domain rules and IP ranges fixed when the cluster is founded (`allowedDomains`,
// `allowedIpCidrs` at `init`, carried by ClusterCreated's settings), so a fresh cluster does not
// sign `www.google.com`. Every name a SAN states is judged: DNS names, IP addresses, the domain
// of an email address, the host (or SPIFFE trust domain) of a URI. The subject CN is not: the
// built-in server profiles require a SAN, and RFC 6125 §6.4.4 lets a client fall back to the CN
// only when there is none.
import { PkiError } from '../errors.ts';
import { cidrContains, parseCidr, parseIpAddress } from '../net/ip.ts';
import { checkDomainRule, domainRuleMatches } from './dns-name.ts';
import { spiffeTrustDomain, uriAuthority, type SanEntry } from './san.ts';

export interface AllowedNames {
  /** Domain rules (dns-name.ts): `example.com` admits that name, `.example.com` every name below it. */
  readonly dnsDomains: readonly string[];
  /** IP SANs must lie in one of these ranges. */
  readonly ipCidrs: readonly string[];
}

const RULES_MAX = 256;

function invalid(field: string, why: string): never {
  throw new PkiError('ERR_INPUT_INVALID', `${field}: ${why}`, { field });
}

/** Checks `data` (configuration, a log entry) as allowed names; unknown fields are refused. */
export function validateAllowedNames(data: unknown, field: string): AllowedNames {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) invalid(field, 'an object { dnsDomains, ipCidrs }');
  const o = data as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'dnsDomains' && k !== 'ipCidrs') invalid(`${field}.${k}`, 'is not a known field');
  const list = (key: string, check: (s: string) => string | null): string[] => {
    const v = o[key];
    if (!Array.isArray(v) || v.length > RULES_MAX) invalid(`${field}.${key}`, `a list of at most ${RULES_MAX} strings`);
    return v.map((s, i) => {
      const why = typeof s === 'string' ? check(s) : 'is not a string';
      if (why !== null) invalid(`${field}.${key}[${i}]`, `${JSON.stringify(s)} ${why}`);
      return s as string;
    });
  };
  return {
    dnsDomains: list('dnsDomains', checkDomainRule),
    ipCidrs: list('ipCidrs', (s) => (parseCidr(s) === undefined ? 'is not a CIDR range with host bits zero' : null)),
  };
}

function dnsAllowed(allowed: AllowedNames, name: string): boolean {
  return allowed.dnsDomains.some((rule) => domainRuleMatches(rule, name.toLowerCase()));
}

function ipAllowed(allowed: AllowedNames, text: string): boolean {
  const address = parseIpAddress(text);
  return address !== undefined && allowed.ipCidrs.some((c) => cidrContains(parseCidr(c)!, address));
}

/** The name of `san` the cluster must allow, which rules judge it, and whether they admit it. */
function judged(allowed: AllowedNames, san: SanEntry): { name: string; kind: 'dns' | 'ip'; ok: boolean } {
  switch (san.type) {
    case 'dns':
      return { name: san.value, kind: 'dns', ok: dnsAllowed(allowed, san.value) };
    case 'ip':
      return { name: san.value, kind: 'ip', ok: ipAllowed(allowed, san.value) };
    case 'email': {
      const domain = san.value.slice(san.value.lastIndexOf('@') + 1);
      return { name: domain, kind: 'dns', ok: dnsAllowed(allowed, domain) };
    }
    case 'uri': {
      const host = san.value.toLowerCase().startsWith('spiffe:') ? spiffeTrustDomain(san.value) : uriAuthority(san.value)?.host;
      if (host === undefined || host === '') return { name: san.value, kind: 'dns', ok: false };
      const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
      if (parseIpAddress(bare) !== undefined) return { name: bare, kind: 'ip', ok: ipAllowed(allowed, bare) };
      return { name: bare, kind: 'dns', ok: dnsAllowed(allowed, bare) };
    }
  }
}

/** How the policy reads in a refusal. */
function describe(allowed: AllowedNames, kind: 'dns' | 'ip'): string {
  const rules = kind === 'ip' ? allowed.ipCidrs : allowed.dnsDomains;
  return `${kind === 'ip' ? 'allowedIpCidrs' : 'allowedDomains'}: ${rules.length === 0 ? 'none' : rules.join(', ')}`;
}

/** ERR_NAME_NOT_ALLOWED naming the first SAN with a name outside `allowed`, and the policy. */
export function checkAllowedNames(sans: readonly SanEntry[], allowed: AllowedNames, fieldOf: (i: number) => string = (i) => `sans[${i}]`): void {
  sans.forEach((san, i) => {
    const { name, kind, ok } = judged(allowed, san);
    if (ok) return;
    const field = fieldOf(i);
    const of = name === san.value ? '' : ` (of ${san.type} SAN ${JSON.stringify(san.value)})`;
    throw new PkiError('ERR_NAME_NOT_ALLOWED', `${field}: ${JSON.stringify(name)}${of} is outside the names this cluster issues for under its built-in profiles (${describe(allowed, kind)})`, { field });
  });
}
