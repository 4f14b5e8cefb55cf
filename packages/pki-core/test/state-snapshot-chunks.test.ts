import { expect } from 'chai';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { PkiStateStore } from '../src/state/index.ts';
import { CHUNK_BYTES_MIN } from '../src/state/snapshot-chunks.ts';
import { expectPkiRejects } from './expect-code.ts';
import { runAndKill } from './kill-child.ts';
import { hexDump, removeTempDirs, tempDir } from './state-fixtures.ts';
import { generateLog } from './state-loggen.ts';

const CHILD = fileURLToPath(new URL('./state-snapshot-install-child.ts', import.meta.url));

async function filled(seed: number, entries: number, location = join(tempDir(), 'state')): Promise<PkiStateStore> {
  const store = await PkiStateStore.open(location, { syncWrites: false });
  const log = generateLog(seed, entries);
  for (let i = 0; i < log.length; i += 50) await store.applyEntries(log.slice(i, i + 50));
  return store;
}

async function chunksOf(store: PkiStateStore, chunkBytesMax = CHUNK_BYTES_MIN): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of (await store.snapshotChunks(chunkBytesMax)).chunks) out.push(chunk);
  return out;
}

async function install(store: PkiStateStore, chunks: readonly Uint8Array[], expectedIndex?: number): Promise<void> {
  const job = store.beginInstall();
  for (const [i, chunk] of chunks.entries()) expect(await job.write(chunk)).to.equal(i === chunks.length - 1);
  await job.commit(expectedIndex);
}

function hex(chunks: readonly Uint8Array[]): string[] {
  return chunks.map((c) => Buffer.from(c).toString('hex'));
}

describe('Raft §7 InstallSnapshot in chunks (offset/done): the PKI state streamed and installed piece by piece', function () {
  this.timeout(20_000);
  after(removeTempDirs);

  it('a snapshot of many chunks installs over another state to an identical one, on LevelDB and in memory', async () => {
    const source = await filled(11, 400);
    const target = await filled(12, 150);
    const memory = await PkiStateStore.inMemory();
    try {
      const chunks = await chunksOf(source);
      expect(chunks.length).to.be.greaterThan(20);
      // Bounded chunks: none is much above the budget (an entry is never split).
      for (const c of chunks) expect(c.byteLength).to.be.lessThan(CHUNK_BYTES_MIN + 4096);
      await install(target, chunks, source.appliedIndex());
      await install(memory, chunks);
      expect(target.appliedIndex()).to.equal(400);
      expect(await hexDump(target)).to.deep.equal(await hexDump(source));
      expect(await hexDump(memory)).to.deep.equal(await hexDump(source));
      // Same bytes on every replica, whichever backend holds the state.
      expect(hex(await chunksOf(target))).to.deep.equal(hex(chunks));
      expect(hex(await chunksOf(memory))).to.deep.equal(hex(chunks));
      expect(Buffer.from(await target.snapshot()).equals(Buffer.from(await source.snapshot()))).to.equal(true);
    } finally {
      await Promise.all([source.close(), target.close(), memory.close()]);
    }
  });

  it('the chunks come from one consistent view: applies after the call do not show in them', async () => {
    const store = await filled(13, 200);
    const copy = await PkiStateStore.inMemory();
    try {
      const before = await hexDump(store);
      const { seq, chunks: stream } = await store.snapshotChunks(CHUNK_BYTES_MIN);
      expect(seq).to.equal(200);
      await store.applyEntries(generateLog(14, 260).slice(200));
      const chunks: Uint8Array[] = [];
      for await (const c of stream) chunks.push(c);
      await install(copy, chunks, 200);
      expect(await hexDump(copy)).to.deep.equal(before);
      expect(store.appliedIndex()).to.equal(260);
    } finally {
      await Promise.all([store.close(), copy.close()]);
    }
  });

  it('a damaged, reordered or wrong-index sequence is refused with ERR_INPUT_INVALID and the state is unchanged', async () => {
    const source = await filled(15, 200);
    const target = await filled(16, 100);
    try {
      const chunks = await chunksOf(source);
      const before = await hexDump(target);
      const swapped = [chunks[1]!, chunks[0]!, ...chunks.slice(2)];
      await expectPkiRejects(install(target, swapped), 'ERR_INPUT_INVALID');
      const damaged = chunks.map((c, i) => (i === 3 ? Uint8Array.from(c, (b, j) => (j === c.length - 5 ? b ^ 1 : b)) : c));
      await expectPkiRejects(install(target, damaged), 'ERR_INPUT_INVALID');
      await expectPkiRejects(install(target, chunks, 199), 'ERR_INPUT_INVALID');
      expect(await hexDump(target)).to.deep.equal(before);
    } finally {
      await Promise.all([source.close(), target.close()]);
    }
  });

  it('a follower killed (SIGKILL) mid-install reopens with its old state, usable', async () => {
    const sourceDir = join(tempDir(), 'state');
    const targetDir = join(tempDir(), 'state');
    const source = await filled(17, 300, sourceDir);
    const target = await filled(18, 120, targetDir);
    const before = await hexDump(target);
    const chunkCount = (await chunksOf(source)).length;
    await Promise.all([source.close(), target.close()]);
    const child = await runAndKill(CHILD, [sourceDir, targetDir, String(CHUNK_BYTES_MIN)], Math.floor(chunkCount / 2));
    expect(child.signal).to.equal('SIGKILL');
    expect(child.acknowledged).to.equal(Math.floor(chunkCount / 2));
    const reopened = await PkiStateStore.open(targetDir, { syncWrites: false });
    try {
      expect(await hexDump(reopened)).to.deep.equal(before);
      expect(reopened.appliedIndex()).to.equal(120);
      // Usable: it applies the rest of its own log.
      await reopened.applyEntries(generateLog(18, 140).slice(120));
      expect(reopened.appliedIndex()).to.equal(140);
    } finally {
      await reopened.close();
    }
  });

  it('a commit cut short (phase record left behind) is finished by the next open', async () => {
    const source = await filled(19, 200);
    const dir = join(tempDir(), 'state');
    const target = await filled(20, 80, dir);
    const want = await hexDump(source);
    const job = target.beginInstall();
    for (const c of await chunksOf(source)) await job.write(c);
    await Promise.all([source.close(), target.close()]);
    // As if the process died inside commit: the `move` phase recorded, one live entry already moved.
    const raw = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    const liveKeys = [...(await raw.keys({ lt: '!install!' }).all()), ...(await raw.keys({ gt: '!install!\x7f' }).all())];
    expect(liveKeys.length).to.be.greaterThan(10);
    await raw.batch(liveKeys.map((key) => ({ type: 'del' as const, key })));
    const [stagedKey, stagedValue] = (await raw.iterator({ gte: '!install!e', lt: '!install!f', limit: 1 }).all())[0]!;
    await raw.batch([
      { type: 'put', key: stagedKey.slice('!install!e'.length), value: stagedValue },
      { type: 'del', key: stagedKey },
      { type: 'put', key: '!install!phase', value: new Uint8Array(Buffer.from('move')) },
    ]);
    await raw.close();
    const reopened = await PkiStateStore.open(dir, { syncWrites: false });
    try {
      expect(await hexDump(reopened)).to.deep.equal(want);
      expect(reopened.appliedIndex()).to.equal(200);
    } finally {
      await reopened.close();
    }
  });
});
