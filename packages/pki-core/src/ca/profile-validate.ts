// Validation of profile data from outside (a file, an admin request, a log entry): every field is
// checked for type and range, unknown fields are refused (a typo must not silently weaken policy),
// and the cross-field rules of RFC 5280 hold. Errors are ERR_PROFILE_INVALID naming the field.
import { PkiError } from '../errors.ts';
import { parseCidr } from '../net/ip.ts';
import { CSR_KEY_TYPES, type CsrKeyType } from './csr-algorithms.ts';
import { checkDomainRule } from './dns-name.ts';
import { KEY_USAGES, type ExtKeyUsage, type KeyUsage } from './extensions.ts';
import { KNOWN_NAME_ATTRIBUTES } from './name-attributes.ts';
import { OID_KP } from './oids.ts';
import { NOT_AFTER_BEHAVIORS, profileFormatVersion, type CertificateProfile, type DomainRules, type ProfileSet, type SanPolicy, type SubjectPolicy } from './profiles.ts';
import { SAN_TYPES, type SanType } from './san.ts';

/** Longest lifetime any profile may allow: 100 years, far past any sane root. */
const profileLifetimeMaxSeconds = 100 * 365 * 24 * 3600;
/** Most SANs a profile may allow in one certificate. */
const profileMaxSansLimit = 1000;
/** Deepest pathLenConstraint a profile may set. */
const profilePathLenMax = 16;

type Obj = Record<string, unknown>;

function fail(field: string, why: string): never {
  throw new PkiError('ERR_PROFILE_INVALID', `profile ${field}: ${why}`, { field });
}

function object(v: unknown, field: string, keys: readonly string[]): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(field, 'must be an object');
  for (const k of Object.keys(v)) if (!keys.includes(k)) fail(`${field}.${k}`, 'is not a known field');
  for (const k of keys) if (!(k in v)) fail(`${field}.${k}`, 'is missing');
  return v as Obj;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, 'must be true or false');
  return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(field, `must be an integer in [${min}, ${max}]`);
  return v;
}

function list<T extends string>(v: unknown, field: string, check: (s: string, f: string) => T): T[] {
  if (!Array.isArray(v)) fail(field, 'must be an array');
  const out = v.map((s, i) => {
    if (typeof s !== 'string') fail(`${field}[${i}]`, 'must be a string');
    return check(s, `${field}[${i}]`);
  });
  if (new Set(out).size !== out.length) fail(field, 'has duplicates');
  return out;
}

function oneOf<T extends string>(allowed: readonly T[]): (s: string, f: string) => T {
  return (s, f) => ((allowed as readonly string[]).includes(s) ? (s as T) : fail(f, `must be one of ${allowed.join(', ')}`));
}

function domainRules(v: unknown, field: string): DomainRules {
  if (v === 'any') return 'any';
  return list(v, field, (s, f) => {
    const why = checkDomainRule(s);
    return why === null ? s : fail(f, `domain rule ${JSON.stringify(s)} ${why}`);
  });
}

/** Checks `data` as a profile and returns a frozen copy of it. */
export function validateProfile(data: unknown, field = 'profile'): CertificateProfile {
  // `notAfterBehavior` is the one optional field (profiles stored before it existed have none).
  const { notAfterBehavior, rest } = splitNotAfterBehavior(data, field);
  const p = object(rest, field, [
    'formatVersion', 'name', 'lifetime', 'keyUsage', 'extKeyUsage', 'basicConstraints', 'nameConstraints', 'allowedKeyTypes', 'san', 'subject',
  ]);
  if (p['formatVersion'] !== profileFormatVersion) fail(`${field}.formatVersion`, `must be ${profileFormatVersion}`);
  if (typeof p['name'] !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(p['name'])) fail(`${field}.name`, 'must be 1–64 letters, digits, _ or -, starting with a letter');
  const lt = object(p['lifetime'], `${field}.lifetime`, ['defaultSeconds', 'minSeconds', 'maxSeconds']);
  const lifetime = {
    defaultSeconds: int(lt['defaultSeconds'], `${field}.lifetime.defaultSeconds`, 1, profileLifetimeMaxSeconds),
    minSeconds: int(lt['minSeconds'], `${field}.lifetime.minSeconds`, 1, profileLifetimeMaxSeconds),
    maxSeconds: int(lt['maxSeconds'], `${field}.lifetime.maxSeconds`, 1, profileLifetimeMaxSeconds),
  };
  if (lifetime.minSeconds > lifetime.defaultSeconds || lifetime.defaultSeconds > lifetime.maxSeconds) {
    fail(`${field}.lifetime`, 'must satisfy minSeconds ≤ defaultSeconds ≤ maxSeconds');
  }
  const keyUsage: KeyUsage[] = list(p['keyUsage'], `${field}.keyUsage`, oneOf(KEY_USAGES));
  // RFC 5280 §4.2.1.3: when the extension appears, at least one bit MUST be set.
  if (keyUsage.length === 0) fail(`${field}.keyUsage`, 'must name at least one usage');
  const extKeyUsage: ExtKeyUsage[] = list(p['extKeyUsage'], `${field}.extKeyUsage`, oneOf(Object.keys(OID_KP) as ExtKeyUsage[]));
  const bc = object(p['basicConstraints'], `${field}.basicConstraints`, ['ca', 'pathLen']);
  const ca = bool(bc['ca'], `${field}.basicConstraints.ca`);
  const pathLen = bc['pathLen'] === null ? null : int(bc['pathLen'], `${field}.basicConstraints.pathLen`, 0, profilePathLenMax);
  // RFC 5280 §4.2.1.9: pathLenConstraint only with cA; keyCertSign if and only if cA.
  if (!ca && pathLen !== null) fail(`${field}.basicConstraints.pathLen`, 'is only meaningful when ca is true');
  if (ca !== keyUsage.includes('keyCertSign')) fail(`${field}.keyUsage`, 'must include keyCertSign exactly when basicConstraints.ca is true');
  const nameConstraints = validateNameConstraints(p['nameConstraints'], `${field}.nameConstraints`, ca);
  const allowedKeyTypes: CsrKeyType[] = list(p['allowedKeyTypes'], `${field}.allowedKeyTypes`, oneOf(CSR_KEY_TYPES));
  if (allowedKeyTypes.length === 0) fail(`${field}.allowedKeyTypes`, 'must name at least one key type');
  const san = validateSanPolicy(p['san'], `${field}.san`);
  const subject = validateSubjectPolicy(p['subject'], `${field}.subject`);
  // RFC 5280 §4.1.2.6: a CA's subject MUST be non-empty.
  if (ca && !subject.requireCommonName) fail(`${field}.subject.requireCommonName`, 'must be true for a CA profile');
  if (!subject.requireCommonName && !san.requireSan && !ca) fail(`${field}.san.requireSan`, 'must be true when a CN is not required (an empty subject needs SANs)');
  const profile: CertificateProfile = {
    formatVersion: profileFormatVersion, name: p['name'], lifetime, keyUsage, extKeyUsage,
    basicConstraints: { ca, pathLen }, nameConstraints, allowedKeyTypes, san, subject,
    ...(notAfterBehavior === undefined ? {} : { notAfterBehavior }),
  };
  return structuredFreeze(profile);
}

function splitNotAfterBehavior(data: unknown, field: string): { notAfterBehavior: CertificateProfile['notAfterBehavior']; rest: unknown } {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !('notAfterBehavior' in data)) return { notAfterBehavior: undefined, rest: data };
  const { notAfterBehavior, ...rest } = data as Obj;
  const f = `${field}.notAfterBehavior`;
  if (typeof notAfterBehavior !== 'string') fail(f, 'must be a string');
  return { notAfterBehavior: oneOf(NOT_AFTER_BEHAVIORS)(notAfterBehavior, f), rest };
}

function validateNameConstraints(v: unknown, field: string, ca: boolean): CertificateProfile['nameConstraints'] {
  if (v === null) return null;
  // RFC 5280 §4.2.1.10: name constraints MUST be used only in a CA certificate.
  if (!ca) fail(field, 'is only allowed in a CA profile');
  const nc = object(v, field, ['permittedDns', 'excludedDns']);
  const rule = (s: string, f: string): string => {
    const why = checkDomainRule(s);
    return why === null ? s : fail(f, `DNS subtree ${JSON.stringify(s)} ${why}`);
  };
  const permittedDns = list(nc['permittedDns'], `${field}.permittedDns`, rule);
  const excludedDns = list(nc['excludedDns'], `${field}.excludedDns`, rule);
  // RFC 5280 §4.2.1.10: at least one of permittedSubtrees and excludedSubtrees MUST be present.
  if (permittedDns.length + excludedDns.length === 0) fail(field, 'must list at least one subtree (or be null)');
  return { permittedDns, excludedDns };
}

function validateSanPolicy(v: unknown, field: string): SanPolicy {
  const s = object(v, field, ['allowedTypes', 'requireSan', 'maxSans', 'dns', 'ip', 'uri', 'email']);
  const allowedTypes: SanType[] = list(s['allowedTypes'], `${field}.allowedTypes`, oneOf(SAN_TYPES));
  const requireSan = bool(s['requireSan'], `${field}.requireSan`);
  const maxSans = int(s['maxSans'], `${field}.maxSans`, 0, profileMaxSansLimit);
  if (requireSan && (allowedTypes.length === 0 || maxSans === 0)) fail(`${field}.requireSan`, 'needs at least one allowed type and maxSans ≥ 1');
  const dns = object(s['dns'], `${field}.dns`, ['allowedDomains', 'allowWildcard']);
  const ip = object(s['ip'], `${field}.ip`, ['allowedCidrs']);
  const uri = object(s['uri'], `${field}.uri`, ['allowedSchemes', 'allowedHosts', 'spiffeTrustDomains']);
  const email = object(s['email'], `${field}.email`, ['allowedDomains']);
  return {
    allowedTypes,
    requireSan,
    maxSans,
    dns: { allowedDomains: domainRules(dns['allowedDomains'], `${field}.dns.allowedDomains`), allowWildcard: bool(dns['allowWildcard'], `${field}.dns.allowWildcard`) },
    ip: { allowedCidrs: list(ip['allowedCidrs'], `${field}.ip.allowedCidrs`, (c, f) => (parseCidr(c) === undefined ? fail(f, `${JSON.stringify(c)} is not a CIDR range with host bits zero`) : c)) },
    uri: {
      allowedSchemes: list(uri['allowedSchemes'], `${field}.uri.allowedSchemes`, (c, f) => (/^[a-z][a-z0-9+.-]*$/.test(c) ? c : fail(f, `${JSON.stringify(c)} is not a lower-case URI scheme`))),
      allowedHosts: domainRules(uri['allowedHosts'], `${field}.uri.allowedHosts`),
      spiffeTrustDomains:
        uri['spiffeTrustDomains'] === 'any'
          ? 'any'
          : list(uri['spiffeTrustDomains'], `${field}.uri.spiffeTrustDomains`, (c, f) => (/^[a-z0-9._-]{1,255}$/.test(c) ? c : fail(f, `${JSON.stringify(c)} is not a SPIFFE trust domain`))),
    },
    email: { allowedDomains: domainRules(email['allowedDomains'], `${field}.email.allowedDomains`) },
  };
}

function validateSubjectPolicy(v: unknown, field: string): SubjectPolicy {
  const s = object(v, field, ['allowedAttributes', 'requireCommonName', 'commonNameInSans']);
  const allowedAttributes = list(s['allowedAttributes'], `${field}.allowedAttributes`, oneOf(KNOWN_NAME_ATTRIBUTES));
  const requireCommonName = bool(s['requireCommonName'], `${field}.requireCommonName`);
  if (requireCommonName && !allowedAttributes.includes('CN')) fail(`${field}.allowedAttributes`, 'must include CN when requireCommonName is true');
  return { allowedAttributes, requireCommonName, commonNameInSans: bool(s['commonNameInSans'], `${field}.commonNameInSans`) };
}

function structuredFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) structuredFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Checks a whole profile set: each entry valid, and keyed by its own name. */
export function validateProfileSet(data: unknown): ProfileSet {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) fail('profiles', 'must be an object of name → profile');
  const out: Record<string, CertificateProfile> = {};
  for (const [name, value] of Object.entries(data)) {
    const profile = validateProfile(value, `profiles.${name}`);
    if (profile.name !== name) fail(`profiles.${name}.name`, `must equal its key ${JSON.stringify(name)}`);
    out[name] = profile;
  }
  return Object.freeze(out);
}
