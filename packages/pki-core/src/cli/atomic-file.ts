// Whole-file writes that never leave a partial file behind: write a temporary sibling created
// exclusively with its final mode, fsync it, rename it over the target, fsync the directory.
// A failure removes the temporary file, so the target is either the old file or the new one.
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PkiError } from '../errors.ts';

export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644, field = 'file'): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
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
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (cause) {
    await unlink(tmp).catch(() => undefined);
    throw new PkiError('ERR_IO', `cannot write ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { field, cause });
  }
}
