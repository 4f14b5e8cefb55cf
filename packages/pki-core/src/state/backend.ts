// Where the state's tables live. The store and applyEvent only see this interface, so the same
// code runs on LevelDB in production and on memory in the deterministic simulator; both give
// identical dumps and snapshots for the same applied log.
import type { SnapshotTables } from './snapshot.ts';
import type { TableName } from './tables.ts';
import type { KvReader, PendingWrites } from './txn.ts';

export interface StateBackend extends KvReader {
  /** Writes everything at once: after a crash either all of it is there or none. */
  commit(writes: PendingWrites, options: { sync: boolean }): Promise<void>;
  /** Replaces every table's contents at once. */
  replaceAll(tables: SnapshotTables, options: { sync: boolean }): Promise<void>;
  /** Every entry as `!table!key` → value, in key order (LevelDB sublevel layout). */
  dump(): Promise<[string, Uint8Array][]>;
  close(): Promise<void>;
}

/** The fully qualified key of an entry, as LevelDB sublevels lay it out (abstract-level). */
export function qualifiedKey(table: TableName, key: string): string {
  return `!${table}!${key}`;
}
