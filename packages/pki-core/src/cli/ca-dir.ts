// The offline CA's directory: its certificate, its private key (PEM mode 0400, or wrapped under a
// KEK from ADRESTIA_KEK_FILE, also 0400), counters, and the index of what it issued and revoked.
//
//   ca.pem          root certificate (public)
//   ca.key          PKCS#8 PEM private key, mode 0400            (unwrapped mode)
//   ca.key.wrapped  AES-256-GCM wrapped PKCS#8 (key-wrap.ts), 0400 (ADRESTIA_KEK_FILE mode)
//   state.json      { formatVersion, keyWrapped, crlNumber }
//   index.json      issued certificates: serial, subject, profile, notAfter, revocation
//   issued/<serial>.pem  a copy of every issued certificate
//   profiles.json   optional: a custom ProfileSet replacing the built-in profiles
//   .lock           held while a command changes the directory
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PkiError } from '../errors.ts';
import { decodeKek } from '../ca/key-wrap.ts';
import { CRL_REASONS, type CrlReason } from '../ca/crl-reasons.ts';
import { writeFileAtomic } from '../fs/atomic-file.ts';

export const caDirFormatVersion = 1;
export const KEK_FILE_ENV = 'ADRESTIA_KEK_FILE';

export const caFiles = {
  cert: 'ca.pem',
  key: 'ca.key',
  wrappedKey: 'ca.key.wrapped',
  state: 'state.json',
  index: 'index.json',
  issuedDir: 'issued',
  profiles: 'profiles.json',
  lock: '.lock',
} as const;

export interface CaState {
  readonly formatVersion: number;
  readonly keyWrapped: boolean;
  /** The last CRL number issued (RFC 5280 §5.2.3); 0 before the first CRL. Decimal string. */
  readonly crlNumber: string;
}

export interface IndexEntry {
  readonly serial: string;
  readonly subject: string;
  readonly profile: string;
  readonly notAfter: string;
  readonly revoked: { readonly at: string; readonly reason: CrlReason } | null;
}

export function caPath(dir: string, file: string): string {
  return join(dir, file);
}

async function readJson(path: string, field: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PkiError('ERR_IO', `cannot read ${path} (is --dir a CA directory made by init?)`, { field, cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new PkiError('ERR_INPUT_INVALID', `${path} is not valid JSON`, { field, cause });
  }
}

export async function readState(dir: string): Promise<CaState> {
  const s = (await readJson(caPath(dir, caFiles.state), '--dir')) as Partial<CaState>;
  if (s.formatVersion !== caDirFormatVersion || typeof s.keyWrapped !== 'boolean' || typeof s.crlNumber !== 'string' || !/^\d+$/.test(s.crlNumber)) {
    throw new PkiError('ERR_INPUT_INVALID', `${caPath(dir, caFiles.state)} is not a CA state file of format ${caDirFormatVersion}`, { field: '--dir' });
  }
  return { formatVersion: s.formatVersion, keyWrapped: s.keyWrapped, crlNumber: s.crlNumber };
}

export function writeState(dir: string, state: CaState): Promise<void> {
  return writeFileAtomic(caPath(dir, caFiles.state), `${JSON.stringify(state, null, 2)}\n`, 0o644, '--dir');
}

export async function readIndex(dir: string): Promise<IndexEntry[]> {
  const index = await readJson(caPath(dir, caFiles.index), '--dir');
  const path = caPath(dir, caFiles.index);
  if (!Array.isArray(index)) throw new PkiError('ERR_INPUT_INVALID', `${path} is not a list`, { field: '--dir' });
  index.forEach((e, i) => {
    if (!isIndexEntry(e)) throw new PkiError('ERR_INPUT_INVALID', `${path} entry ${i} is not {serial, subject, profile, notAfter, revoked}`, { field: '--dir' });
  });
  return index as IndexEntry[];
}

function isIndexEntry(e: unknown): e is IndexEntry {
  if (e === null || typeof e !== 'object') return false;
  const x = e as Record<string, unknown>;
  const strings = ['serial', 'subject', 'profile', 'notAfter'].every((k) => typeof x[k] === 'string');
  return strings && /^[0-9a-f]+$/.test(x['serial'] as string) && isRevocation(x['revoked']);
}

function isRevocation(r: unknown): boolean {
  if (r === null) return true;
  if (typeof r !== 'object' || r === undefined) return false;
  const { at, reason } = r as Record<string, unknown>;
  return typeof at === 'string' && !Number.isNaN(Date.parse(at)) && typeof reason === 'string' && Object.hasOwn(CRL_REASONS, reason);
}

export function writeIndex(dir: string, index: readonly IndexEntry[]): Promise<void> {
  return writeFileAtomic(caPath(dir, caFiles.index), `${JSON.stringify(index, null, 2)}\n`, 0o644, '--dir');
}

/** The KEK named by ADRESTIA_KEK_FILE, or null when the variable is unset. The value is never logged. */
export async function readKekFromEnv(env: NodeJS.ProcessEnv): Promise<Uint8Array | null> {
  const path = env[KEK_FILE_ENV];
  if (path === undefined || path === '') return null;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PkiError('ERR_IO', `cannot read the KEK file named by ${KEK_FILE_ENV}`, { field: KEK_FILE_ENV, cause });
  }
  try {
    return decodeKek(text);
  } catch (cause) {
    throw new PkiError('ERR_INPUT_INVALID', `the file named by ${KEK_FILE_ENV} does not hold a 32-byte KEK (64 hex digits or base64)`, { field: KEK_FILE_ENV, cause });
  }
}

/**
 * Runs `fn` holding the directory's lock file (created exclusively), so two commands never
 * interleave their read-modify-write of the index or the CRL number.
 */
export async function withCaLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = caPath(dir, caFiles.lock);
  let fh;
  try {
    fh = await open(lockPath, 'wx', 0o600);
  } catch (cause) {
    const busy = (cause as NodeJS.ErrnoException).code === 'EEXIST';
    throw new PkiError('ERR_IO', busy ? `${lockPath} exists: another adrestia-ca command is running (or crashed; remove it)` : `cannot lock ${dir}`, {
      field: '--dir',
      cause,
    });
  }
  try {
    await fh.writeFile(`${process.pid}\n`);
    return await fn();
  } finally {
    await fh.close();
    await unlink(lockPath).catch(() => undefined);
  }
}
