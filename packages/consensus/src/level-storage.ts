// Storage on LevelDB (the `level` package, classic-level in Node). Each Raft group lives under its
// own key prefix in one database, so a node's local group and the seat state it carries share a
// directory without sharing keys. Every save() is ONE LevelDB batch: LevelDB applies a batch
// atomically through its write-ahead log, so a crash leaves all of a Ready's writes or none.
//
// Keys (utf8), each prefixed with `<group>/` (group names cannot contain `/`):
//   fmt              format version (guards against reading a future layout)
//   hs               HardState
//   snap             Snapshot (metadata + state machine data)
//   e<16 hex digits> Entry, index as fixed-width big-endian hex so keys sort by index
import { Level } from 'level';
import { decodeEntry, decodeHardState, decodeSnapshot, encodeEntry, encodeHardState, encodeSnapshot } from './codec.ts';
import {
  EMPTY_HARD_STATE,
  StorageError,
  assertContiguous,
  plannedRange,
  type SaveOptions,
  type Storage,
  type StorageState,
  type StorageWrite,
} from './storage.ts';
import type { Entry, HardState, Snapshot } from './types.ts';

export type LevelDb = Level<string, Uint8Array>;
type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

const FORMAT_VERSION = 1;
const KEY_FORMAT = 'fmt';
const KEY_HARD_STATE = 'hs';
const KEY_SNAPSHOT = 'snap';
const ENTRY_PREFIX = 'e';
const INDEX_HEX_DIGITS = 16;
const GROUP_NAME = /^[A-Za-z0-9._:-]{1,128}$/; // no '/': prefixes never nest

function entryKey(index: number): string {
  if (!Number.isSafeInteger(index) || index < 1) throw new Error(`entryKey: bad index ${index}`);
  return ENTRY_PREFIX + index.toString(16).padStart(INDEX_HEX_DIGITS, '0');
}

/** Opens (creating if missing) a LevelDB directory with the encodings LevelStorage expects. */
export async function openLevelDb(dir: string): Promise<LevelDb> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  return db;
}

export interface LevelStorageOptions {
  /** Name of this Raft group inside the database (e.g. `local`, `seat.az1`): the key prefix. */
  group: string;
  /** When true, close() also closes the database (a storage opened with LevelStorage.open). */
  ownsDb?: boolean;
}

export class LevelStorage implements Storage {
  private readonly prefix: string;
  private readonly ownsDb: boolean;
  private range: { firstIndex: number; lastIndex: number } | null = null;
  private closed = false;

  constructor(
    private readonly db: LevelDb,
    options: LevelStorageOptions,
  ) {
    if (!GROUP_NAME.test(options.group)) throw new TypeError(`LevelStorage: bad group name ${options.group}`);
    this.prefix = `${options.group}/`;
    this.ownsDb = options.ownsDb ?? false;
  }

  /** A storage owning its own database directory, holding a single group. */
  static async open(dir: string, group = 'raft'): Promise<LevelStorage> {
    return new LevelStorage(await openLevelDb(dir), { group, ownsDb: true });
  }

  async load(): Promise<StorageState> {
    this.assertOpen();
    await this.checkFormat();
    const hsBytes = await this.db.get(this.prefix + KEY_HARD_STATE);
    const snapBytes = await this.db.get(this.prefix + KEY_SNAPSHOT);
    const hardState: HardState = hsBytes ? this.decode(decodeHardState, hsBytes) : { ...EMPTY_HARD_STATE };
    const snapshot: Snapshot | null = snapBytes ? this.decode(decodeSnapshot, snapBytes) : null;
    const entries = await this.readEntries();
    const firstIndex = (snapshot?.metadata.index ?? 0) + 1;
    const head = entries[0];
    if (head && head.index !== firstIndex) {
      throw new StorageError('ERR_STORAGE_CORRUPT', `log starts at ${head.index}, expected ${firstIndex}`);
    }
    this.range = { firstIndex, lastIndex: firstIndex + entries.length - 1 };
    return { hardState, snapshot, entries, appliedIndex: snapshot?.metadata.index ?? 0 };
  }

  async save(write: StorageWrite, options: SaveOptions): Promise<void> {
    const range = this.assertLoaded();
    const plan = plannedRange(range, write);
    const ops: BatchOp[] = [];
    // Deletions first: a put of the same key later in the batch must win.
    for (let i = plan.deleteFrom; i <= plan.deleteTo; i++) ops.push({ type: 'del', key: entryKey(i) });
    if (write.snapshot) ops.push({ type: 'put', key: KEY_SNAPSHOT, value: encodeSnapshot(write.snapshot) });
    for (const e of write.entries ?? []) ops.push({ type: 'put', key: entryKey(e.index), value: encodeEntry(e) });
    if (write.hardState) ops.push({ type: 'put', key: KEY_HARD_STATE, value: encodeHardState(write.hardState) });
    if (ops.length > 0) await this.db.batch(ops.map((op) => this.scoped(op)), { sync: options.sync });
    this.range = { firstIndex: plan.firstIndex, lastIndex: plan.lastIndex };
  }

  async compact(snapshot: Snapshot): Promise<void> {
    const { firstIndex, lastIndex } = this.assertLoaded();
    const index = snapshot.metadata.index;
    if (index < firstIndex - 1 || index > lastIndex) {
      throw new Error(`compact: index ${index} outside the log ${firstIndex - 1}..${lastIndex}`);
    }
    const ops: BatchOp[] = [{ type: 'put', key: KEY_SNAPSHOT, value: encodeSnapshot(snapshot) }];
    for (let i = firstIndex; i <= index; i++) ops.push({ type: 'del', key: entryKey(i) });
    // Synced: the snapshot must be durable before the entries it replaces disappear.
    await this.db.batch(ops.map((op) => this.scoped(op)), { sync: true });
    this.range = { firstIndex: index + 1, lastIndex };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.range = null;
    if (this.ownsDb) await this.db.close();
  }

  private async checkFormat(): Promise<void> {
    const fmt = await this.db.get(this.prefix + KEY_FORMAT);
    if (fmt === undefined) {
      await this.db.put(this.prefix + KEY_FORMAT, Uint8Array.of(FORMAT_VERSION), { sync: true });
    } else if (fmt.length !== 1 || fmt[0] !== FORMAT_VERSION) {
      throw new StorageError('ERR_STORAGE_CORRUPT', `unknown storage format ${Array.from(fmt).join(',')}`);
    }
  }

  private async readEntries(): Promise<Entry[]> {
    const entries: Entry[] = [];
    const from = this.prefix + ENTRY_PREFIX;
    for await (const [key, value] of this.db.iterator({ gt: from, lt: from + '~' })) {
      const entry = this.decode(decodeEntry, value);
      if (key !== this.prefix + entryKey(entry.index)) {
        throw new StorageError('ERR_STORAGE_CORRUPT', `entry ${entry.index} stored under key ${key}`);
      }
      entries.push(entry);
    }
    try {
      assertContiguous(entries, 'load');
    } catch (cause) {
      throw new StorageError('ERR_STORAGE_CORRUPT', 'stored log has a gap', { cause });
    }
    return entries;
  }

  private scoped(op: BatchOp): BatchOp {
    return { ...op, key: this.prefix + op.key };
  }

  private decode<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array): T {
    try {
      return decode(bytes);
    } catch (cause) {
      throw new StorageError('ERR_STORAGE_CORRUPT', 'undecodable record', { cause });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('ERR_STORAGE_CLOSED', 'storage is closed');
  }

  private assertLoaded(): { firstIndex: number; lastIndex: number } {
    this.assertOpen();
    if (!this.range) throw new StorageError('ERR_STORAGE_NOT_LOADED', 'call load() first');
    return this.range;
  }
}
