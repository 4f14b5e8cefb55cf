import { expect } from 'chai';
import fc from 'fast-check';
import { isPkiError } from '../src/errors.ts';
import { PkiStateMachine, PkiStateStore, type ApplyOutcome, type CommittedEntry } from '../src/state/index.ts';
import { hexDump, openStore, removeTempDirs } from './state-fixtures.ts';
import { generateLog, TestRandom } from './state-loggen.ts';

const LOG_ENTRIES = 600;
const SEEDS = [1, 0xc0ffee, 20261123];

/** Applies entries in batches whose sizes come from `seed` (1 = one entry per batch). */
async function replay(store: PkiStateStore, entries: CommittedEntry[], seed: number | 'single'): Promise<(ApplyOutcome | null)[]> {
  const r = new TestRandom(seed === 'single' ? 0 : seed);
  const outcomes: (ApplyOutcome | null)[] = [];
  for (let i = 0; i < entries.length; ) {
    const size = seed === 'single' ? 1 : 1 + r.int(64);
    outcomes.push(...(await store.applyEntries(entries.slice(i, i + size))));
    i += size;
  }
  return outcomes;
}

function summary(outcomes: (ApplyOutcome | null)[]): string[] {
  return outcomes.map((o) => (o === null ? 'skipped' : o.ok ? `ok:${o.result.type}` : o.error.code));
}

describe('State machine safety: replaying one log gives byte-identical replicas', () => {
  after(removeTempDirs);

  for (const seed of SEEDS) {
    it(`seed ${seed}: one-by-one and randomly batched replays agree on outcomes, LevelDB dumps and snapshots`, async () => {
      const log = generateLog(seed, LOG_ENTRIES);
      const a = await openStore();
      const b = await openStore();
      try {
        const outA = await replay(a, log, 'single');
        const outB = await replay(b, log, seed);
        expect(summary(outB)).to.deep.equal(summary(outA));
        // The generated log must exercise both sides of apply, or this test proves little.
        const kinds = new Set(summary(outA));
        for (const k of ['ok:Issued', 'ok:Revoked', 'ok:ExpiredPruned', 'ok:CaKeyRewrapped', 'ERR_SERIAL_REUSED', 'ERR_EVENT_MALFORMED', 'ERR_ALREADY_REVOKED']) {
          expect(kinds, `seed ${seed} never produced ${k}`).to.include(k);
        }
        expect(a.appliedIndex()).to.equal(LOG_ENTRIES);
        expect(b.appliedIndex()).to.equal(LOG_ENTRIES);
        expect(await hexDump(b)).to.deep.equal(await hexDump(a));
        expect(Buffer.from(await b.snapshot()).equals(Buffer.from(await a.snapshot()))).to.equal(true);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }

  it('a snapshot is stable: taking it twice gives the same bytes, and it does not change the state', async () => {
    const store = await openStore();
    try {
      await replay(store, generateLog(5, 200), 5);
      const dump = await hexDump(store);
      const first = await store.snapshot();
      expect(Buffer.from(await store.snapshot()).equals(Buffer.from(first))).to.equal(true);
      expect(await hexDump(store)).to.deep.equal(dump);
    } finally {
      await store.close();
    }
  });
});

describe('State machine properties over random logs (fast-check, memory backend)', () => {
  const withoutApplied = async (s: PkiStateStore) => (await hexDump(s)).filter(([k]) => k !== '!meta!applied');

  it('every rejected entry leaves the state exactly as it was', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const store = await PkiStateStore.inMemory();
        try {
          for (const entry of generateLog(seed, 150)) {
            const before = await withoutApplied(store);
            const [outcome] = await store.applyEntries([entry]);
            if (outcome !== null && outcome !== undefined && !outcome.ok) expect(await withoutApplied(store)).to.deep.equal(before);
            expect(store.appliedIndex()).to.equal(entry.index);
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 8, seed: 424242 },
    );
  });

  it('any split of a log into batches gives the same state as one entry per batch', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (logSeed, splitSeed) => {
        const log = generateLog(logSeed, 250);
        const a = await PkiStateStore.inMemory();
        const b = await PkiStateStore.inMemory();
        try {
          expect(summary(await replay(b, log, splitSeed))).to.deep.equal(summary(await replay(a, log, 'single')));
          expect(Buffer.from(await b.snapshot()).equals(Buffer.from(await a.snapshot()))).to.equal(true);
        } finally {
          await a.close();
          await b.close();
        }
      }),
      { numRuns: 20, seed: 17 },
    );
  });
});

describe('Raft §7 snapshots: restore replaces the whole state atomically', () => {
  after(removeTempDirs);

  it('snapshot → restore into a fresh store → identical dump, and both continue identically', async () => {
    const log = generateLog(77, LOG_ENTRIES);
    const cut = 350;
    const source = await openStore();
    const target = await openStore();
    try {
      await replay(source, log.slice(0, cut), 77);
      const snap = await source.snapshot();
      await target.restore(snap);
      expect(target.appliedIndex()).to.equal(cut);
      expect(await hexDump(target)).to.deep.equal(await hexDump(source));
      // Entries the snapshot already covers are skipped, the rest apply the same on both.
      const outS = await replay(source, log.slice(cut), 3);
      const outT = await replay(target, log.slice(cut - 20), 4);
      expect(summary(outT.slice(20))).to.deep.equal(summary(outS));
      expect(outT.slice(0, 20).every((o) => o === null)).to.equal(true);
      expect(await hexDump(target)).to.deep.equal(await hexDump(source));
    } finally {
      await source.close();
      await target.close();
    }
  });

  it('restore over a populated store removes everything the snapshot does not hold', async () => {
    const small = await openStore();
    const big = await openStore();
    try {
      await replay(small, generateLog(11, 50), 11);
      await replay(big, generateLog(12, 400), 12);
      await big.restore(await small.snapshot());
      expect(big.appliedIndex()).to.equal(50);
      expect(await hexDump(big)).to.deep.equal(await hexDump(small));
    } finally {
      await small.close();
      await big.close();
    }
  });

  it('refuses a corrupted or foreign snapshot and leaves the state untouched', async () => {
    const store = await openStore();
    try {
      await replay(store, generateLog(13, 100), 13);
      const dump = await hexDump(store);
      const snap = await store.snapshot();
      const flipped = new Uint8Array(snap);
      flipped[flipped.length - 10]! ^= 0xff;
      for (const bad of [flipped, snap.subarray(0, snap.length - 5), new Uint8Array([0x80]), new Uint8Array([1, 2, 3])]) {
        try {
          await store.restore(bad);
          expect.fail('restored a bad snapshot');
        } catch (e) {
          expect(isPkiError(e, 'ERR_INPUT_INVALID'), String(e)).to.equal(true);
        }
      }
      expect(await hexDump(store)).to.deep.equal(dump);
      expect(store.appliedIndex()).to.equal(100);
    } finally {
      await store.close();
    }
  });
});

describe('State backends: LevelDB and memory hold the same state for the same log', () => {
  after(removeTempDirs);

  it('replays into LevelDB and into memory give identical dumps and snapshots; snapshots move between them', async () => {
    const log = generateLog(4242, LOG_ENTRIES);
    const level = await openStore();
    const memory = await PkiStateStore.inMemory();
    const back = await PkiStateStore.inMemory();
    try {
      expect(summary(await replay(memory, log, 9))).to.deep.equal(summary(await replay(level, log, 8)));
      expect(await hexDump(memory)).to.deep.equal(await hexDump(level));
      const snap = await level.snapshot();
      expect(Buffer.from(await memory.snapshot()).equals(Buffer.from(snap))).to.equal(true);
      await back.restore(snap);
      expect(await hexDump(back)).to.deep.equal(await hexDump(level));
      const revocations = await level.revocations();
      expect(revocations.length).to.be.greaterThan(0);
      expect(await back.revocations()).to.deep.equal(revocations);
    } finally {
      await level.close();
      await memory.close();
      await back.close();
    }
  });
});

describe('LevelDB backend read cache (settings, CAs, AZs)', () => {
  after(removeTempDirs);

  it('cached records follow commits and a restore that replaces them', async () => {
    const older = await openStore();
    const store = await openStore();
    try {
      await older.applyEntries(generateLog(21, 1));
      const settings = (ms: number, index: number) =>
        store.apply({ type: 'ClusterSettingsSet', settings: { idempotencyWindowMs: ms }, at: index }, { index });
      await store.applyEntries(generateLog(21, 1));
      await settings(1000, 2);
      expect((await store.settings()).idempotencyWindowMs).to.equal(1000); // now cached
      await settings(2000, 3);
      expect((await store.settings()).idempotencyWindowMs).to.equal(2000);
      expect(await store.getAz('az9')).to.equal(undefined); // a cached miss
      await store.apply({ type: 'AzAdded', az: { name: 'az9', subnets: ['10.9.0.0/16'], localVip: '10.9.0.1' }, at: 4 }, { index: 4 });
      expect((await store.getAz('az9'))?.name).to.equal('az9');
      await store.restore(await older.snapshot());
      expect((await store.settings()).idempotencyWindowMs).to.equal(600_000);
      expect(await store.getAz('az9')).to.equal(undefined);
    } finally {
      await older.close();
      await store.close();
    }
  });
});

describe('PkiStateMachine: the consensus StateMachine over the store', () => {
  after(removeTempDirs);

  it('treats Raft no-op and membership entries as applied without touching PKI state', async () => {
    const log = generateLog(99, 40);
    const plain = await PkiStateStore.inMemory();
    const machine = new PkiStateMachine(await PkiStateStore.inMemory());
    try {
      // The same events after a leader no-op (empty data, Raft §8) and a membership change.
      const events = log.map((e, i) => ({ index: i + 3, term: e.term ?? 1, type: 'normal' as const, data: e.data }));
      await plain.applyEntries(events);
      const outcomes = await machine.apply([
        { index: 1, term: 1, type: 'normal', data: new Uint8Array(0) },
        { index: 2, term: 1, type: 'confChange', data: new Uint8Array([0x80]) },
        ...events,
      ]);
      expect(outcomes.slice(0, 2)).to.deep.equal([null, null]);
      expect(outcomes.slice(2).filter((o) => o?.ok).length).to.be.greaterThan(5);
      expect(machine.appliedIndex()).to.equal(42);
      expect(await hexDump(machine.store)).to.deep.equal(await hexDump(plain));
    } finally {
      await plain.close();
      await machine.store.close();
    }
  });

  it('restores a snapshot only at the index its metadata names', async () => {
    const source = await PkiStateStore.inMemory();
    const target = new PkiStateMachine(await PkiStateStore.inMemory());
    try {
      await source.applyEntries(generateLog(98, 30));
      const snap = await source.snapshot();
      const confState = { voters: ['a'], learners: [], votersOutgoing: [] };
      try {
        await target.restore(snap, { index: 29, term: 1, confState });
        expect.fail('restored a snapshot under the wrong index');
      } catch (e) {
        expect(isPkiError(e, 'ERR_INPUT_INVALID')).to.equal(true);
      }
      expect(target.appliedIndex()).to.equal(0);
      await target.restore(snap, { index: 30, term: 1, confState });
      expect(target.appliedIndex()).to.equal(30);
      expect(await hexDump(target.store)).to.deep.equal(await hexDump(source));
    } finally {
      await source.close();
      await target.store.close();
    }
  });
});
