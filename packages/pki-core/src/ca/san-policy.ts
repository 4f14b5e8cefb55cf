// Which SANs a profile admits (RFC 5280 §4.2.1.6 names, checked against SanPolicy). Entries must
// already be syntax-checked and canonical (san.ts normalizeSan); refusals are ERR_SAN_FORBIDDEN
// naming the SAN's field.
import { PkiError } from '../errors.ts';
import { cidrContains, parseCidr, parseIpAddress } from '../net/ip.ts';
import { domainRuleMatches } from './dns-name.ts';
import type { DomainRules, SanPolicy } from './profiles.ts';
import { spiffeTrustDomain, uriAuthority, type SanEntry } from './san.ts';

function admitted(rules: DomainRules, name: string): boolean {
  return rules === 'any' || rules.some((r) => domainRuleMatches(r, name));
}

/** The reason `san` is refused by `policy`, or null when it is admitted. */
function sanRefusal(policy: SanPolicy, san: SanEntry): string | null {
  if (!policy.allowedTypes.includes(san.type)) return `${san.type} SANs are not allowed by this profile`;
  switch (san.type) {
    case 'dns':
      if (san.value.startsWith('*.') && !policy.dns.allowWildcard) return 'wildcard DNS names are not allowed by this profile';
      return admitted(policy.dns.allowedDomains, san.value) ? null : 'is outside the allowed DNS domains';
    case 'ip': {
      const address = parseIpAddress(san.value);
      const ok = address !== undefined && policy.ip.allowedCidrs.some((c) => cidrContains(parseCidr(c)!, address));
      return ok ? null : 'is outside the allowed IP ranges';
    }
    case 'uri':
      return uriRefusal(policy, san.value);
    case 'email': {
      const domain = san.value.slice(san.value.lastIndexOf('@') + 1);
      return admitted(policy.email.allowedDomains, domain) ? null : 'is outside the allowed email domains';
    }
  }
}

function uriRefusal(policy: SanPolicy, value: string): string | null {
  const scheme = value.slice(0, value.indexOf(':')).toLowerCase();
  if (!policy.uri.allowedSchemes.includes(scheme)) return `URI scheme ${scheme} is not allowed by this profile`;
  if (scheme === 'spiffe') {
    const td = spiffeTrustDomain(value);
    const rules = policy.uri.spiffeTrustDomains;
    return rules === 'any' || rules.includes(td) ? null : `SPIFFE trust domain ${td} is not allowed`;
  }
  if (policy.uri.allowedHosts === 'any') return null;
  const authority = uriAuthority(value);
  if (authority === null) return 'has no host to check against the allowed hosts';
  return admitted(policy.uri.allowedHosts, authority.host) ? null : `URI host ${authority.host} is not allowed`;
}

/** Checks a whole SAN list; `fieldOf(i)` names entry i in errors (e.g. `sans[2]`). */
export function checkSanPolicy(policy: SanPolicy, sans: readonly SanEntry[], listField: string, fieldOf: (i: number) => string): void {
  if (sans.length > policy.maxSans) {
    throw new PkiError('ERR_SAN_FORBIDDEN', `${listField}: ${sans.length} SANs, the profile allows at most ${policy.maxSans}`, { field: listField });
  }
  if (policy.requireSan && sans.length === 0) {
    throw new PkiError('ERR_SAN_FORBIDDEN', `${listField}: the profile requires at least one SAN`, { field: listField });
  }
  sans.forEach((san, i) => {
    const why = sanRefusal(policy, san);
    if (why !== null) {
      const field = fieldOf(i);
      throw new PkiError('ERR_SAN_FORBIDDEN', `${field}: ${san.type} SAN ${JSON.stringify(san.value)}: ${why}`, { field });
    }
  });
}
