import { expect } from 'chai';
import fc from 'fast-check';
import { MemoryStorage } from '../src/memory-storage.ts';
import type { Ready } from '../src/ready.ts';
import type { Entry, HardState, Snapshot } from '../src/types.ts';
import {
  applySeatRecord,
  decodeSeatRecord,
  decodeSeatState,
  encodeSeatRecord,
  encodeSeatState,
  newSeatState,
  seatLastIndex,
  seatPersistFromReady,
  seatStorageState,
  seatTerm,
  type SeatRecord,
  type SeatState,
  SeatLogError,
  type SeatLogErrorCode,
} from '../src/two-tier/seat-log.ts';

const AZ = 'az-a';
const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index & 0xff, term & 0xff]) });
const snap = (index: number, term: number): Snapshot => ({
  metadata: { index, term, confState: { voters: ['az-a', 'az-b', 'az-c'], learners: [], votersOutgoing: [] } },
  data: new Uint8Array([9, index & 0xff]),
});
const persist = (over: Partial<Extract<SeatRecord, { kind: 'seatPersist' }>>): SeatRecord => ({
  kind: 'seatPersist',
  az: AZ,
  hardState: null,
  entries: [],
  snapshot: null,
  ...over,
});

function expectRejected(fn: () => unknown, code: SeatLogErrorCode = 'ERR_SEAT_RECORD_REJECTED'): void {
  try {
    fn();
  } catch (e) {
    expect(e instanceof SeatLogError && e.code === code, String(e)).to.equal(true);
    return;
  }
  expect.fail(`expected ${code}`);
}

// One step of the random walk, turned into a record that a correct seat RaftCore could emit.
type Step = { op: 'append' | 'hardState' | 'install' | 'compact'; a: number; b: number; c: number };

function recordFor(s: SeatState, step: Step): SeatRecord | null {
  const hs = s.hardState;
  const first = (s.snapshot?.metadata.index ?? 0) + 1;
  const last = seatLastIndex(s);
  switch (step.op) {
    case 'append': {
      // Raft §5.3: only the uncommitted suffix may be replaced.
      const lo = Math.max(first, hs.commit + 1);
      const start = lo + (step.a % (last + 2 - lo));
      const term = hs.term + (step.b % 2);
      const count = 1 + (step.c % 4);
      const entries = Array.from({ length: count }, (_, i) => entry(start + i, term));
      const hardState = term > hs.term ? { term, vote: null, commit: hs.commit } : null;
      return persist({ entries, hardState });
    }
    case 'hardState': {
      const term = hs.term + (step.a % 3);
      const vote = term > hs.term ? (step.b % 2 === 0 ? null : `az-${step.b % 3}`) : (hs.vote ?? (step.b % 2 === 0 ? null : 'az-b'));
      const commit = hs.commit + (step.c % (last - hs.commit + 1));
      return persist({ hardState: { term, vote, commit } });
    }
    case 'install': {
      // Raft §7: a snapshot from the leader lies beyond our commit; it replaces the log.
      const index = Math.max(hs.commit, s.snapshot?.metadata.index ?? 0) + 1 + (step.a % 5);
      const term = hs.term + (step.b % 2);
      const tail = Array.from({ length: step.c % 3 }, (_, i) => entry(index + 1 + i, term));
      return persist({ snapshot: snap(index, term), entries: tail, hardState: { term, vote: hs.term === term ? hs.vote : null, commit: index } });
    }
    case 'compact': {
      const lo = first - 1;
      if (hs.commit < lo) return null;
      const index = lo + (step.a % (hs.commit - lo + 1));
      const term = seatTerm(s, index);
      if (term === null) return null;
      return { kind: 'seatCompact', az: AZ, snapshot: snap(index, term) };
    }
  }
}

async function applyToReference(storage: MemoryStorage, r: SeatRecord): Promise<void> {
  if (r.kind === 'seatCompact') return storage.compact(r.snapshot);
  return storage.save({ hardState: r.hardState, entries: r.entries, snapshot: r.snapshot }, { sync: true });
}

describe('seat persistence through the local log (docs/architecture.md §3.2)', () => {
  it('rebuilds exactly what a consensus MemoryStorage holds, under random append/truncate/snapshot/compact (property)', async () => {
    const stepArb = fc.record({
      op: fc.constantFrom<Step['op']>('append', 'append', 'hardState', 'install', 'compact'),
      a: fc.nat(1000),
      b: fc.nat(1000),
      c: fc.nat(1000),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 60 }), async (steps) => {
        const reference = new MemoryStorage();
        await reference.load();
        let state = newSeatState(AZ);
        for (const step of steps) {
          const record = recordFor(state, step);
          if (record === null) continue;
          // Through the wire format, as the local log carries it.
          state = applySeatRecord(state, decodeSeatRecord(encodeSeatRecord(record)));
          await applyToReference(reference, record);
        }
        const expected = await reference.load();
        expect(seatStorageState(state)).to.deep.equal(expected);
        expect(decodeSeatState(encodeSeatState(state))).to.deep.equal(state);
      }),
      { numRuns: 150 },
    );
  });

  it('takes the durable part of a seat Ready, or nothing when it has none', () => {
    const empty: Ready = {
      softState: null,
      hardState: null,
      entries: [],
      snapshot: null,
      committedEntries: [],
      messages: [],
      readStates: [],
      mustSync: false,
    };
    expect(seatPersistFromReady(AZ, empty)).to.equal(null);
    const hardState: HardState = { term: 2, vote: 'az-a', commit: 0 };
    const r = seatPersistFromReady(AZ, { ...empty, hardState, entries: [entry(1, 2)], committedEntries: [entry(1, 2)] });
    expect(r).to.deep.equal({ kind: 'seatPersist', az: AZ, hardState, entries: [entry(1, 2)], snapshot: null });
  });

  describe('refuses records that would break Raft durable state (Figure 2), leaving the state unchanged', () => {
    const base = applySeatRecord(
      newSeatState(AZ),
      persist({ entries: [entry(1, 1), entry(2, 1), entry(3, 2)], hardState: { term: 2, vote: 'az-b', commit: 2 } }),
    );

    it('a second vote in the same term (a deposed local leader acting for the seat)', () => {
      expectRejected(() => applySeatRecord(base, persist({ hardState: { term: 2, vote: 'az-c', commit: 2 } })));
      expect(applySeatRecord(base, persist({ hardState: { term: 3, vote: 'az-c', commit: 2 } })).hardState.vote).to.equal('az-c');
    });

    it('a term or commit going backwards', () => {
      expectRejected(() => applySeatRecord(base, persist({ hardState: { term: 1, vote: null, commit: 2 } })));
      expectRejected(() => applySeatRecord(base, persist({ hardState: { term: 2, vote: 'az-b', commit: 1 } })));
    });

    it('rewriting a committed entry, leaving a gap, or non-contiguous entries', () => {
      expectRejected(() => applySeatRecord(base, persist({ entries: [entry(2, 3)] })));
      expectRejected(() => applySeatRecord(base, persist({ entries: [entry(5, 2)] })));
      expectRejected(() => applySeatRecord(base, persist({ entries: [entry(4, 2), entry(6, 2)] })));
      const truncated = applySeatRecord(base, persist({ entries: [entry(3, 3)] })); // uncommitted: allowed
      expect(seatTerm(truncated, 3)).to.equal(3);
      expect(applySeatRecord(base, persist({ entries: [entry(2, 1), entry(3, 2)] })).entries).to.deep.equal(base.entries);
    });

    it('compaction past the commit index or with a wrong term, and another AZ\'s record', () => {
      expectRejected(() => applySeatRecord(base, { kind: 'seatCompact', az: AZ, snapshot: snap(3, 2) }));
      expectRejected(() => applySeatRecord(base, { kind: 'seatCompact', az: AZ, snapshot: snap(2, 2) }));
      const compacted = applySeatRecord(base, { kind: 'seatCompact', az: AZ, snapshot: snap(2, 1) });
      expect(compacted.entries.map((e) => e.index)).to.deep.equal([3]);
      expectRejected(() => applySeatRecord(compacted, persist({ entries: [entry(2, 1)] })));
      expectRejected(() => applySeatRecord(base, persist({ az: 'az-b', entries: [entry(4, 2)] })));
    });

    it('an installed snapshot older than the stored one', () => {
      const installed = applySeatRecord(base, persist({ snapshot: snap(10, 3), hardState: { term: 3, vote: null, commit: 10 } }));
      expect(seatLastIndex(installed)).to.equal(10);
      expectRejected(() => applySeatRecord(installed, persist({ snapshot: snap(9, 3) })));
    });

    it('malformed bytes are ERR_EVENT_MALFORMED', () => {
      expectRejected(() => decodeSeatRecord(new Uint8Array([0xc1])), 'ERR_SEAT_RECORD_MALFORMED');
      const good = encodeSeatRecord(persist({ entries: [entry(1, 1)] }));
      expectRejected(() => decodeSeatRecord(good.subarray(0, good.length - 3)), 'ERR_SEAT_RECORD_MALFORMED');
    });
  });
});
