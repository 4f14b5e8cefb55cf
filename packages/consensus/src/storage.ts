// The durable state one Raft group needs (Raft Figure 2 "persistent state on all servers", plus
// the snapshot of §7), and the contract every Storage implementation keeps.
import type { Entry, HardState, Snapshot } from './types.ts';

/** What a restarting node reads back: exactly what the last completed saves made durable. */
export interface StorageState {
  hardState: HardState;
  snapshot: Snapshot | null;
  /** Contiguous entries after the snapshot index (or from index 1 when there is no snapshot). */
  entries: Entry[];
  /** Index through which the state machine is known applied (the snapshot index by default). */
  appliedIndex?: number;
}

/** One Ready's worth of durable writes. */
export interface StorageWrite {
  hardState?: HardState | null;
  /** Appended; an entry at an existing index replaces that index and deletes everything after it. */
  entries?: Entry[];
  /**
   * A snapshot received from the leader (Raft §7 InstallSnapshot). It replaces the whole log: every
   * stored entry is discarded, as etcd's MemoryStorage.ApplySnapshot does.
   */
  snapshot?: Snapshot | null;
}

export interface SaveOptions {
  /** Flush to stable storage before resolving (fsync). Raft needs this before sending messages. */
  sync: boolean;
}

export interface Storage {
  /** Reads the durable state. Must be called once, before any other method. */
  load(): Promise<StorageState>;
  /** Applies the write atomically: after a crash either all of it or none of it is visible. */
  save(write: StorageWrite, options: SaveOptions): Promise<void>;
  /** Local log compaction (Raft §7): persists `snapshot` and deletes the entries up to its index. */
  compact(snapshot: Snapshot): Promise<void>;
  close(): Promise<void>;
}

export type StorageErrorCode = 'ERR_STORAGE_CLOSED' | 'ERR_STORAGE_CORRUPT' | 'ERR_STORAGE_NOT_LOADED';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: null, commit: 0 });

/** Throws unless `entries` are consecutive indexes with non-decreasing terms (Raft §5.3 log shape). */
export function assertContiguous(entries: readonly Entry[], what: string): void {
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1]!;
    const cur = entries[i]!;
    if (cur.index !== prev.index + 1 || cur.term < prev.term) {
      throw new Error(`${what}: entries not contiguous at index ${prev.index} → ${cur.index}`);
    }
  }
}

/**
 * The index range a write leaves in the log, given the stored range [firstIndex, lastIndex]
 * (lastIndex = firstIndex - 1 when empty). Shared by every Storage so they truncate alike.
 */
export function plannedRange(
  range: { firstIndex: number; lastIndex: number },
  write: StorageWrite,
): { firstIndex: number; lastIndex: number; deleteFrom: number; deleteTo: number } {
  let { firstIndex, lastIndex } = range;
  let deleteFrom = 1;
  let deleteTo = 0; // empty deletion range [deleteFrom, deleteTo]
  if (write.snapshot) {
    // Discard the whole stored log; the snapshot replaces it.
    [deleteFrom, deleteTo] = [firstIndex, lastIndex];
    firstIndex = write.snapshot.metadata.index + 1;
    lastIndex = write.snapshot.metadata.index;
  }
  const entries = write.entries ?? [];
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (first && last) {
    assertContiguous(entries, 'save');
    if (first.index < firstIndex || first.index > lastIndex + 1) {
      throw new Error(
        `save: entry ${first.index} leaves a gap or rewrites compacted entries (log ${firstIndex}..${lastIndex})`,
      );
    }
    // Entries past the new last index are a conflicting suffix to drop (Raft §5.3).
    if (!write.snapshot && last.index < lastIndex) [deleteFrom, deleteTo] = [last.index + 1, lastIndex];
    lastIndex = last.index;
  }
  return { firstIndex, lastIndex, deleteFrom, deleteTo };
}
