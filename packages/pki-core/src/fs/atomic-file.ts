// Whole-file writes that never leave a partial file behind: write a temporary sibling (same
// directory, so the rename stays on one file system) created exclusively with its final mode,
// fsync it, rename it over the target, fsync the directory so the rename itself survives a crash.
// A failure removes the temporary file, so the target is either the old file or the new one.
// The one implementation for key files, CA directories, CLI outputs and the server's data files.
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PkiError } from '../errors.ts';

/**
 * Replaces `path` with `data`, whose permission bits become exactly `mode` (umask does not apply).
 * Fails with ERR_IO naming `field` (the flag or setting that named the file).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode: number, field = 'file'): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.chmod(mode); // umask may have cleared bits; make the mode exact
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await syncDirectory(dir);
  } catch (cause) {
    await unlink(tmp).catch(() => undefined);
    throw new PkiError('ERR_IO', `cannot write ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { field, cause });
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
