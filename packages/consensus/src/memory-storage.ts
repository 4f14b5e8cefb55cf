// Storage in memory, with the same semantics as LevelStorage (for tests and simulations). Every
// value is copied in and out so callers can never alias what is "on disk". It outlives the
// driver using it, so a test can restart a node on the same MemoryStorage.
import {
  EMPTY_HARD_STATE,
  StorageError,
  plannedRange,
  type SaveOptions,
  type Storage,
  type StorageState,
  type StorageWrite,
} from './storage.ts';
import type { Entry, HardState, Snapshot } from './types.ts';

const copyEntry = (e: Entry): Entry => ({ ...e, data: e.data.slice() });
const copySnapshot = (s: Snapshot): Snapshot => structuredClone(s);

export class MemoryStorage implements Storage {
  private hardState: HardState = { ...EMPTY_HARD_STATE };
  private snapshot: Snapshot | null = null;
  /** entries[i] has index firstIndex + i. */
  private entries: Entry[] = [];
  private closed = false;
  private loaded = false;

  async load(): Promise<StorageState> {
    this.assertOpen();
    this.loaded = true;
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshot ? copySnapshot(this.snapshot) : null,
      entries: this.entries.map(copyEntry),
      appliedIndex: this.snapshot?.metadata.index ?? 0,
    };
  }

  async save(write: StorageWrite, _options: SaveOptions): Promise<void> {
    this.assertLoaded();
    const plan = plannedRange(this.range(), write);
    if (write.snapshot) {
      this.snapshot = copySnapshot(write.snapshot);
      this.entries = [];
    }
    const entries = write.entries ?? [];
    const first = entries[0];
    if (first) {
      this.entries.length = first.index - plan.firstIndex; // truncate the conflicting suffix
      for (const e of entries) this.entries.push(copyEntry(e));
    }
    if (write.hardState) this.hardState = { ...write.hardState };
  }

  async compact(snapshot: Snapshot): Promise<void> {
    this.assertLoaded();
    const { firstIndex, lastIndex } = this.range();
    const index = snapshot.metadata.index;
    if (index < firstIndex - 1 || index > lastIndex) {
      throw new Error(`compact: index ${index} outside the log ${firstIndex - 1}..${lastIndex}`);
    }
    this.entries = this.entries.slice(index - firstIndex + 1);
    this.snapshot = copySnapshot(snapshot);
  }

  /** Idempotent. The contents stay: `reopen()` then `load()` is a restart. */
  async close(): Promise<void> {
    this.closed = true;
    this.loaded = false;
  }

  /** Makes a closed storage loadable again (a restarted process reopening its files). */
  reopen(): this {
    this.closed = false;
    return this;
  }

  private range(): { firstIndex: number; lastIndex: number } {
    const firstIndex = (this.snapshot?.metadata.index ?? 0) + 1;
    return { firstIndex, lastIndex: firstIndex + this.entries.length - 1 };
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('ERR_STORAGE_CLOSED', 'memory storage is closed');
  }

  private assertLoaded(): void {
    this.assertOpen();
    if (!this.loaded) throw new StorageError('ERR_STORAGE_NOT_LOADED', 'call load() first');
  }
}
