// What a provisioner may ask for: the one policy object of every issuing credential that is not
// the admin token (one-time tokens, ACME directories). Plain data, checked on the way in and at
// each issuance, on every node alike: DNS names under its suffixes, IP addresses in its ranges,
// URIs under its prefixes, its profiles, and no more than its maximum lifetime. Email SANs are
// never admitted (no provisioner proves a mailbox). Refusals name the field they concern.
import { checkDomainRule, domainRuleMatches } from '../../ca/dns-name.ts';
import type { SanEntry } from '../../ca/san.ts';
import { PkiError } from '../../errors.ts';
import { cidrContains, parseCidr, parseIpAddress } from '../../net/ip.ts';
import { validateRateLimit, type ProvisionerRateLimit } from './rate-limit.ts';

export interface ProvisionerPolicy {
  /** Domain rules (ca/dns-name.ts): `example.com` admits that name, `.example.com` every name below it. */
  readonly dnsSuffixes: readonly string[];
  /** IP SANs must lie in one of these ranges. */
  readonly ipCidrs: readonly string[];
  /** URI SANs must start with one of these (e.g. `spiffe://prod.example/`). */
  readonly uriPrefixes: readonly string[];
  /** The certificate profiles it may issue under. */
  readonly profiles: readonly string[];
  readonly maxLifetimeSeconds: number;
  /** Token buckets per provisioner and per identity (rate-limit.ts); absent: no limit. */
  readonly rateLimit?: ProvisionerRateLimit;
}

/** What an issuance asks for, as the policy judges it. */
export interface PolicyRequest {
  readonly profile: string;
  readonly sans: readonly SanEntry[];
  /** The lifetime the certificate will have (asked for, or the profile's default). */
  readonly lifetimeSeconds: number;
}

const POLICY_KEYS = ['dnsSuffixes', 'ipCidrs', 'uriPrefixes', 'profiles', 'maxLifetimeSeconds', 'rateLimit'] as const;
const POLICY_ENTRIES_MAX = 256;
const POLICY_ENTRY_CHARS_MAX = 255;
/** The longest lifetime a policy may allow: the built-in leaf maximum (ca/profiles.ts). */
const POLICY_LIFETIME_SECONDS_MAX = 3 * 365 * 86_400;

function invalid(field: string, why: string): never {
  throw new PkiError('ERR_INPUT_INVALID', `${field}: ${why}`, { field });
}

function entries(v: unknown, field: string, check: (s: string, f: string) => void): string[] {
  if (!Array.isArray(v) || v.length > POLICY_ENTRIES_MAX) invalid(field, `a list of at most ${POLICY_ENTRIES_MAX} strings`);
  return v.map((s, i) => {
    const f = `${field}[${i}]`;
    if (typeof s !== 'string' || s.length === 0 || s.length > POLICY_ENTRY_CHARS_MAX) invalid(f, `a string of 1..${POLICY_ENTRY_CHARS_MAX} characters`);
    check(s, f);
    return s;
  });
}

/** Checks `data` (an admin request, a log entry) as a policy; unknown fields are refused. */
export function validateProvisionerPolicy(data: unknown, field = 'policy'): ProvisionerPolicy {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) invalid(field, 'an object');
  const o = data as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(POLICY_KEYS as readonly string[]).includes(k)) invalid(`${field}.${k}`, 'is not a known field');
  const lifetime = o['maxLifetimeSeconds'];
  if (typeof lifetime !== 'number' || !Number.isSafeInteger(lifetime) || lifetime < 1 || lifetime > POLICY_LIFETIME_SECONDS_MAX) {
    invalid(`${field}.maxLifetimeSeconds`, `a whole number of seconds, 1..${POLICY_LIFETIME_SECONDS_MAX}`);
  }
  const policy: ProvisionerPolicy = {
    dnsSuffixes: entries(o['dnsSuffixes'] ?? [], `${field}.dnsSuffixes`, (s, f) => {
      const why = checkDomainRule(s);
      if (why !== null) invalid(f, `domain rule ${JSON.stringify(s)} ${why}`);
    }),
    ipCidrs: entries(o['ipCidrs'] ?? [], `${field}.ipCidrs`, (s, f) => {
      if (parseCidr(s) === undefined) invalid(f, `${JSON.stringify(s)} is not a CIDR range with host bits zero`);
    }),
    uriPrefixes: entries(o['uriPrefixes'] ?? [], `${field}.uriPrefixes`, (s, f) => {
      if (!/^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/.test(s)) invalid(f, `${JSON.stringify(s)} is not a scheme://authority prefix`);
    }),
    profiles: entries(o['profiles'], `${field}.profiles`, (s, f) => {
      if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(s)) invalid(f, `${JSON.stringify(s)} is not a profile name`);
    }),
    maxLifetimeSeconds: lifetime,
    ...(o['rateLimit'] === undefined ? {} : { rateLimit: validateRateLimit(o['rateLimit'], `${field}.rateLimit`) }),
  };
  if (policy.profiles.length === 0) invalid(`${field}.profiles`, 'must name at least one profile');
  return policy;
}

function sanRefusal(policy: ProvisionerPolicy, san: SanEntry): string | null {
  switch (san.type) {
    case 'dns':
      return policy.dnsSuffixes.some((rule) => domainRuleMatches(rule, san.value)) ? null : 'is outside the DNS suffixes of the provisioner';
    case 'ip': {
      const address = parseIpAddress(san.value);
      const inside = address !== undefined && policy.ipCidrs.some((c) => cidrContains(parseCidr(c)!, address));
      return inside ? null : 'is outside the IP ranges of the provisioner';
    }
    case 'uri':
      return policy.uriPrefixes.some((p) => san.value.startsWith(p)) ? null : 'is outside the URI prefixes of the provisioner';
    case 'email':
      return 'email SANs are not issued by provisioners';
  }
}

/**
 * Refuses what `policy` does not allow: the profile (ERR_PROFILE_FORBIDDEN), a SAN
 * (ERR_SAN_FORBIDDEN naming `sans[i]`) or the lifetime (ERR_LIFETIME_INVALID).
 */
export function checkProvisionerPolicy(policy: ProvisionerPolicy, request: PolicyRequest): void {
  if (!policy.profiles.includes(request.profile)) {
    throw new PkiError('ERR_PROFILE_FORBIDDEN', `profile ${request.profile} is not one the provisioner may issue (${policy.profiles.join(', ')})`, { field: 'profile' });
  }
  request.sans.forEach((san, i) => {
    const why = sanRefusal(policy, san);
    if (why !== null) throw new PkiError('ERR_SAN_FORBIDDEN', `sans[${i}]: ${san.type} SAN ${JSON.stringify(san.value)} ${why}`, { field: `sans[${i}]` });
  });
  if (request.lifetimeSeconds > policy.maxLifetimeSeconds) {
    throw new PkiError('ERR_LIFETIME_INVALID', `lifetime ${request.lifetimeSeconds}s exceeds the provisioner's maximum of ${policy.maxLifetimeSeconds}s`, { field: 'lifetimeSeconds' });
  }
}
