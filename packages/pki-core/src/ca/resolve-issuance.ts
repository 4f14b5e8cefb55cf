// From a verified CSR, a profile and the operator's choices to the exact inputs of
// issueCertificate: subject Name DER, canonical SANs, validity and extension choices. Pure: time
// comes in as `now`, nothing is signed here.
import { PkiError } from '../errors.ts';
import type { CsrKeyType } from './csr-algorithms.ts';
import type { ParsedCsr } from './csr.ts';
import type { ExtensionChoices } from './issue.ts';
import { attributeValues, buildName, readName, renderRdns, type NameRdns } from './names.ts';
import { DEFAULT_NOT_AFTER_BEHAVIOR, type CertificateProfile, type SubjectPolicy } from './profiles.ts';
import { checkSanPolicy } from './san-policy.ts';
import { normalizeSan, type SanEntry } from './san.ts';
import { truncateToSeconds } from './time.ts';

/**
 * notBefore lies this far before `now`, so a relying party whose clock runs a little behind
 * still accepts a fresh certificate (the backdating practice of CA/B BR §7.1.2.4, bounded).
 */
export const notBeforeBackdateSeconds = 60;

export interface IssuanceRequest {
  readonly csr: ParsedCsr;
  /** Replaces the CSR's requested SANs when given (the operator decides, not the requester). */
  readonly sans?: readonly SanEntry[];
  /** How errors name the `sans` list (e.g. `--san` in the CLI); default `sans`. */
  readonly sansField?: string;
  /** Defaults to the profile's `lifetime.defaultSeconds`. */
  readonly lifetimeSeconds?: number;
  /** An RFC 4514 string that replaces the CSR subject when given. */
  readonly subject?: string;
}

export interface IssuerLimits {
  readonly notAfter: Date;
  /** When given, notBefore is never earlier than the issuer's. */
  readonly notBefore?: Date;
}

export interface IssuancePlan {
  readonly profileName: string;
  readonly subjectDer: Uint8Array;
  readonly subject: string;
  readonly spkiDer: Uint8Array;
  readonly keyType: CsrKeyType;
  readonly sans: readonly SanEntry[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Memoized per profile object (issueCertificate caches encoded extensions per choices object). */
  readonly extensions: ExtensionChoices;
}

const extensionCache = new WeakMap<CertificateProfile, ExtensionChoices>();

/** The extension choices a profile implies (without CRL DP / AIA, which come from the issuer). */
export function profileExtensions(profile: CertificateProfile): ExtensionChoices {
  const hit = extensionCache.get(profile);
  if (hit !== undefined) return hit;
  const bc = profile.basicConstraints;
  const nc = profile.nameConstraints;
  const choices: ExtensionChoices = Object.freeze({
    basicConstraints: bc.ca && bc.pathLen !== null ? { ca: true, pathLen: bc.pathLen } : { ca: bc.ca },
    keyUsage: [...profile.keyUsage],
    ...(profile.extKeyUsage.length > 0 ? { extKeyUsage: [...profile.extKeyUsage] } : {}),
    ...(nc === null ? {} : { nameConstraints: { permittedDns: [...nc.permittedDns], excludedDns: [...nc.excludedDns] } }),
  });
  extensionCache.set(profile, choices);
  return choices;
}

export function resolveIssuance(profile: CertificateProfile, request: IssuanceRequest, issuer: IssuerLimits, now: Date): IssuancePlan {
  const { csr } = request;
  if (!profile.allowedKeyTypes.includes(csr.keyType)) {
    throw new PkiError('ERR_KEY_UNSUPPORTED', `profile ${profile.name} does not accept ${csr.keyType} keys`, { field: 'csr.publicKey' });
  }
  const subjectDer = request.subject === undefined ? csr.subjectDer : buildName(request.subject, 'subject');
  const rdns = request.subject === undefined ? csr.subjectRdns : readName(subjectDer);
  checkSubject(profile.subject, rdns);
  const sans = resolveSans(profile, request);
  if (profile.subject.commonNameInSans) {
    for (const cn of attributeValues(rdns, 'CN')) {
      if (!sans.some((s) => s.value === cn || (s.type === 'dns' && s.value === cn.toLowerCase()))) {
        throw new PkiError('ERR_SUBJECT_INVALID', `subject CN ${JSON.stringify(cn)} is not one of the SANs`, { field: 'subject' });
      }
    }
  }
  // RFC 5280 §4.1.2.6: an empty subject needs a subjectAltName (then critical).
  if (rdns.length === 0 && sans.length === 0) throw new PkiError('ERR_SUBJECT_INVALID', 'empty subject and no SANs', { field: 'subject' });
  const { notBefore, notAfter } = resolveValidity(profile, request.lifetimeSeconds, issuer, now);
  return {
    profileName: profile.name,
    subjectDer,
    subject: request.subject === undefined ? csr.subject : renderRdns(rdns),
    spkiDer: csr.spkiDer,
    keyType: csr.keyType,
    sans,
    notBefore,
    notAfter,
    extensions: profileExtensions(profile),
  };
}

function checkSubject(policy: SubjectPolicy, rdns: NameRdns): void {
  for (const attr of rdns.flat()) {
    if (!policy.allowedAttributes.includes(attr.type)) {
      throw new PkiError('ERR_SUBJECT_INVALID', `subject attribute ${attr.type} is not allowed by this profile`, { field: 'subject' });
    }
    if (attr.text === null || attr.text.length === 0) {
      throw new PkiError('ERR_SUBJECT_INVALID', `subject attribute ${attr.type} is not a non-empty string`, { field: 'subject' });
    }
  }
  if (policy.requireCommonName && attributeValues(rdns, 'CN').length === 0) {
    throw new PkiError('ERR_SUBJECT_INVALID', 'the profile requires a subject CN', { field: 'subject' });
  }
}

function resolveSans(profile: CertificateProfile, request: IssuanceRequest): SanEntry[] {
  const fromCsr = request.sans === undefined;
  const listField = fromCsr ? 'csr.subjectAltName' : (request.sansField ?? 'sans');
  if (fromCsr && request.csr.unsupportedSanTypes.length > 0) {
    throw new PkiError('ERR_SAN_FORBIDDEN', `the CSR requests ${request.csr.unsupportedSanTypes.join(', ')} names, which are never issued`, { field: listField });
  }
  const raw = request.sans ?? request.csr.requestedSans;
  // Canonicalize, drop repeats (keeping the first), and remember each survivor's index in the
  // list as given, so policy errors name the entry the caller wrote.
  const seen = new Set<string>();
  const kept: Array<{ san: SanEntry; index: number }> = [];
  raw.forEach((r, index) => {
    const san = normalizeSan(r, `${listField}[${index}]`);
    const key = `${san.type}\u0000${san.value}`;
    if (!seen.has(key)) kept.push({ san, index });
    seen.add(key);
  });
  const sans = kept.map((k) => k.san);
  const fieldOf = (i: number): string => `${listField}[${kept[i]!.index}]`;
  checkSanPolicy(profile.san, sans, listField, fieldOf);
  return sans;
}

function resolveValidity(profile: CertificateProfile, requested: number | undefined, issuer: IssuerLimits, now: Date): { notBefore: Date; notAfter: Date } {
  const { lifetime } = profile;
  const seconds = requested ?? lifetime.defaultSeconds;
  if (!Number.isSafeInteger(seconds) || seconds < lifetime.minSeconds || seconds > lifetime.maxSeconds) {
    throw new PkiError('ERR_LIFETIME_INVALID', `lifetime ${seconds}s is outside [${lifetime.minSeconds}, ${lifetime.maxSeconds}] for profile ${profile.name}`, {
      field: 'lifetimeSeconds',
    });
  }
  const start = truncateToSeconds(now).getTime();
  let notBefore = new Date(start - notBeforeBackdateSeconds * 1000);
  if (issuer.notBefore !== undefined && notBefore.getTime() < issuer.notBefore.getTime()) notBefore = truncateToSeconds(issuer.notBefore);
  let notAfter = new Date(start + seconds * 1000);
  if (notAfter.getTime() > issuer.notAfter.getTime() && (profile.notAfterBehavior ?? DEFAULT_NOT_AFTER_BEHAVIOR) === 'truncate') {
    // RFC 5280 §6.1.3: nothing validates past the issuer's end, so the certificate ends with it.
    notAfter = truncateToSeconds(issuer.notAfter);
  }
  if (notAfter.getTime() <= start) {
    throw new PkiError('ERR_LIFETIME_EXCEEDS_ISSUER', `the issuer expires at ${issuer.notAfter.toISOString()}`, { field: 'issuer' });
  }
  if (notAfter.getTime() > issuer.notAfter.getTime()) {
    throw new PkiError('ERR_LIFETIME_EXCEEDS_ISSUER', `notAfter ${notAfter.toISOString()} would be after the issuer's ${issuer.notAfter.toISOString()}`, {
      field: 'lifetimeSeconds',
    });
  }
  return { notBefore, notAfter };
}
