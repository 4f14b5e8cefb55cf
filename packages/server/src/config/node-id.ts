// A node's identity (nodeId UUID) must survive restarts: it names the node in the cluster map,
// its certificates and the Raft groups. When the configuration does not fix it, it is generated
// once and persisted in dataDir (pki-core writeFileAtomic: temporary file, fsync, rename, directory fsync).
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@adrestia/pki-core/support';
import { ServerError } from '../errors.ts';
import { isUuid } from './spec.ts';

export const NODE_ID_FILE = 'node-id';

/** The persisted node id; `configured` must match it when both exist. */
export async function ensureNodeId(dataDir: string, configured: string | undefined): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, NODE_ID_FILE);
  const persisted = await readNodeId(file);
  if (persisted !== undefined) {
    if (configured !== undefined && configured !== persisted) {
      throw new ServerError('ERR_CONFIG_INVALID', `nodeId ${configured} differs from ${persisted} persisted in ${file}`, { field: 'nodeId' });
    }
    return persisted;
  }
  const nodeId = configured ?? randomUUID();
  await writeFileAtomic(file, `${nodeId}\n`, 0o600, 'dataDir');
  return nodeId;
}

async function readNodeId(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ServerError('ERR_CONFIG_READ', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const id = text.trim();
  if (!isUuid(id)) throw new ServerError('ERR_CONFIG_INVALID', `${file} does not hold a UUID`, { field: 'nodeId' });
  return id;
}
