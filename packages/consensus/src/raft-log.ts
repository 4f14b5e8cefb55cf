import { assertInvariant, RaftInvariantError } from './errors.ts';
import type { Entry, Snapshot } from './types.ts';

// The replicated log as the core sees it (etcd log.go + log_unstable.go in one): the latest
// snapshot, the entries after it (plus any retained before it), and three cursors —
//   stabled   ≤ last index the caller has persisted,
//   committed  known committed (Raft §5.3), never decreases,
//   applied    handed to the state machine and acknowledged by advance().
// Entries are kept in memory; the caller's storage is the durable copy.

export class RaftLog {
  /** Latest snapshot (ours from compact(), or installed from the leader). */
  snapshot: Snapshot | null;
  /** A snapshot installed from the leader, not yet persisted by the caller. */
  unstableSnapshot: Snapshot | null = null;
  private entries: Entry[];
  stabled: number;
  committed: number;
  applied: number;

  constructor(snapshot: Snapshot | null, entries: Entry[], committed: number, applied: number) {
    this.snapshot = snapshot;
    this.entries = [...entries];
    for (let i = 1; i < this.entries.length; i++) {
      assertInvariant(this.entries[i]!.index === this.entries[i - 1]!.index + 1, 'stored entries not contiguous');
    }
    const first = this.entries[0];
    if (first) {
      assertInvariant(first.index <= this.snapshotIndex + 1, 'gap between snapshot and stored entries');
    }
    this.stabled = this.lastIndex();
    assertInvariant(committed <= this.lastIndex(), `commit ${committed} beyond last index ${this.lastIndex()}`);
    this.committed = Math.max(committed, this.snapshotIndex);
    this.applied = applied;
  }

  get snapshotIndex(): number {
    return this.snapshot?.metadata.index ?? 0;
  }
  get snapshotTerm(): number {
    return this.snapshot?.metadata.term ?? 0;
  }

  /** First index whose entry is held (entries retained before the snapshot count). */
  firstIndex(): number {
    return this.entries[0]?.index ?? this.snapshotIndex + 1;
  }
  lastIndex(): number {
    return Math.max(this.entries[this.entries.length - 1]?.index ?? 0, this.snapshotIndex);
  }
  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Term of `index`, or undefined when it is compacted away or beyond the log. */
  term(index: number): number | undefined {
    if (index === 0) return 0;
    const e = this.entryAt(index);
    if (e) return e.term;
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return undefined;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  private entryAt(index: number): Entry | undefined {
    const first = this.entries[0];
    if (!first) return undefined;
    return this.entries[index - first.index];
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
  }

  /**
   * Entries in [lo, hi), at least one and then up to `maxBytes` of payload.
   * Undefined when `lo` is compacted (the caller must send a snapshot instead).
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    if (hi > this.lastIndex() + 1) assertInvariant(false, `slice beyond last index: ${hi}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entryAt(i);
      if (e === undefined) throw new RaftInvariantError(`missing entry ${i}`);
      bytes += e.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  unstableEntries(): Entry[] {
    return this.slice(this.stabled + 1, this.lastIndex() + 1, Number.MAX_SAFE_INTEGER) ?? [];
  }

  /**
   * Raft §5.3 AppendEntries receiver: if our log holds (prevIndex, prevTerm), append `ents`,
   * dropping any conflicting suffix, and return the last index now known to match the leader.
   */
  maybeAppend(prevIndex: number, prevTerm: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const conflict = ents.find((e) => !this.matchTerm(e.index, e.term));
    if (conflict) this.append(ents.slice(conflict.index - (prevIndex + 1)));
    return prevIndex + ents.length;
  }

  /** Appends entries; one at an existing index replaces it and everything after it. */
  append(ents: Entry[]): void {
    const first = ents[0];
    if (!first) return;
    assertInvariant(first.index > this.committed, `append at ${first.index} overwrites committed ${this.committed}`);
    assertInvariant(first.index <= this.lastIndex() + 1, `append at ${first.index} leaves a gap`);
    const keep = first.index - this.firstIndex();
    this.entries.splice(Math.max(0, keep));
    this.entries.push(...ents);
    this.stabled = Math.min(this.stabled, first.index - 1);
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assertInvariant(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /**
   * Raft §5.3 fast backtracking: the largest index ≤ `index` whose term is ≤ `term`, with its
   * term. A compacted index is returned with term 0 (unknown: it may match).
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = index; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
    }
    return [0, 0];
  }

  /** Committed entries not yet applied, at least one and then up to `maxBytes`. */
  nextCommitted(maxBytes: number): Entry[] {
    if (this.unstableSnapshot) return [];
    const lo = Math.max(this.applied, this.snapshotIndex) + 1;
    if (lo > this.committed) return [];
    return this.slice(lo, this.committed + 1, maxBytes) ?? [];
  }

  appliedTo(index: number): void {
    assertInvariant(index <= this.committed, `applied ${index} beyond commit ${this.committed}`);
    this.applied = Math.max(this.applied, index);
  }

  /** The caller persisted entries through (index, term); ignore if the log changed since. */
  stableTo(index: number, term: number): void {
    if (this.matchTerm(index, term) && index > this.stabled) this.stabled = index;
  }

  /** Installs a snapshot from the leader: the log is replaced by it (Raft §7). */
  restore(snapshot: Snapshot): void {
    assertInvariant(snapshot.metadata.index > this.committed, 'restoring a snapshot at or below commit');
    this.snapshot = snapshot;
    this.unstableSnapshot = snapshot;
    this.entries = [];
    this.committed = snapshot.metadata.index;
    this.stabled = snapshot.metadata.index;
  }

  stableSnapshotTo(index: number): void {
    if (this.unstableSnapshot?.metadata.index === index) {
      this.unstableSnapshot = null;
      this.applied = Math.max(this.applied, index);
    }
  }

  /** Our own snapshot at `snapshot.metadata.index`; drop entries before it except `retain`. */
  compact(snapshot: Snapshot, retainEntries: number): void {
    const idx = snapshot.metadata.index;
    assertInvariant(idx <= this.applied, 'compacting beyond applied');
    this.snapshot = snapshot;
    const keepFrom = Math.max(idx - retainEntries + 1, 1);
    const drop = keepFrom - this.firstIndex();
    if (drop > 0) this.entries.splice(0, drop);
  }
}
