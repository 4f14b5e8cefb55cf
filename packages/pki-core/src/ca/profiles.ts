// Certificate profiles as plain, serializable data (they travel in the replicated log as
// `ProfileSet` events): lifetime bounds, key usages, basic constraints, SAN and subject policy.
// The built-in set follows the hierarchy of docs/architecture.md §4.2: root → azIntermediate →
// nodeIntermediate → leaves. Lifetime defaults follow docs/spec.md §5.5.2 (leaves: 30 days by
// default, now that renewal is automatic (`renew --daemon`); 3 years at most, 1 hour at least).
import type { CsrKeyType } from './csr-algorithms.ts';
import type { ExtKeyUsage, KeyUsage } from './extensions.ts';
import type { SanType } from './san.ts';

export const PROFILE_NAMES = ['root', 'azIntermediate', 'nodeIntermediate', 'serverLeaf', 'clientLeaf', 'serverClientLeaf'] as const;
export type BuiltinProfileName = (typeof PROFILE_NAMES)[number];

/** Format version of profile data, so a later format can be told apart in an old log. */
export const profileFormatVersion = 1;

interface LifetimePolicy {
  readonly defaultSeconds: number;
  readonly minSeconds: number;
  readonly maxSeconds: number;
}

interface BasicConstraintsPolicy {
  readonly ca: boolean;
  /** RFC 5280 §4.2.1.9 pathLenConstraint; null: none (or not a CA). */
  readonly pathLen: number | null;
}

/** A list of domain rules (`example.com` exactly, `.example.com` strictly below it), or any. */
export type DomainRules = 'any' | readonly string[];

export interface SanPolicy {
  readonly allowedTypes: readonly SanType[];
  /** The certificate must carry at least one SAN. */
  readonly requireSan: boolean;
  readonly maxSans: number;
  readonly dns: { readonly allowedDomains: DomainRules; readonly allowWildcard: boolean };
  /** Addresses must lie in one of these ranges (`0.0.0.0/0`, `::/0` admit all). */
  readonly ip: { readonly allowedCidrs: readonly string[] };
  readonly uri: {
    /** Lower-case schemes, e.g. `spiffe`, `https`. */
    readonly allowedSchemes: readonly string[];
    /** Hosts of `scheme://host/…` URIs (not SPIFFE). */
    readonly allowedHosts: DomainRules;
    /** SPIFFE-ID §2.1 trust domains, matched exactly. */
    readonly spiffeTrustDomains: DomainRules;
  };
  readonly email: { readonly allowedDomains: DomainRules };
}

export interface SubjectPolicy {
  /** Attribute short names allowed in the subject (`CN`, `O`, …); others are refused. */
  readonly allowedAttributes: readonly string[];
  readonly requireCommonName: boolean;
  /** The CN, when present, must equal one of the certificate's SANs (CA/B BR §7.1.4.3). */
  readonly commonNameInSans: boolean;
}

interface NameConstraintsPolicy {
  /** DNS subtrees (RFC 5280 §4.2.1.10): `example.com` covers it and every name below it. */
  readonly permittedDns: readonly string[];
  readonly excludedDns: readonly string[];
}

/**
 * What a request for more than the issuer can give gets (the issuer's certificate ends first):
 * `truncate` — the certificate ends with its issuer and the answer carries that notAfter;
 * `error` — ERR_LIFETIME_EXCEEDS_ISSUER. Vault's `leaf_not_after_behavior` makes the same choice.
 */
export const NOT_AFTER_BEHAVIORS = ['truncate', 'error'] as const;
export type NotAfterBehavior = (typeof NOT_AFTER_BEHAVIORS)[number];
/** A profile that does not say truncates (node/ca/ca-renewal.ts keeps issuers ahead of default lifetimes). */
export const DEFAULT_NOT_AFTER_BEHAVIOR: NotAfterBehavior = 'truncate';

export interface CertificateProfile {
  readonly formatVersion: number;
  readonly name: string;
  readonly lifetime: LifetimePolicy;
  readonly keyUsage: readonly KeyUsage[];
  /** Empty: no extKeyUsage extension (CA certificates). */
  readonly extKeyUsage: readonly ExtKeyUsage[];
  readonly basicConstraints: BasicConstraintsPolicy;
  /** Only for CA profiles; null: none. */
  readonly nameConstraints: NameConstraintsPolicy | null;
  readonly allowedKeyTypes: readonly CsrKeyType[];
  readonly san: SanPolicy;
  readonly subject: SubjectPolicy;
  /** Absent: DEFAULT_NOT_AFTER_BEHAVIOR. */
  readonly notAfterBehavior?: NotAfterBehavior;
}

/** Name → profile; what a `ProfileSet` event carries. */
export type ProfileSet = Readonly<Record<string, CertificateProfile>>;

const hour = 3600;
const day = 24 * hour;
const year = 365 * day;

const ALL_KEY_TYPES: readonly CsrKeyType[] = ['ecdsa-p256', 'ecdsa-p384', 'rsa', 'ed25519'];
const NAME_ATTRIBUTES = ['CN', 'O', 'OU', 'C', 'ST', 'L', 'serialNumber', 'DC', 'UID'];

const NO_SANS: SanPolicy = {
  allowedTypes: [],
  requireSan: false,
  maxSans: 0,
  dns: { allowedDomains: [], allowWildcard: false },
  ip: { allowedCidrs: [] },
  uri: { allowedSchemes: [], allowedHosts: [], spiffeTrustDomains: [] },
  email: { allowedDomains: [] },
};

const ANY_SANS: SanPolicy = {
  allowedTypes: ['dns', 'ip', 'uri', 'email'],
  requireSan: true,
  maxSans: 100,
  dns: { allowedDomains: 'any', allowWildcard: false },
  ip: { allowedCidrs: ['0.0.0.0/0', '::/0'] },
  uri: { allowedSchemes: ['spiffe', 'https'], allowedHosts: 'any', spiffeTrustDomains: 'any' },
  email: { allowedDomains: 'any' },
};

// RFC 5280 §4.1.2.6: a CA's subject MUST be non-empty; we ask for a CN so chains are readable.
const CA_SUBJECT: SubjectPolicy = { allowedAttributes: NAME_ATTRIBUTES, requireCommonName: true, commonNameInSans: false };
const LEAF_SUBJECT: SubjectPolicy = { allowedAttributes: NAME_ATTRIBUTES, requireCommonName: false, commonNameInSans: false };
const CLIENT_SUBJECT: SubjectPolicy = { ...LEAF_SUBJECT, requireCommonName: true };

function caProfile(name: string, lifetime: LifetimePolicy, pathLen: number | null): CertificateProfile {
  return {
    formatVersion: profileFormatVersion,
    name,
    lifetime,
    // RFC 5280 §4.2.1.3: keyCertSign and cRLSign; digitalSignature for OCSP responses it signs.
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
    extKeyUsage: [],
    basicConstraints: { ca: true, pathLen },
    nameConstraints: null,
    allowedKeyTypes: ALL_KEY_TYPES,
    san: NO_SANS,
    subject: CA_SUBJECT,
  };
}

function leafProfile(name: string, extKeyUsage: readonly ExtKeyUsage[], subject = LEAF_SUBJECT, san = ANY_SANS): CertificateProfile {
  return {
    formatVersion: profileFormatVersion,
    name,
    lifetime: { defaultSeconds: 30 * day, minSeconds: hour, maxSeconds: 3 * year },
    // digitalSignature for (EC)DHE handshakes; keyEncipherment only matters for RSA key transport,
    // which TLS 1.3 dropped, so it is not asserted (it would be wrong for EC and Ed25519 keys).
    keyUsage: ['digitalSignature'],
    extKeyUsage,
    basicConstraints: { ca: false, pathLen: null },
    nameConstraints: null,
    allowedKeyTypes: ALL_KEY_TYPES,
    san,
    subject,
  };
}

/** The built-in profiles. Plain data: copy and edit to make a custom set. */
export const BUILTIN_PROFILES: Readonly<Record<BuiltinProfileName, CertificateProfile>> = deepFreeze({
  root: caProfile('root', { defaultSeconds: 20 * year, minSeconds: year, maxSeconds: 30 * year }, null),
  // pathLen 1: the AZ ICA signs node ICAs, which sign only leaves.
  azIntermediate: caProfile('azIntermediate', { defaultSeconds: 5 * year, minSeconds: 30 * day, maxSeconds: 10 * year }, 1),
  nodeIntermediate: caProfile('nodeIntermediate', { defaultSeconds: 3 * year + 30 * day, minSeconds: day, maxSeconds: 5 * year }, 0),
  serverLeaf: leafProfile('serverLeaf', ['serverAuth']),
  // A client may be known by its CN alone (a user, a service account); then it needs no SAN.
  clientLeaf: leafProfile('clientLeaf', ['clientAuth'], CLIENT_SUBJECT, { ...ANY_SANS, requireSan: false }),
  serverClientLeaf: leafProfile('serverClientLeaf', ['serverAuth', 'clientAuth']),
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A built-in profile by name, or undefined. */
export function builtinProfile(name: string): CertificateProfile | undefined {
  return Object.hasOwn(BUILTIN_PROFILES, name) ? BUILTIN_PROFILES[name as BuiltinProfileName] : undefined;
}
