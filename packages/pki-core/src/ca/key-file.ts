// Private key files (node ICA and TLS keys): PKCS#8 PEM, mode 0400 (docs/spec.md §5.2.1), written
// atomically so a crash leaves either the old file or the complete new one — never a partial key or
// a key that was briefly readable by others.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { PkiError } from '../errors.ts';
import { writeFileAtomic } from '../fs/atomic-file.ts';

const privateKeyFileMode = 0o400;

/**
 * Writes `privateKey` as PKCS#8 PEM to `path` through writeFileAtomic (fs/atomic-file.ts): the
 * temporary file is created with the final mode, so the key is never more readable than `mode`.
 */
export async function writePrivateKeyFile(path: string, privateKey: KeyObject, mode: number = privateKeyFileMode): Promise<void> {
  if (privateKey.type !== 'private') throw new TypeError('writePrivateKeyFile: not a private key');
  if (mode !== 0o400 && mode !== 0o600) throw new TypeError('writePrivateKeyFile: mode must be 0o400 or 0o600');
  const pem = Buffer.from(privateKey.export({ format: 'pem', type: 'pkcs8' }));
  try {
    await writeFileAtomic(path, pem, mode, 'keyFile');
  } finally {
    pem.fill(0);
  }
}

/** Permission bits a private-key file may have: owner read (0400) or owner read-write (0600). */
const privateKeyFileModes: readonly number[] = [0o400, 0o600];

/** Refuses a key file readable or writable by group or others (docs/spec.md §5.2.1: keys are mode 0400). */
export async function assertPrivateKeyFileMode(path: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (cause) {
    throw new PkiError('ERR_IO', `cannot stat key file ${path}`, { field: 'keyFile', cause });
  }
  if (!privateKeyFileModes.includes(mode)) {
    throw new PkiError('ERR_KEY_FILE_PERMISSIONS', `key file ${path} has mode 0${mode.toString(8)}; only 0400 or 0600 is accepted`, {
      field: 'keyFile',
    });
  }
}

/** Reads a PEM (PKCS#8, SEC1 or PKCS#1) private key file after checking its mode. */
export async function readPrivateKeyFile(path: string): Promise<KeyObject> {
  await assertPrivateKeyFileMode(path);
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (cause) {
    throw new PkiError('ERR_IO', `cannot read key file ${path}`, { field: 'keyFile', cause });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new PkiError('ERR_KEY_MALFORMED', `key file ${path} holds no readable private key`, { field: 'keyFile', cause });
  } finally {
    pem.fill(0);
  }
  return key;
}

