// `adrestia-ca init`: a new offline root CA in a new (or empty) directory.
import { mkdir, readdir } from 'node:fs/promises';
import { PkiError } from '../errors.ts';
import { createRootCertificate } from '../ca/issue.ts';
import { writePrivateKeyFile } from '../ca/key-file.ts';
import { wrapPrivateKey } from '../ca/key-wrap.ts';
import { generateCaKeyPair, type CaKeyType } from '../ca/keys.ts';
import { buildName } from '../ca/names.ts';
import { BUILTIN_PROFILES } from '../ca/profiles.ts';
import { notBeforeBackdateSeconds } from '../ca/resolve-issuance.ts';
import { randomSerial } from '../ca/serial.ts';
import { KeyObjectSigner } from '../ca/signer.ts';
import { truncateToSeconds } from '../ca/time.ts';
import { optionalDays, optionalString, parseFlags, requiredString } from './args.ts';
import { writeFileAtomic } from '../fs/atomic-file.ts';
import { caDirFormatVersion, caFiles, caPath, readKekFromEnv, withCaLock, writeIndex, writeState } from './ca-dir.ts';
import { rootKeyBinding } from './ca-signer.ts';
import type { CliContext } from './context.ts';

const KEY_TYPES: Record<string, CaKeyType> = {
  p256: 'ecdsa-p256',
  p384: 'ecdsa-p384',
  rsa3072: 'rsa-3072',
  rsa4096: 'rsa-4096',
  ed25519: 'ed25519',
};

const defaultRootSubject = 'CN=Adrestia Offline Root CA,O=Adrestia';

export async function cmdInit(args: readonly string[], ctx: CliContext): Promise<void> {
  const flags = parseFlags(args, { dir: { type: 'string' }, 'key-type': { type: 'string' }, subject: { type: 'string' }, days: { type: 'string' } });
  const dir = requiredString(flags, 'dir');
  const keyTypeFlag = optionalString(flags, 'key-type') ?? 'p256';
  const keyType = KEY_TYPES[keyTypeFlag];
  if (keyType === undefined) {
    throw new PkiError('ERR_INPUT_INVALID', `--key-type must be one of ${Object.keys(KEY_TYPES).join(', ')}`, { field: '--key-type' });
  }
  const subjectDer = buildName(optionalString(flags, 'subject') ?? defaultRootSubject, '--subject');
  if (subjectDer.length <= 2) throw new PkiError('ERR_SUBJECT_INVALID', 'a CA subject must not be empty (RFC 5280 §4.1.2.6)', { field: '--subject' });
  const { lifetime } = BUILTIN_PROFILES.root;
  const seconds = optionalDays(flags) ?? lifetime.defaultSeconds;
  if (seconds < lifetime.minSeconds || seconds > lifetime.maxSeconds) {
    throw new PkiError('ERR_LIFETIME_INVALID', `--days must give a root lifetime within [${lifetime.minSeconds / 86_400}, ${lifetime.maxSeconds / 86_400}] days`, {
      field: '--days',
    });
  }
  const kek = await readKekFromEnv(ctx.env);
  await prepareEmptyDir(dir);
  await withCaLock(dir, async () => {
    const key = await generateCaKeyPair(keyType);
    const now = truncateToSeconds(ctx.now());
    const cert = await createRootCertificate({
      signer: new KeyObjectSigner(key.privateKey),
      subjectDer,
      serial: randomSerial(ctx.random),
      notBefore: new Date(now.getTime() - notBeforeBackdateSeconds * 1000),
      notAfter: new Date(now.getTime() + seconds * 1000),
    });
    // Key first, certificate last: a directory with ca.pem always has its key.
    if (kek === null) {
      await writePrivateKeyFile(caPath(dir, caFiles.key), key.privateKey, 0o400);
    } else {
      await writeFileAtomic(caPath(dir, caFiles.wrappedKey), wrapPrivateKey(key.privateKey, kek, rootKeyBinding(key.spkiDer)), 0o400, caFiles.wrappedKey);
      kek.fill(0);
    }
    await writeState(dir, { formatVersion: caDirFormatVersion, keyWrapped: kek !== null, crlNumber: '0' });
    await writeIndex(dir, []);
    await writeFileAtomic(caPath(dir, caFiles.cert), cert.pem, 0o644, caFiles.cert);
    ctx.out(`created root CA in ${dir}\n  serial ${cert.serialHex}\n  key ${keyTypeFlag}${kek === null ? '' : ' (wrapped under the KEK)'}\n`);
  });
}

/** Creates `dir` (mode 0700) or accepts it empty; a directory with anything in it is refused. */
async function prepareEmptyDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const entries = await readdir(dir);
    if (entries.length > 0) throw new PkiError('ERR_ALREADY_EXISTS', `${dir} is not empty; init needs a new or empty directory`, { field: '--dir' });
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError('ERR_IO', `cannot create ${dir}`, { field: '--dir', cause });
  }
  await mkdir(caPath(dir, caFiles.issuedDir), { mode: 0o755 });
}
