// The LevelDB backend: one sublevel per table in one database, so a batch spanning tables is
// one atomic LevelDB write (abstract-level `batch` with `sublevel` operations).
import { chmod, mkdir } from 'node:fs/promises';
import { Level } from 'level';
import { PkiError } from '../errors.ts';
import { qualifiedKey, type StateBackend } from './backend.ts';
import { INSTALL_RAW_PREFIX, LevelInstall } from './level-install.ts';
import type { SnapshotTables } from './snapshot.ts';
import type { StateEntry } from './snapshot-chunks.ts';
import { TABLE_NAMES, type TableName } from './tables.ts';
import type { KeyRange, PendingWrites } from './txn.ts';

function openTable(db: Level<string, Uint8Array>, name: TableName) {
  return db.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' });
}
type Sublevel = ReturnType<typeof openTable>;

/**
 * Small, hot tables read by nearly every event (settings, CA records, AZs) or by every OCSP answer
 * (the AZ's responder key and the responder certificate of the CA asked about:
 * node/ocsp/ocsp-signers.ts): kept in memory after the first read, misses included, and updated
 * on every commit. They grow with the cluster's size (CAs, AZs), never with the number of
 * certificates.
 */
const CACHED_TABLES: ReadonlySet<TableName> = new Set<TableName>(['meta', 'cas', 'azs', 'ocspKeys', 'ocspCerts']);

export class LevelBackend implements StateBackend {
  private readonly cache = new Map<TableName, Map<string, Uint8Array | null>>();
  /** Bumped by every write, so a read that overlapped a write is not cached (it may be stale). */
  private writeGeneration = 0;
  private readonly install: LevelInstall;

  private constructor(
    private readonly db: Level<string, Uint8Array>,
    private readonly tables: ReadonlyMap<TableName, Sublevel>,
  ) {
    this.install = new LevelInstall(db);
  }

  static async open(location: string): Promise<LevelBackend> {
    // The state holds sealed CA keys: keep the directory to its owner (0700).
    await mkdir(location, { recursive: true, mode: 0o700 });
    await chmod(location, 0o700);
    const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (e) {
      throw new PkiError('ERR_IO', `cannot open the PKI state at ${location} (is another process using it?)`, { cause: e });
    }
    const tables = new Map<TableName, Sublevel>();
    for (const name of TABLE_NAMES) tables.set(name, openTable(db, name));
    const backend = new LevelBackend(db, tables);
    // A snapshot install cut short: finish its commit, or drop what it had staged.
    await backend.install.recover();
    return backend;
  }

  private sub(table: TableName): Sublevel {
    const sub = this.tables.get(table);
    if (sub === undefined) throw new Error(`assertion failed: unknown table ${table}`);
    return sub;
  }

  async get(table: TableName, key: string): Promise<Uint8Array | undefined> {
    if (!CACHED_TABLES.has(table)) return this.sub(table).get(key);
    let cached = this.cache.get(table);
    if (cached === undefined) this.cache.set(table, (cached = new Map<string, Uint8Array | null>()));
    const hit = cached.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const generation = this.writeGeneration;
    const value = await this.sub(table).get(key);
    if (generation === this.writeGeneration) cached.set(key, value ?? null);
    return value;
  }

  async range(table: TableName, range: KeyRange): Promise<[string, Uint8Array][]> {
    const options: { gte?: string; lt?: string; limit?: number } = {};
    if (range.gte !== undefined) options.gte = range.gte;
    if (range.lt !== undefined) options.lt = range.lt;
    if (range.limit !== undefined) options.limit = range.limit;
    return this.sub(table).iterator(options).all();
  }

  async commit(writes: PendingWrites, options: { sync: boolean }): Promise<void> {
    const ops = [];
    for (const [table, tableWrites] of writes) {
      const sublevel = this.sub(table);
      for (const [key, value] of tableWrites) {
        ops.push(value === null ? { type: 'del' as const, sublevel, key } : { type: 'put' as const, sublevel, key, value });
      }
    }
    await this.db.batch(ops, { sync: options.sync });
    // Only after the write succeeded: a failed batch leaves the cache describing the disk.
    this.writeGeneration++;
    for (const [table, tableWrites] of writes) {
      const cached = this.cache.get(table);
      if (cached !== undefined) for (const [key, value] of tableWrites) cached.set(key, value);
    }
  }

  async replaceAll(tables: SnapshotTables, options: { sync: boolean }): Promise<void> {
    const ops = [];
    for (const key of await this.db.keys().all()) ops.push({ type: 'del' as const, key });
    for (const [name, entries] of tables) {
      const sublevel = this.sub(name);
      for (const [key, value] of entries) ops.push({ type: 'put' as const, sublevel, key, value });
    }
    this.cache.clear();
    await this.db.batch(ops, { sync: options.sync });
    this.writeGeneration++;
    this.cache.clear();
  }

  entries(): AsyncIterable<StateEntry> {
    // Created now, not at the first read: one iterator over the whole database is one implicit
    // LevelDB snapshot for every table, taken at this call.
    const iterator = this.db.iterator();
    const tables = this.tables;
    return (async function* () {
      try {
        for await (const [raw, value] of iterator) {
          if (raw.startsWith(INSTALL_RAW_PREFIX)) continue;
          const end = raw.indexOf('!', 1);
          const table = raw.slice(1, end) as TableName;
          if (end < 0 || !tables.has(table)) throw new Error(`assertion failed: state key ${JSON.stringify(raw)} outside every table`);
          yield [table, raw.slice(end + 1), value] satisfies StateEntry;
        }
      } finally {
        await iterator.close();
      }
    })();
  }

  stageInstall(entries: readonly StateEntry[]): Promise<void> {
    return this.install.stage(entries.map(([table, key, value]) => ({ qualifiedKey: qualifiedKey(this.checked(table), key), value })));
  }

  async commitInstall(options: { sync: boolean }): Promise<void> {
    this.cache.clear();
    await this.install.commit(options);
    this.writeGeneration++;
    this.cache.clear();
  }

  abortInstall(): Promise<void> {
    return this.install.drop();
  }

  private checked(table: TableName): TableName {
    this.sub(table);
    return table;
  }

  async dump(): Promise<[string, Uint8Array][]> {
    return (await this.db.iterator().all()).filter(([key]) => !key.startsWith(INSTALL_RAW_PREFIX));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
