import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LevelStorage, openLevelDb } from '../src/level-storage.ts';
import { MemoryStorage } from '../src/memory-storage.ts';
import { StorageError, type Storage } from '../src/storage.ts';
import type { Entry, Snapshot } from '../src/types.ts';

const ent = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(text),
});
const range = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ent(from + i, term));
const snap = (index: number, term: number): Snapshot => ({
  metadata: { index, term, confState: { voters: ['a', 'b', 'c'], learners: ['d'], votersOutgoing: [] } },
  data: new TextEncoder().encode(`state@${index}`),
});
const indexes = (es: Entry[]): string => es.map((e) => `${e.index}/${e.term}`).join(' ');

interface Subject {
  /** Opens (or reopens, after close) the storage under test. */
  open(): Promise<Storage>;
  cleanup(): Promise<void>;
}

async function levelSubject(): Promise<Subject> {
  const dir = await mkdtemp(join(tmpdir(), 'adrestia-storage-'));
  return {
    open: () => LevelStorage.open(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

async function memorySubject(): Promise<Subject> {
  const storage = new MemoryStorage();
  return { open: async () => storage.reopen(), cleanup: async () => {} };
}

for (const [name, makeSubject] of [
  ['LevelStorage', levelSubject],
  ['MemoryStorage', memorySubject],
] as const) {
  describe(`Storage contract (Raft Figure 2 persistent state, §5.3, §7): ${name}`, () => {
    let subject: Subject;
    let storage: Storage;
    beforeEach(async () => {
      subject = await makeSubject();
      storage = await subject.open();
    });
    afterEach(async () => {
      await storage.close();
      await subject.cleanup();
    });
    async function restart(): Promise<Awaited<ReturnType<Storage['load']>>> {
      await storage.close();
      storage = await subject.open();
      return storage.load();
    }

    it('a fresh storage loads an empty log and term 0', async () => {
      const s = await storage.load();
      expect(s.hardState).to.deep.equal({ term: 0, vote: null, commit: 0 });
      expect(s.snapshot).to.equal(null);
      expect(s.entries).to.deep.equal([]);
    });

    it('round-trips hard state and entries across a reopen, bytes as plain Uint8Array', async () => {
      await storage.load();
      await storage.save({ hardState: { term: 3, vote: 'b', commit: 2 }, entries: range(1, 3, 3) }, { sync: true });
      const s = await restart();
      expect(s.hardState).to.deep.equal({ term: 3, vote: 'b', commit: 2 });
      expect(s.entries).to.deep.equal(range(1, 3, 3));
      expect(Object.getPrototypeOf(s.entries[0]!.data)).to.equal(Uint8Array.prototype);
    });

    it('an entry at an existing index replaces it and deletes the rest of the suffix (§5.3)', async () => {
      await storage.load();
      await storage.save({ entries: range(1, 6, 1) }, { sync: true });
      await storage.save({ entries: [ent(3, 2), ent(4, 2)] }, { sync: true });
      expect(indexes((await restart()).entries)).to.equal('1/1 2/1 3/2 4/2');
      await storage.save({ entries: [ent(5, 2)] }, { sync: false });
      expect(indexes((await restart()).entries)).to.equal('1/1 2/1 3/2 4/2 5/2');
    });

    it('refuses a write that would leave a gap in the log', async () => {
      await storage.load();
      await storage.save({ entries: range(1, 2, 1) }, { sync: true });
      let error: unknown;
      await storage.save({ entries: [ent(4, 1)] }, { sync: true }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(Error);
      expect(indexes((await restart()).entries)).to.equal('1/1 2/1');
    });

    it('compact() persists the snapshot and drops exactly the entries it covers (§7)', async () => {
      await storage.load();
      await storage.save({ hardState: { term: 2, vote: 'a', commit: 8 }, entries: range(1, 8, 2) }, { sync: true });
      await storage.compact(snap(5, 2));
      await storage.save({ entries: [ent(9, 2)] }, { sync: true });
      const s = await restart();
      expect(s.snapshot).to.deep.equal(snap(5, 2));
      expect(indexes(s.entries)).to.equal('6/2 7/2 8/2 9/2');
      expect(s.appliedIndex).to.equal(5);
      await storage.compact(snap(9, 2));
      const t = await restart();
      expect(t.entries).to.deep.equal([]);
      expect(t.snapshot?.metadata.index).to.equal(9);
    });

    it('a snapshot from the leader replaces the whole log, entries after it kept in the same write', async () => {
      await storage.load();
      await storage.save({ entries: range(1, 4, 1) }, { sync: true });
      await storage.save(
        { snapshot: snap(10, 3), entries: [ent(11, 3)], hardState: { term: 3, vote: null, commit: 10 } },
        { sync: true },
      );
      const s = await restart();
      expect(s.snapshot).to.deep.equal(snap(10, 3));
      expect(indexes(s.entries)).to.equal('11/3');
      expect(s.hardState).to.deep.equal({ term: 3, vote: null, commit: 10 });
    });

    it('is unusable after close() with ERR_STORAGE_CLOSED', async () => {
      await storage.load();
      await storage.close();
      let error: unknown;
      await storage.save({ entries: [ent(1, 1)] }, { sync: true }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(StorageError);
      expect((error as StorageError).code).to.equal('ERR_STORAGE_CLOSED');
      storage = await subject.open();
    });
  });
}

describe('LevelStorage: several Raft groups in one LevelDB', () => {
  it('keeps each group in its own sublevel, independently truncated and compacted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adrestia-groups-'));
    try {
      let db = await openLevelDb(dir);
      const local = new LevelStorage(db, { group: 'local' });
      const seat = new LevelStorage(db, { group: 'seat:az1' });
      await local.load();
      await seat.load();
      await local.save({ hardState: { term: 4, vote: 'n1', commit: 3 }, entries: range(1, 5, 4) }, { sync: true });
      await seat.save({ hardState: { term: 9, vote: 'az2', commit: 1 }, entries: range(1, 2, 9) }, { sync: true });
      await seat.save({ entries: [ent(1, 10)] }, { sync: true });
      await local.compact(snap(3, 4));
      await db.close();

      db = await openLevelDb(dir);
      const l = await new LevelStorage(db, { group: 'local' }).load();
      const s = await new LevelStorage(db, { group: 'seat:az1' }).load();
      expect(l.hardState.term).to.equal(4);
      expect(indexes(l.entries)).to.equal('4/4 5/4');
      expect(s.hardState).to.deep.equal({ term: 9, vote: 'az2', commit: 1 });
      expect(s.snapshot).to.equal(null);
      expect(indexes(s.entries)).to.equal('1/10');
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects group names containing the prefix separator', () => {
    expect(() => new LevelStorage({} as never, { group: 'a/b' })).to.throw(TypeError);
  });
});

describe('LevelStorage: one batch per Ready survives SIGKILL all-or-nothing', () => {
  it('after killing a writer mid-stream, hard state and log agree and every acknowledged write is there', async function () {
    this.timeout(30_000);
    const dir = await mkdtemp(join(tmpdir(), 'adrestia-kill-'));
    try {
      const writer = fileURLToPath(new URL('./storage-crash-writer.ts', import.meta.url));
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let acked = 0;
      let buffered = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) acked = Math.max(acked, Number(line));
          if (acked >= 40) child.kill('SIGKILL');
        });
        child.on('exit', () => resolve());
        child.on('error', reject);
      });
      expect(acked).to.be.at.least(40);
      const storage = await LevelStorage.open(dir);
      const s = await storage.load();
      await storage.close();
      // Each batch n wrote entries (n-1)*10+1..n*10 (term n) and hardState {term n, commit n*10}.
      const n = s.hardState.term;
      expect(n).to.be.at.least(acked);
      expect(s.hardState.commit).to.equal(n * 10);
      expect(s.entries.length).to.equal(n * 10);
      expect(s.entries[s.entries.length - 1]!.term).to.equal(n);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
