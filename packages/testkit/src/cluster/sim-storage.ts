// A simulated disk for one node: the consensus `Storage` contract in memory, split into what is
// on stable storage and what is still in the page cache. `save` with `sync: true` is durable at
// once and also flushes every earlier unsynced write (fsync flushes the file, not one write);
// `sync: false` writes are visible to the running process but a crash loses them. `compact`
// is durable (LevelStorage writes snapshot and deletions in one synced batch). With an fsync
// latency (`useFsyncLatency`), a synced save sits in the page cache until its fsync completes
// after a seeded virtual delay; only then does the promise the driver awaits resolve, and a crash
// before that loses it. A cut armed with `cutAfterNextSync` strikes right after the next fsync
// completes: the write is durable, and nothing the driver would do after it happens.
import { EMPTY_HARD_STATE, StorageError } from '@adrestia/consensus';
import type { Entry, HardState, SaveOptions, Snapshot, Storage, StorageState, StorageWrite } from '@adrestia/consensus';
import type { Scheduler } from './virtual-time.ts';

/** Virtual fsync latency of a disk: a seeded draw per synced write. */
export interface FsyncLatency {
  scheduler: Scheduler;
  latencyUs(): number;
}

/** The contents of one Raft log on disk (Raft Figure 2 persistent state plus the §7 snapshot). */
class LogImage {
  hardState: HardState = { ...EMPTY_HARD_STATE };
  snapshot: Snapshot | null = null;
  /** entries[i] has index firstIndex() + i. */
  entries: Entry[] = [];

  firstIndex(): number {
    return (this.snapshot?.metadata.index ?? 0) + 1;
  }

  lastIndex(): number {
    return this.firstIndex() + this.entries.length - 1;
  }

  /** Storage.save semantics: snapshot replaces the log, entries truncate a conflicting suffix. */
  apply(write: StorageWrite): void {
    if (write.snapshot) {
      this.snapshot = structuredClone(write.snapshot);
      this.entries = [];
    }
    const entries = write.entries ?? [];
    const first = entries[0];
    if (first) {
      for (let i = 1; i < entries.length; i++) {
        if (entries[i]!.index !== entries[i - 1]!.index + 1) throw new Error(`save: entries not contiguous at ${entries[i]!.index}`);
      }
      if (first.index < this.firstIndex() || first.index > this.lastIndex() + 1) {
        throw new Error(`save: entry ${first.index} leaves a gap or rewrites compacted entries (log ${this.firstIndex()}..${this.lastIndex()})`);
      }
      this.entries.length = first.index - this.firstIndex();
      for (const e of entries) this.entries.push({ ...e, data: e.data.slice() });
    }
    if (write.hardState) this.hardState = { ...write.hardState };
  }

  compact(snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) {
      throw new Error(`compact: index ${index} outside the log ${this.firstIndex() - 1}..${this.lastIndex()}`);
    }
    this.entries = this.entries.slice(index - this.firstIndex() + 1);
    this.snapshot = structuredClone(snapshot);
  }

  clone(): LogImage {
    const c = new LogImage();
    c.hardState = { ...this.hardState };
    c.snapshot = this.snapshot ? structuredClone(this.snapshot) : null;
    c.entries = this.entries.map((e) => ({ ...e, data: e.data.slice() }));
    return c;
  }

  state(): StorageState {
    const c = this.clone();
    return { hardState: c.hardState, snapshot: c.snapshot, entries: c.entries, appliedIndex: c.snapshot?.metadata.index ?? 0 };
  }
}

export interface DiskStats {
  syncedWrites: number;
  unsyncedWrites: number;
  /** Unsynced writes a crash threw away. */
  lostWrites: number;
}

/** One node's disk. It outlives the processes that open it; `open()` is a process start. */
export class SimDisk {
  private durable = new LogImage();
  /** What the running process sees: durable plus the unsynced writes, in order. */
  private view = new LogImage();
  private unsynced: StorageWrite[] = [];
  private handle: SimStorage | null = null;
  readonly stats: DiskStats = { syncedWrites: 0, unsyncedWrites: 0, lostWrites: 0 };
  /**
   * False models a disk that acknowledges fsync without flushing (a known real-world fault): every
   * write is lost on a crash. Only for proving that the checkers catch lost acknowledged data.
   */
  honoursSync = true;
  private fsync: FsyncLatency | null = null;
  /** Runs (and is cleared) when the next fsync completes, instead of the driver going on. */
  cutAfterNextSync: (() => Promise<void>) | null = null;

  constructor(readonly label: string) {}

  /** Synced saves complete after a seeded virtual latency (default: at once). */
  useFsyncLatency(fsync: FsyncLatency): void {
    this.fsync = fsync;
  }

  /** @internal */
  get fsyncLatency(): FsyncLatency | null {
    return this.fsync;
  }

  /** A new process opens the disk. The previous one must have crashed or closed. */
  open(): SimStorage {
    if (this.handle && !this.handle.isClosed) throw new Error(`SimDisk ${this.label}: already open`);
    this.handle = new SimStorage(this);
    return this.handle;
  }

  /** Power loss: unsynced writes are gone, and the process's handle is dead. */
  crash(): void {
    this.stats.lostWrites += this.unsynced.length;
    this.unsynced = [];
    this.view = this.durable.clone();
    this.handle?.kill();
    this.handle = null;
  }

  /** The OS wrote the page cache back (an fsync nobody asked for): unsynced writes become durable. */
  flush(): void {
    for (const w of this.unsynced) this.durable.apply(w);
    this.unsynced = [];
  }

  /** Term, vote and commit a process starting now would read (no copy: do not modify). */
  durableHardState(): Readonly<HardState> {
    return this.durable.hardState;
  }

  /** What a process starting now would read. */
  durableState(): StorageState {
    return this.durable.state();
  }

  /** @internal */
  loadView(): StorageState {
    return this.view.state();
  }

  /** @internal */
  write(write: StorageWrite, sync: boolean): void {
    this.view.apply(write);
    if (!sync || !this.honoursSync) {
      this.stats.unsyncedWrites++;
      this.unsynced.push(cloneWrite(write));
      return;
    }
    this.stats.syncedWrites++;
    this.flush();
    this.durable.apply(write);
  }

  /** @internal */
  compact(snapshot: Snapshot): void {
    this.view.compact(snapshot);
    if (!this.honoursSync) return; // the compaction is lost on a crash, like every other write
    this.flush();
    this.durable.compact(snapshot);
  }
}

function cloneWrite(w: StorageWrite): StorageWrite {
  return {
    hardState: w.hardState ? { ...w.hardState } : null,
    entries: (w.entries ?? []).map((e) => ({ ...e, data: e.data.slice() })),
    snapshot: w.snapshot ? structuredClone(w.snapshot) : null,
  };
}

/** One process's handle on a SimDisk (the consensus Storage interface). */
export class SimStorage implements Storage {
  private closed = false;
  private loaded = false;

  constructor(private readonly disk: SimDisk) {}

  get isClosed(): boolean {
    return this.closed;
  }

  async load(): Promise<StorageState> {
    this.assertOpen();
    this.loaded = true;
    return this.disk.loadView();
  }

  async save(write: StorageWrite, options: SaveOptions): Promise<void> {
    this.assertLoaded();
    const fsync = this.disk.fsyncLatency;
    if (!options.sync || fsync === null) return this.disk.write(write, options.sync);
    this.disk.write(write, false); // in the page cache until the fsync completes
    return new Promise<void>((resolve, reject) => {
      const pending = { reject };
      this.inFlight.add(pending);
      fsync.scheduler.after(fsync.latencyUs(), `fsync ${this.disk.label}`, async () => {
        if (!this.inFlight.delete(pending)) return; // the process died meanwhile
        if (this.disk.honoursSync) this.disk.flush();
        const cut = this.disk.cutAfterNextSync;
        if (cut === null) return resolve();
        this.disk.cutAfterNextSync = null;
        // Durable, but the process dies before it hears so: nothing after the write runs.
        reject(new StorageError('ERR_STORAGE_CLOSED', `${this.disk.label}: power cut right after fsync`));
        await cut();
      });
    });
  }

  async compact(snapshot: Snapshot): Promise<void> {
    this.assertLoaded();
    this.disk.compact(snapshot);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** @internal The process died: every later call fails as on a vanished file descriptor. */
  kill(): void {
    this.closed = true;
    // An fsync in flight never reports back to the dead process (its driver may be awaiting it).
    for (const p of this.inFlight) p.reject(new StorageError('ERR_STORAGE_CLOSED', `${this.disk.label}: power cut during fsync`));
    this.inFlight.clear();
  }

  private readonly inFlight = new Set<{ reject(e: Error): void }>();

  private assertOpen(): void {
    if (this.closed) throw new StorageError('ERR_STORAGE_CLOSED', `${this.disk.label}: storage is closed`);
  }

  private assertLoaded(): void {
    this.assertOpen();
    if (!this.loaded) throw new StorageError('ERR_STORAGE_NOT_LOADED', 'call load() first');
  }
}
