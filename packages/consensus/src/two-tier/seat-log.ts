// A global-group seat keeps its Raft state in its AZ's local log (docs/architecture.md §3.2): the
// AZ's local leader runs the seat's RaftCore, proposes each seat Ready's durable part as a
// `SeatPersist` record to the local group, and sends the seat's messages only after that record
// commits — the local log is the seat's stable storage (Raft Figure 2, "updated on stable storage
// before responding to RPCs"). Every node of the AZ folds the committed records into a
// `SeatState`, so whichever node becomes local leader next can rebuild the seat's storage
// exactly and carry on.
//
// Records apply in the order a Storage applies one Ready (consensus Storage.save): snapshot, then
// entries (truncating a conflicting suffix), then hard state. Local compaction of the seat's log
// is a separate `SeatCompact` record (consensus Storage.compact).
import { decodeEntry, decodeHardState, decodeSnapshot, decodeValue, encodeEntry, encodeHardState, encodeSnapshot, encodeValue } from '../codec.ts';
import type { Ready } from '../ready.ts';
import { EMPTY_HARD_STATE, type StorageState } from '../storage.ts';
import type { Entry, HardState, Snapshot } from '../types.ts';

export type SeatLogErrorCode = 'ERR_SEAT_RECORD_MALFORMED' | 'ERR_SEAT_RECORD_REJECTED';

/** A seat record that cannot be decoded, or that would break Raft's durable invariants. */
export class SeatLogError extends Error {
  constructor(
    readonly code: SeatLogErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SeatLogError';
  }
}

export interface SeatPersist {
  kind: 'seatPersist';
  az: string;
  hardState: HardState | null;
  entries: Entry[];
  snapshot: Snapshot | null;
}

interface SeatCompact {
  kind: 'seatCompact';
  az: string;
  /** A snapshot of the seat's applied global state; entries up to its index are dropped. */
  snapshot: Snapshot;
}

export type SeatRecord = SeatPersist | SeatCompact;

/** The seat's durable Raft state, as a Storage would hold it. Treat as immutable. */
export interface SeatState {
  readonly az: string;
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Contiguous entries after the snapshot index (from index 1 without a snapshot). */
  readonly entries: readonly Entry[];
}

const FORMAT_VERSION = 1;

/** The durable part of a seat Ready, or null when the Ready has nothing to persist. */
export function seatPersistFromReady(az: string, ready: Ready): SeatPersist | null {
  if (ready.hardState === null && ready.entries.length === 0 && ready.snapshot === null) return null;
  return { kind: 'seatPersist', az, hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot };
}

// Plain MessagePack (TOOLCHAIN: msgpackr with useRecords false). The Raft values inside are the
// consensus codec's own encodings, so they are validated by the same code that reads Raft storage.
export function encodeSeatRecord(record: SeatRecord): Uint8Array {
  if (record.kind === 'seatCompact') {
    return encodeValue({ v: FORMAT_VERSION, kind: record.kind, az: record.az, snapshot: encodeSnapshot(record.snapshot) });
  }
  return encodeValue({
    v: FORMAT_VERSION,
    kind: record.kind,
    az: record.az,
    hardState: record.hardState === null ? null : encodeHardState(record.hardState),
    entries: record.entries.map(encodeEntry),
    snapshot: record.snapshot === null ? null : encodeSnapshot(record.snapshot),
  });
}

export function decodeSeatRecord(bytes: Uint8Array): SeatRecord {
  try {
    const r = decodeValue(bytes);
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new Error('not a map');
    const m = r as Record<string, unknown>;
    if (m['v'] !== FORMAT_VERSION) throw new Error(`unknown version ${String(m['v'])}`);
    if (typeof m['az'] !== 'string' || m['az'] === '') throw new Error('az');
    const az = m['az'];
    if (m['kind'] === 'seatCompact') return { kind: 'seatCompact', az, snapshot: decodeSnapshot(bin(m['snapshot'])) };
    if (m['kind'] !== 'seatPersist') throw new Error('kind');
    if (!Array.isArray(m['entries'])) throw new Error('entries');
    return {
      kind: 'seatPersist',
      az,
      hardState: m['hardState'] === null ? null : decodeHardState(bin(m['hardState'])),
      entries: m['entries'].map((e) => decodeEntry(bin(e))),
      snapshot: m['snapshot'] === null ? null : decodeSnapshot(bin(m['snapshot'])),
    };
  } catch (cause) {
    throw new SeatLogError('ERR_SEAT_RECORD_MALFORMED', 'malformed seat record', { cause });
  }
}

function bin(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new Error('expected binary');
  return v;
}

export function newSeatState(az: string): SeatState {
  return { az, hardState: { ...EMPTY_HARD_STATE }, snapshot: null, entries: [] };
}

function firstIndexOf(s: SeatState): number {
  return (s.snapshot?.metadata.index ?? 0) + 1;
}

export function seatLastIndex(s: SeatState): number {
  return firstIndexOf(s) + s.entries.length - 1;
}

/** The term of the entry at `index`, the snapshot's term at its index, or null if unknown. */
export function seatTerm(s: SeatState, index: number): number | null {
  if (s.snapshot !== null && index === s.snapshot.metadata.index) return s.snapshot.metadata.term;
  if (index === 0) return 0;
  return s.entries[index - firstIndexOf(s)]?.term ?? null;
}

function rejected(message: string): SeatLogError {
  return new SeatLogError('ERR_SEAT_RECORD_REJECTED', `seat record: ${message}`);
}

/**
 * Folds one committed record into the seat's state. A record that would break Raft's durable
 * invariants is refused with ERR_SEAT_RECORD_REJECTED and the state is left as it was, so every replica
 * of the local log skips it alike. This is a second line of defence behind the local group (a
 * deposed local leader's records cannot commit after its successor's), never the first.
 */
export function applySeatRecord(state: SeatState, record: SeatRecord): SeatState {
  if (record.az !== state.az) throw rejected(`for AZ ${record.az}, not ${state.az}`);
  return record.kind === 'seatCompact' ? applyCompact(state, record.snapshot) : applyPersist(state, record);
}

function applyPersist(state: SeatState, record: SeatPersist): SeatState {
  let next: SeatState = state;
  if (record.snapshot !== null) {
    const current = state.snapshot?.metadata.index ?? 0;
    if (record.snapshot.metadata.index < current) throw rejected('snapshot older than the stored one');
    // Raft §7 / consensus Storage.save: an installed snapshot replaces the whole log.
    next = { ...next, snapshot: record.snapshot, entries: [] };
  }
  if (record.entries.length > 0) next = appendEntries(next, record.entries, state.hardState.commit);
  if (record.hardState !== null) next = { ...next, hardState: checkedHardState(state.hardState, record.hardState) };
  return next;
}

function appendEntries(state: SeatState, entries: readonly Entry[], committed: number): SeatState {
  for (let i = 1; i < entries.length; i++) {
    const [prev, cur] = [entries[i - 1]!, entries[i]!];
    if (cur.index !== prev.index + 1 || cur.term < prev.term) throw rejected(`entries not contiguous at ${cur.index}`);
  }
  const first = entries[0]!;
  const firstIndex = firstIndexOf(state);
  const lastIndex = seatLastIndex(state);
  if (first.index < firstIndex || first.index > lastIndex + 1) {
    throw rejected(`entry ${first.index} leaves a gap or rewrites compacted entries (log ${firstIndex}..${lastIndex})`);
  }
  // Raft §5.3 truncates only uncommitted entries; an entry changing a committed one is corrupt.
  for (const e of entries) {
    if (e.index > Math.min(committed, lastIndex)) break;
    if (seatTerm(state, e.index) !== e.term) throw rejected(`entry ${e.index} would rewrite a committed entry`);
  }
  const kept = state.entries.slice(0, first.index - firstIndex);
  return { ...state, entries: [...kept, ...entries] };
}

// Raft Figure 2: the term never decreases, and a server votes at most once per term.
function checkedHardState(current: HardState, next: HardState): HardState {
  if (next.term < current.term) throw rejected(`term ${next.term} is below ${current.term}`);
  if (next.term === current.term && current.vote !== null && next.vote !== current.vote) {
    throw rejected(`second vote in term ${next.term}`);
  }
  if (next.commit < current.commit) throw rejected(`commit ${next.commit} is below ${current.commit}`);
  return { ...next };
}

function applyCompact(state: SeatState, snapshot: Snapshot): SeatState {
  const index = snapshot.metadata.index;
  const firstIndex = firstIndexOf(state);
  if (index < firstIndex - 1 || index > seatLastIndex(state)) {
    throw rejected(`compaction at ${index} outside the log ${firstIndex - 1}..${seatLastIndex(state)}`);
  }
  // Raft §7: only committed (hence applied) entries are compacted into a snapshot.
  if (index > state.hardState.commit) throw rejected(`compaction at ${index} beyond commit ${state.hardState.commit}`);
  if (seatTerm(state, index) !== snapshot.metadata.term) throw rejected(`compaction term mismatch at ${index}`);
  return { ...state, snapshot, entries: state.entries.slice(index - firstIndex + 1) };
}

/** What the seat's storage would return from `load()`: the input to rebuild its RaftCore. */
export function seatStorageState(s: SeatState): StorageState {
  return {
    hardState: { ...s.hardState },
    snapshot: s.snapshot === null ? null : structuredClone(s.snapshot),
    entries: s.entries.map((e) => ({ ...e, data: e.data.slice() })),
    appliedIndex: s.snapshot?.metadata.index ?? 0,
  };
}

/** For the local state machine's own snapshots, which must carry every seat's state. */
export function encodeSeatState(s: SeatState): Uint8Array {
  return encodeSeatRecord({ kind: 'seatPersist', az: s.az, hardState: s.hardState, entries: [...s.entries], snapshot: s.snapshot });
}

export function decodeSeatState(bytes: Uint8Array): SeatState {
  const r = decodeSeatRecord(bytes);
  if (r.kind !== 'seatPersist' || r.hardState === null) throw new SeatLogError('ERR_SEAT_RECORD_MALFORMED', 'not a seat state');
  return { az: r.az, hardState: r.hardState, snapshot: r.snapshot, entries: r.entries };
}
