// Where the state's tables live. The store and applyEvent only see this interface, so the same
// code runs on LevelDB in production and on memory in the deterministic simulator; both give
// identical dumps and snapshots for the same applied log.
import type { SnapshotTables } from './snapshot.ts';
import type { StateEntry } from './snapshot-chunks.ts';
import type { TableName } from './tables.ts';
import type { KvReader, PendingWrites } from './txn.ts';

export interface StateBackend extends KvReader {
  /** Writes everything at once: after a crash either all of it is there or none. */
  commit(writes: PendingWrites, options: { sync: boolean }): Promise<void>;
  /** Replaces every table's contents at once. */
  replaceAll(tables: SnapshotTables, options: { sync: boolean }): Promise<void>;
  /**
   * Every entry as of this call, in (table, key) order, however much is written meanwhile: a
   * consistent read (LevelDB iterators read from an implicit snapshot taken at creation).
   */
  entries(): AsyncIterable<StateEntry>;
  /**
   * Installing a snapshot in pieces (Raft §7): entries are staged beside the live state, which
   * stays as it was until `commitInstall` replaces it with the staged entries at once (after a
   * crash: the old state if the commit had not started, the new one if it had). `abortInstall`
   * drops what was staged.
   */
  stageInstall(entries: readonly StateEntry[]): Promise<void>;
  commitInstall(options: { sync: boolean }): Promise<void>;
  abortInstall(): Promise<void>;
  /** Every entry as `!table!key` → value, in key order (LevelDB sublevel layout). */
  dump(): Promise<[string, Uint8Array][]>;
  close(): Promise<void>;
}

/** The fully qualified key of an entry, as LevelDB sublevels lay it out (abstract-level). */
export function qualifiedKey(table: TableName, key: string): string {
  return `!${table}!${key}`;
}
