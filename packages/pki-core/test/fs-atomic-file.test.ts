// fs/atomic-file.ts: the one "temporary sibling, fsync, rename, fsync the directory" write.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isPkiError } from '../src/errors.ts';
import { writeFileAtomic } from '../src/fs/atomic-file.ts';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => err,
  );
}

describe('writeFileAtomic: whole-file replacement', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'adrestia-atomic-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the data with exactly the given mode, whatever the umask, and leaves no temporary file', async () => {
    const path = join(dir, 'state.json');
    const umask = process.umask(0o077);
    try {
      await writeFileAtomic(path, '{"a":1}\n', 0o644);
    } finally {
      process.umask(umask);
    }
    expect(readFileSync(path, 'utf8')).to.equal('{"a":1}\n');
    expect(statSync(path).mode & 0o777).to.equal(0o644);
    expect(readdirSync(dir)).to.deep.equal(['state.json']);
  });

  it('replaces an existing file, taking the new mode, also over a read-only one', async () => {
    const path = join(dir, 'key.pem');
    writeFileSync(path, 'old', { mode: 0o644 });
    await writeFileAtomic(path, Uint8Array.of(1, 2, 3), 0o400);
    expect([...readFileSync(path)]).to.deep.equal([1, 2, 3]);
    expect(statSync(path).mode & 0o777).to.equal(0o400);
    await writeFileAtomic(path, 'rotated', 0o400);
    expect(readFileSync(path, 'utf8')).to.equal('rotated');
    expect(readdirSync(dir)).to.deep.equal(['key.pem']);
  });

  it('fails with ERR_IO naming the field, removes its temporary file and leaves the target as it was', async () => {
    // A non-empty directory at the target: the temporary file is written, the rename fails.
    const target = join(dir, 'out');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    const err = await rejection(writeFileAtomic(target, 'data', 0o644, '--out'));
    expect(isPkiError(err, 'ERR_IO'), String(err)).to.equal(true);
    expect((err as { field?: string }).field).to.equal('--out');
    expect(readdirSync(dir)).to.deep.equal(['out']);
    expect(readdirSync(target)).to.deep.equal(['keep']);
  });

  it('fails with ERR_IO when the directory does not exist', async () => {
    const err = await rejection(writeFileAtomic(join(dir, 'absent', 'f'), 'data', 0o644));
    expect(isPkiError(err, 'ERR_IO'), String(err)).to.equal(true);
    expect((err as { field?: string }).field).to.equal('file');
  });
});
