// An in-memory backend for the simulator and for tests that need many replicas: tables are
// sorted key arrays beside maps, so ranges come out in the same order LevelDB gives.
import { qualifiedKey, type StateBackend } from './backend.ts';
import type { SnapshotTables } from './snapshot.ts';
import type { StateEntry } from './snapshot-chunks.ts';
import { TABLE_NAMES, type TableName } from './tables.ts';
import type { KeyRange, PendingWrites } from './txn.ts';

class SortedTable {
  readonly keys: string[] = [];
  readonly values = new Map<string, Uint8Array>();

  /** The position of the first key ≥ `key`. */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  put(key: string, value: Uint8Array): void {
    if (!this.values.has(key)) this.keys.splice(this.lowerBound(key), 0, key);
    this.values.set(key, value);
  }

  del(key: string): void {
    if (!this.values.delete(key)) return;
    this.keys.splice(this.lowerBound(key), 1);
  }
}

export class MemoryBackend implements StateBackend {
  private tables = new Map<TableName, SortedTable>(TABLE_NAMES.map((n) => [n, new SortedTable()]));
  private closed = false;
  /** Entries of a snapshot being installed (backend.ts `stageInstall`), apart from the live tables. */
  private staged: StateEntry[] = [];

  private table(name: TableName): SortedTable {
    if (this.closed) throw new Error('assertion failed: memory state backend used after close');
    const t = this.tables.get(name);
    if (t === undefined) throw new Error(`assertion failed: unknown table ${name}`);
    return t;
  }

  async get(table: TableName, key: string): Promise<Uint8Array | undefined> {
    return this.table(table).values.get(key);
  }

  async range(table: TableName, range: KeyRange): Promise<[string, Uint8Array][]> {
    const t = this.table(table);
    const out: [string, Uint8Array][] = [];
    const limit = range.limit ?? Infinity;
    for (let i = range.gte === undefined ? 0 : t.lowerBound(range.gte); i < t.keys.length && out.length < limit; i++) {
      const key = t.keys[i]!;
      if (range.lt !== undefined && key >= range.lt) break;
      out.push([key, t.values.get(key)!]);
    }
    return out;
  }

  async commit(writes: PendingWrites): Promise<void> {
    for (const [name, tableWrites] of writes) {
      const t = this.table(name);
      for (const [key, value] of tableWrites) {
        if (value === null) t.del(key);
        else t.put(key, value);
      }
    }
  }

  async replaceAll(tables: SnapshotTables): Promise<void> {
    const fresh = new Map<TableName, SortedTable>(TABLE_NAMES.map((n) => [n, new SortedTable()]));
    for (const [name, entries] of tables) for (const [key, value] of entries) fresh.get(name)!.put(key, value);
    this.tables = fresh;
  }

  /** A copy of the entry list taken at the call: later writes do not show (as a LevelDB snapshot). */
  entries(): AsyncIterable<StateEntry> {
    const all: StateEntry[] = [];
    for (const name of [...TABLE_NAMES].sort()) {
      const t = this.table(name);
      for (const key of t.keys) all.push([name, key, t.values.get(key)!]);
    }
    return (async function* () {
      yield* all;
    })();
  }

  async stageInstall(entries: readonly StateEntry[]): Promise<void> {
    for (const [name] of entries) this.table(name);
    for (const entry of entries) this.staged.push(entry);
  }

  async commitInstall(): Promise<void> {
    const fresh = new Map<TableName, SortedTable>(TABLE_NAMES.map((n) => [n, new SortedTable()]));
    for (const [name, key, value] of this.staged) fresh.get(name)!.put(key, value);
    this.tables = fresh;
    this.staged = [];
  }

  async abortInstall(): Promise<void> {
    this.staged = [];
  }

  async dump(): Promise<[string, Uint8Array][]> {
    const all: [string, Uint8Array][] = [];
    for (const name of TABLE_NAMES) {
      for (const [key, value] of await this.range(name, {})) all.push([qualifiedKey(name, key), value]);
    }
    return all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
