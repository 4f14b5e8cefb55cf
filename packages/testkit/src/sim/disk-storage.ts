// The consensus Storage interface over a SimDisk, as the real NodeDriver writes through it: a save
// is buffered and becomes durable when its fsync completes, after a seeded virtual latency; the
// promise the driver awaits resolves only then. A node whose power is cut never sees it resolve.
import type { Entry, SaveOptions, Snapshot, Storage, StorageState, StorageWrite } from '@adrestia/consensus';
import type { SimDisk } from './disk.ts';
import type { EventQueue } from './event-queue.ts';

export interface DiskStorageHooks {
  /** The driver hands a write to the disk (before its fsync). */
  writing(write: StorageWrite): void;
  /** The write's fsync completed and `written` is durable; false = the power is cut right now. */
  synced(written: readonly Entry[]): boolean;
}

export class DiskStorage implements Storage {
  private dead = false;

  constructor(
    private readonly id: string,
    private readonly disk: SimDisk,
    private readonly queue: EventQueue,
    /** Virtual fsync latency of the next synced write, in ms. */
    private readonly fsyncMs: () => number,
    private readonly hooks: DiskStorageHooks,
  ) {}

  load(): Promise<StorageState> {
    return Promise.resolve(this.disk.load());
  }

  save(write: StorageWrite, options: SaveOptions): Promise<void> {
    if (this.dead) return new Promise(() => {});
    this.hooks.writing(write);
    this.disk.write(write);
    const delay = options.sync ? this.fsyncMs() : 0;
    return new Promise((resolve) => {
      this.queue.schedule(delay, `fsync ${this.id}`, () => {
        if (this.dead) return;
        const written = this.disk.sync();
        if (this.hooks.synced(written)) resolve();
      });
    });
  }

  /** Local compaction (Raft §7): SimDisk makes it durable at once. */
  compact(snapshot: Snapshot): Promise<void> {
    if (!this.dead) this.disk.compact(snapshot);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Power cut: a write in flight never completes, and nothing reaches the disk any more. */
  cut(): void {
    this.dead = true;
  }
}
