// `adrestia-ca sign`: issue a certificate for a CSR under a profile. The index records the
// issuance before the output file is written: the CA never loses track of a certificate it signed.
import { access, readFile } from 'node:fs/promises';
import { PkiError } from '../errors.ts';
import { parseCsr } from '../ca/csr.ts';
import { issueCertificate } from '../ca/issue.ts';
import { builtinProfile, type CertificateProfile } from '../ca/profiles.ts';
import { validateProfileSet } from '../ca/profile-validate.ts';
import { resolveIssuance } from '../ca/resolve-issuance.ts';
import { parseSanText } from '../ca/san.ts';
import { randomSerial } from '../ca/serial.ts';
import { optionalDays, optionalString, parseFlags, requiredString } from './args.ts';
import { writeFileAtomic } from '../fs/atomic-file.ts';
import { caFiles, caPath, readIndex, readState, withCaLock, writeIndex } from './ca-dir.ts';
import { loadCa } from './ca-signer.ts';
import type { CliContext } from './context.ts';

export async function cmdSign(args: readonly string[], ctx: CliContext): Promise<void> {
  const flags = parseFlags(args, {
    dir: { type: 'string' },
    csr: { type: 'string' },
    profile: { type: 'string' },
    out: { type: 'string' },
    san: { type: 'string', multiple: true },
    subject: { type: 'string' },
    days: { type: 'string' },
    der: { type: 'boolean' },
  });
  const dir = requiredString(flags, 'dir');
  const csrPath = requiredString(flags, 'csr');
  const profileName = requiredString(flags, 'profile');
  const out = requiredString(flags, 'out');
  const sanFlags = (flags.values['san'] as string[] | undefined) ?? [];
  // Each --san may list several names separated by commas.
  const sanTexts = sanFlags.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const sans = sanFlags.length === 0 ? undefined : sanTexts.map((s, i) => parseSanText(s, `--san[${i}]`));
  const lifetimeSeconds = optionalDays(flags);
  const subject = optionalString(flags, 'subject');
  const csr = parseCsr(await readInput(csrPath, '--csr'));
  await withCaLock(dir, async () => {
    const state = await readState(dir);
    const profile = await findProfile(dir, profileName);
    const ca = await loadCa(dir, state, ctx.env);
    const plan = resolveIssuance(
      profile,
      { csr, sansField: '--san', ...(sans === undefined ? {} : { sans }), ...(lifetimeSeconds === undefined ? {} : { lifetimeSeconds }), ...(subject === undefined ? {} : { subject }) },
      { notAfter: ca.fields.notAfter, notBefore: ca.fields.notBefore },
      ctx.now(),
    );
    const index = await readIndex(dir);
    const used = new Set(index.map((e) => e.serial));
    let serial = randomSerial(ctx.random);
    while (used.has(serial)) serial = randomSerial(ctx.random); // RFC 5280 §4.1.2.2: unique per issuer
    const cert = await issueCertificate({
      issuer: { certDer: ca.certDer, signer: ca.signer },
      subjectDer: plan.subjectDer,
      spkiDer: plan.spkiDer,
      sans: plan.sans,
      serial,
      notBefore: plan.notBefore,
      notAfter: plan.notAfter,
      extensions: plan.extensions,
    });
    await writeFileAtomic(caPath(dir, `${caFiles.issuedDir}/${cert.serialHex}.pem`), cert.pem, 0o644, '--dir');
    await writeIndex(dir, [...index, { serial: cert.serialHex, subject: plan.subject, profile: profile.name, notAfter: plan.notAfter.toISOString(), revoked: null }]);
    await writeFileAtomic(out, flags.values['der'] === true ? cert.der : cert.pem, 0o644, '--out');
    ctx.out(`issued ${cert.serialHex} (${profile.name}) for ${plan.subject || '(empty subject)'} until ${plan.notAfter.toISOString()} → ${out}\n`);
  });
}

export async function readInput(path: string, field: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new PkiError('ERR_IO', `cannot read ${path}`, { field, cause });
  }
}

/** DIR/profiles.json (a validated ProfileSet) when present, else the built-in profiles. */
async function findProfile(dir: string, name: string): Promise<CertificateProfile> {
  const customPath = caPath(dir, caFiles.profiles);
  const hasCustom = await access(customPath).then(
    () => true,
    () => false,
  );
  let profile: CertificateProfile | undefined;
  if (hasCustom) {
    let data: unknown;
    try {
      data = JSON.parse(await readFile(customPath, 'utf8'));
    } catch (cause) {
      throw new PkiError('ERR_PROFILE_INVALID', `${customPath} is not readable JSON`, { field: 'profiles', cause });
    }
    const set = validateProfileSet(data);
    profile = Object.hasOwn(set, name) ? set[name] : undefined;
  } else {
    profile = builtinProfile(name);
  }
  if (profile === undefined) throw new PkiError('ERR_PROFILE_UNKNOWN', `no profile named ${JSON.stringify(name)}`, { field: '--profile' });
  return profile;
}
