// `adrestia-pki cluster backup --out FILE`: the cluster backup (pki-core node/admin/backup-file.ts)
// as the node at --url gives it, checked here (format, version, SHA-256, every AZ snapshot) before
// it is written: 0600, since it holds the wrapped CA keys, and atomically, so FILE is either the
// old file or the whole new backup.
import { decodeBackup } from '@adrestia/pki-core';
import { writeFileAtomic } from '@adrestia/pki-core/support';
import { httpCallFollowing } from '../peer/http-request.ts';
import { need, type ParsedArgs } from './args.ts';
import { fail, tlsOptions } from './client-commands.ts';
import { httpsUrl } from './cluster-call.ts';

/** Far above a dev or test cluster's backup; the node builds each AZ's snapshot in memory anyway. */
const BACKUP_BYTES_MAX = 1024 * 1024 * 1024;
const BACKUP_TIMEOUT_MS = 120_000;
const REDIRECTS_MAX = 3;

export async function backupCommand(args: ParsedArgs): Promise<number> {
  const out = need(args.options, 'out');
  const tls = await tlsOptions(args.options);
  const r = await httpCallFollowing(`${httpsUrl(args.options)}/api/v1/backup`, { ...tls, method: 'GET', timeoutMs: BACKUP_TIMEOUT_MS, maxResponseBytes: BACKUP_BYTES_MAX }, REDIRECTS_MAX);
  if (r.status !== 200) return fail(r);
  const backup = decodeBackup(new Uint8Array(r.body));
  await writeFileAtomic(out, r.body, 0o600, '--out');
  process.stdout.write(`backup of cluster ${backup.clusterId} (AZs ${backup.azs.map((a) => a.az).join(', ')}) written to ${out}\n`);
  return 0;
}
