// Which profile a request names: one set through the log (`ProfileSet`, validated on read — the
// log stores plain data), else a built-in one. Callers that issue many leaves load the set once
// with `loadProfiles` and refresh it when a profile event applies; profile objects must be reused
// because encoded extensions are memoized per profile object (resolve-issuance.ts).
import { checkAllowedNames } from '../../ca/allowed-names.ts';
import { validateProfile } from '../../ca/profile-validate.ts';
import { BUILTIN_PROFILES, builtinProfile, type CertificateProfile } from '../../ca/profiles.ts';
import { PkiError } from '../../errors.ts';
import type { SanEntry } from '../../ca/san.ts';
import type { PkiStateQueries } from '../../state/queries.ts';

export type ProfileTable = Readonly<Record<string, CertificateProfile>>;

/** The built-in profiles overlaid with every profile set through the log (the log wins). */
export async function loadProfiles(store: PkiStateQueries): Promise<ProfileTable> {
  const table: Record<string, CertificateProfile> = { ...BUILTIN_PROFILES };
  for (const record of await store.profiles()) table[record.name] = validateProfile(record.profile, `profiles.${record.name}`);
  return Object.freeze(table);
}

/**
 * The profile `name`: from `profiles` when given, else from the store, else built in.
 * ERR_PROFILE_UNKNOWN when none has it; ERR_PROFILE_INVALID when the stored data does not validate.
 */
export async function profileFor(name: string, store: PkiStateQueries, profiles?: ProfileTable): Promise<CertificateProfile> {
  if (profiles !== undefined) {
    const found = Object.hasOwn(profiles, name) ? profiles[name] : undefined;
    if (found === undefined) return unknown(name);
    return found;
  }
  const record = await store.getProfile(name);
  if (record !== undefined) return validateProfile(record.profile, `profiles.${name}`);
  return builtinProfile(name) ?? unknown(name);
}

/**
 * A built-in profile (not one set through the log) issues only for the names the cluster was
 * founded with: ERR_NAME_NOT_ALLOWED (ca/allowed-names.ts; docs/architecture.md §16.2). A
 * profile an admin set says itself which names it admits.
 */
export async function checkClusterNames(profile: CertificateProfile, sans: readonly SanEntry[], store: PkiStateQueries, fieldOf?: (i: number) => string): Promise<void> {
  if (builtinProfile(profile.name) !== profile) return;
  const allowed = (await store.settings()).allowedNames;
  if (allowed !== undefined) checkAllowedNames(sans, allowed, fieldOf);
}

function unknown(name: string): never {
  throw new PkiError('ERR_PROFILE_UNKNOWN', `profile ${JSON.stringify(name)} is unknown`, { field: 'profile' });
}
