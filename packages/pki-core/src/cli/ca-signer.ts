// Loads the CA certificate and its signer from a CA directory: the PEM key file (mode checked by
// key-file.ts) or the wrapped key, unwrapped in memory with the KEK from ADRESTIA_KEK_FILE.
import { readFile } from 'node:fs/promises';
import { PkiError } from '../errors.ts';
import { readCertificateFields, type CertificateFields } from '../ca/cert-fields.ts';
import { keyIdentifier } from '../ca/extensions.ts';
import { assertPrivateKeyFileMode } from '../ca/key-file.ts';
import type { KeyWrapBinding } from '../ca/key-wrap.ts';
import { fromPem } from '../ca/pem.ts';
import { loadPemFileSigner, wrappedKeySigner, type Signer } from '../ca/signer.ts';
import { toHex } from '../ca/der.ts';
import { caFiles, caPath, KEK_FILE_ENV, readKekFromEnv, type CaState } from './ca-dir.ts';

export interface LoadedCa {
  readonly certDer: Uint8Array;
  readonly fields: CertificateFields;
  readonly signer: Signer;
}

/** The wrap binding of a root key: purpose `root`, key id the hex SKI, so a blob fits one root. */
export function rootKeyBinding(spkiDer: Uint8Array): KeyWrapBinding {
  return { purpose: 'root', keyId: toHex(keyIdentifier(spkiDer)) };
}

export async function loadCa(dir: string, state: CaState, env: NodeJS.ProcessEnv): Promise<LoadedCa> {
  let pem: string;
  try {
    pem = await readFile(caPath(dir, caFiles.cert), 'utf8');
  } catch (cause) {
    throw new PkiError('ERR_IO', `cannot read ${caPath(dir, caFiles.cert)}`, { field: '--dir', cause });
  }
  const certDer = fromPem(pem, 'CERTIFICATE');
  const fields = readCertificateFields(certDer);
  return { certDer, fields, signer: await loadSigner(dir, state, env, fields) };
}

async function loadSigner(dir: string, state: CaState, env: NodeJS.ProcessEnv, fields: CertificateFields): Promise<Signer> {
  if (!state.keyWrapped) return loadPemFileSigner(caPath(dir, caFiles.key));
  const kek = await readKekFromEnv(env);
  if (kek === null) throw new PkiError('ERR_INPUT_INVALID', `the CA key is wrapped: set ${KEK_FILE_ENV} to the KEK file`, { field: KEK_FILE_ENV });
  const path = caPath(dir, caFiles.wrappedKey);
  await assertPrivateKeyFileMode(path);
  let wrapped: Uint8Array;
  try {
    wrapped = new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new PkiError('ERR_IO', `cannot read ${path}`, { field: '--dir', cause });
  }
  const signer = wrappedKeySigner(wrapped, kek, rootKeyBinding(fields.spkiDer));
  kek.fill(0);
  return signer;
}
