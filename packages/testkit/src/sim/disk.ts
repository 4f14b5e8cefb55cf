// A simulated disk with the semantics the driver relies on: one Ready is one atomic batch; a
// batch becomes durable only when its fsync completes; a crash loses an unsynced batch (or, as
// real disks may, keeps it whole — the write reached the platter before fsync returned).
import type { Entry, HardState, Snapshot, StorageState, StorageWrite } from '@adrestia/consensus';

export class SimDisk {
  hardState: HardState = { term: 0, vote: null, commit: 0 };
  snapshot: Snapshot | null = null;
  /** Contiguous entries after the snapshot index. */
  entries: Entry[] = [];
  private unsynced: StorageWrite | null = null;

  get hasUnsynced(): boolean {
    return this.unsynced !== null;
  }

  /** Buffers one Ready's writes; at most one batch is outstanding (Readies never overlap). */
  write(w: StorageWrite): void {
    if (this.unsynced !== null) throw new Error('SimDisk: a batch is already waiting for its fsync');
    this.unsynced = w;
  }

  /** Completes the fsync: the buffered batch becomes durable. Returns the entries it wrote. */
  sync(): Entry[] {
    const w = this.unsynced;
    this.unsynced = null;
    if (w === null) return [];
    this.applyBatch(w);
    return w.entries ?? [];
  }

  /** Power loss: the unsynced batch is lost unless `keepUnsynced`. */
  crash(keepUnsynced: boolean): void {
    if (keepUnsynced) this.sync();
    this.unsynced = null;
  }

  /** Local compaction (Raft §7), durable at once: the snapshot covers only applied state. */
  compact(snapshot: Snapshot): void {
    const idx = snapshot.metadata.index;
    this.entries = this.entries.filter((e) => e.index > idx);
    this.snapshot = snapshot;
  }

  load(): StorageState {
    return { hardState: { ...this.hardState }, snapshot: this.snapshot, entries: [...this.entries] };
  }

  get snapshotIndex(): number {
    return this.snapshot?.metadata.index ?? 0;
  }

  get lastIndex(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.index : this.snapshotIndex;
  }

  termAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshot?.metadata.term ?? 0;
    return this.entryAt(index)?.term;
  }

  entryAt(index: number): Entry | undefined {
    const first = this.entries[0];
    if (first === undefined || index < first.index) return undefined;
    return this.entries[index - first.index];
  }

  private applyBatch(w: StorageWrite): void {
    // A snapshot from the leader replaces the whole log (etcd MemoryStorage.ApplySnapshot).
    if (w.snapshot) {
      this.snapshot = w.snapshot;
      this.entries = [];
    }
    const es = w.entries ?? [];
    if (es.length > 0) {
      const first = es[0]!.index;
      if (first > this.lastIndex + 1 || first <= this.snapshotIndex) {
        throw new Error(`SimDisk: append at ${first} leaves a gap or rewrites the snapshot (last ${this.lastIndex})`);
      }
      this.entries = this.entries.filter((e) => e.index < first).concat(es);
    }
    if (w.hardState) this.hardState = { ...w.hardState };
  }
}
