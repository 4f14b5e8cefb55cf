// The view `applyEvent` works on: reads see the committed state plus every write made so far in
// the same batch, and writes are only collected. Nothing reaches LevelDB until the store commits
// a whole batch together with the applied index (one atomic LevelDB batch), so a crash never
// leaves half an event behind, and a rejected event's writes are simply discarded.
import { decodeRecord, encodeRecord, type MetaRecords, type TableName, type TableRecords } from './tables.ts';

export interface KeyRange {
  gte?: string;
  lt?: string;
  /** At most this many entries, in key order. */
  limit?: number;
}

/** Raw read access to a table: committed storage, or another overlay. */
export interface KvReader {
  get(table: TableName, key: string): Promise<Uint8Array | undefined>;
  range(table: TableName, range: KeyRange): Promise<[string, Uint8Array][]>;
}

/** A pending write: bytes to put, or null to delete. */
export type PendingWrites = Map<TableName, Map<string, Uint8Array | null>>;

function inRange(key: string, range: KeyRange): boolean {
  return (range.gte === undefined || key >= range.gte) && (range.lt === undefined || key < range.lt);
}

function assertAsciiKey(key: string): void {
  // Keys compare as JS strings here and as bytes in LevelDB; on ASCII the two orders agree.
  // eslint-disable-next-line no-control-regex -- the range is all of ASCII, NUL included
  if (!/^[\x00-\x7f]*$/.test(key)) throw new Error(`assertion failed: non-ASCII state key ${JSON.stringify(key)}`);
}

/** Collected writes over a reader; itself a reader, so overlays nest (batch → event). */
export class Overlay implements KvReader {
  readonly writes: PendingWrites = new Map();

  constructor(private readonly parent: KvReader) {}

  private tableWrites(table: TableName): Map<string, Uint8Array | null> {
    let w = this.writes.get(table);
    if (w === undefined) {
      w = new Map();
      this.writes.set(table, w);
    }
    return w;
  }

  async get(table: TableName, key: string): Promise<Uint8Array | undefined> {
    const pending = this.writes.get(table)?.get(key);
    if (pending !== undefined) return pending ?? undefined;
    return this.parent.get(table, key);
  }

  async range(table: TableName, range: KeyRange): Promise<[string, Uint8Array][]> {
    const pending = [...(this.writes.get(table) ?? new Map<string, Uint8Array | null>())].filter(([k]) => inRange(k, range));
    // Ask the parent for enough entries that deletions here cannot leave us short of `limit`.
    const deletions = pending.filter(([, v]) => v === null).length;
    const parentLimit = range.limit === undefined ? undefined : range.limit + deletions;
    const merged = new Map(await this.parent.range(table, { ...range, limit: parentLimit }));
    for (const [k, v] of pending) {
      if (v === null) merged.delete(k);
      else merged.set(k, v);
    }
    const sorted = [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return range.limit === undefined ? sorted : sorted.slice(0, range.limit);
  }

  putRaw(table: TableName, key: string, value: Uint8Array): void {
    assertAsciiKey(key);
    this.tableWrites(table).set(key, value);
  }

  delRaw(table: TableName, key: string): void {
    assertAsciiKey(key);
    this.tableWrites(table).set(key, null);
  }

  /** Moves this overlay's writes into `target` (an event accepted into its batch). */
  mergeInto(target: Overlay): void {
    for (const [table, writes] of this.writes) {
      for (const [key, value] of writes) {
        if (value === null) target.delRaw(table, key);
        else target.putRaw(table, key, value);
      }
    }
    this.writes.clear();
  }
}

/** Typed access to the state for `applyEvent` and queries. */
export class StateTxn {
  constructor(readonly overlay: Overlay) {}

  async get<T extends TableName>(table: T, key: string): Promise<TableRecords[T] | undefined> {
    const bytes = await this.overlay.get(table, key);
    return bytes === undefined ? undefined : decodeRecord<TableRecords[T]>(bytes);
  }

  async has(table: TableName, key: string): Promise<boolean> {
    return (await this.overlay.get(table, key)) !== undefined;
  }

  async range<T extends TableName>(table: T, range: KeyRange): Promise<[string, TableRecords[T]][]> {
    const entries = await this.overlay.range(table, range);
    return entries.map(([k, v]) => [k, decodeRecord<TableRecords[T]>(v)]);
  }

  put<T extends TableName>(table: T, key: string, value: TableRecords[T]): void {
    this.overlay.putRaw(table, key, encodeRecord(value));
  }

  del(table: TableName, key: string): void {
    this.overlay.delRaw(table, key);
  }

  async getMeta<K extends keyof MetaRecords>(key: K): Promise<MetaRecords[K] | undefined> {
    return (await this.get('meta', key)) as MetaRecords[K] | undefined;
  }

  putMeta<K extends keyof MetaRecords>(key: K, value: MetaRecords[K]): void {
    this.put('meta', key, value);
  }
}
