// Secrets (PSK, key-encryption key, admin token, join token) come only from a file named in the
// configuration (`<name>File`) or from an environment variable (ADRESTIA_<NAME>), never from the
// configuration body. A secret file must not be group- or world-accessible (mode 0600/0400), as
// OpenSSH insists for private keys: a readable secret is treated as already leaked.
import { open } from 'node:fs/promises';
import { JOIN_TOKEN_KEY_BYTES_MIN, PSK_BYTES_MIN } from '@adrestia/pki-core/registration';
import { ServerError } from '../errors.ts';
import { envName } from './env.ts';
import { Secret } from './secret.ts';
import type { Issue } from './spec.ts';

const SECRET_FILE_MAX_BYTES = 64 * 1024;

export interface SecretDef {
  name: 'authPsk' | 'kek' | 'nextKek' | 'adminToken' | 'joinToken' | 'joinTokenKey';
  required: boolean;
  /** Turns the file's or variable's content into the secret bytes, or returns an issue text. */
  decode: (raw: Buffer) => Buffer | string;
}

export const SECRET_DEFS: readonly SecretDef[] = [
  // Required unless the node joins with a join token instead (checked after the loop).
  { name: 'authPsk', required: false, decode: (raw) => minBytes(trimmed(raw), PSK_BYTES_MIN, `a pre-shared key of at least ${PSK_BYTES_MIN} bytes`) },
  { name: 'kek', required: true, decode: decodeKek },
  // docs/architecture.md §19.2: the KEK a rotation moves the state to, on every node before it runs.
  { name: 'nextKek', required: false, decode: decodeKek },
  { name: 'adminToken', required: false, decode: (raw) => minBytes(trimmed(raw), 16, 'a token of at least 16 bytes') },
  // docs/spec.md §3.9.4: the join token is a JWT (HS256) handed to one node in a file.
  { name: 'joinToken', required: false, decode: (raw) => minBytes(trimmed(raw), 16, 'a JWT') },
  // The HS256 key that signs the join tokens this node mints (admin route); RFC 7518 §3.2 length.
  { name: 'joinTokenKey', required: false, decode: (raw) => minBytes(trimmed(raw), JOIN_TOKEN_KEY_BYTES_MIN, `a key of at least ${JOIN_TOKEN_KEY_BYTES_MIN} bytes`) },
];

export type Secrets = Record<'kek', Secret> & Partial<Record<'authPsk' | 'nextKek' | 'adminToken' | 'joinToken' | 'joinTokenKey', Secret>>;

/** Reads a secret file, refusing anything but a regular file with no group/other permissions. */
export async function readSecretFile(path: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new ServerError('ERR_CONFIG_READ', `cannot open secret file ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    // fstat on the opened descriptor: the checked file is the file read (no stat/open race).
    const st = await handle.stat();
    if (!st.isFile()) throw new ServerError('ERR_SECRET_FILE_MODE', `${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new ServerError('ERR_SECRET_FILE_MODE', `${path} has mode ${mode}; secret files must be 0600 or 0400`);
    }
    if (st.size > SECRET_FILE_MAX_BYTES) throw new ServerError('ERR_CONFIG_READ', `${path} is larger than ${SECRET_FILE_MAX_BYTES} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Loads every secret; problems are reported as issues on the `<name>File` / variable. */
export async function loadSecrets(
  files: Partial<Record<`${SecretDef['name']}File`, string | undefined>>,
  env: NodeJS.ProcessEnv,
  issues: Issue[],
): Promise<Partial<Secrets>> {
  const out: Partial<Record<SecretDef['name'], Secret>> = {};
  for (const def of SECRET_DEFS) {
    const fileField = `${def.name}File` as const;
    const variable = envName([def.name]);
    const file = files[fileField];
    const fromEnv = env[variable];
    if (file !== undefined && fromEnv !== undefined) {
      issues.push({ path: fileField, message: `set either ${fileField} or ${variable}, not both` });
      continue;
    }
    if (file === undefined && fromEnv === undefined) {
      if (def.required) issues.push({ path: fileField, message: `required: a file path, or the secret in ${variable}` });
      continue;
    }
    let raw: Buffer;
    try {
      raw = file !== undefined ? await readSecretFile(file) : Buffer.from(fromEnv as string, 'utf8');
    } catch (err) {
      if (!(err instanceof ServerError)) throw err;
      issues.push({ path: fileField, message: err.message });
      continue;
    }
    const decoded = def.decode(raw);
    raw.fill(0);
    if (typeof decoded === 'string') issues.push({ path: file !== undefined ? fileField : variable, message: `not ${decoded}` });
    else out[def.name] = new Secret(decoded);
  }
  // A node proves it belongs with the cluster PSK, or once with a join token (which pins the root).
  if (out.authPsk === undefined && out.joinToken === undefined && !issues.some((i) => i.path === 'authPskFile' || i.path === 'joinTokenFile')) {
    issues.push({ path: 'authPskFile', message: `required unless a join token is given: a file path, or the secret in ${envName(['authPsk'])} (or a join token: joinTokenFile, ${envName(['joinTokenFile'])})` });
  }
  return out;
}

function trimmed(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('utf8').trim(), 'utf8');
}

function minBytes(value: Buffer, min: number, what: string): Buffer | string {
  return value.length >= min ? value : what;
}

/** AES-256 KEK: 32 raw bytes, or their hex (64 chars) or base64 (44 chars) text. */
export function decodeKek(raw: Buffer): Buffer | string {
  if (raw.length === 32) return raw;
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  return 'a 32-byte key (raw, 64 hex characters or base64)';
}
