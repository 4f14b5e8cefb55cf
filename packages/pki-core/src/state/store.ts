// PkiStateStore: the PKI state on LevelDB, one sublevel per table. Committed log entries are
// applied in batches; each batch — every accepted event's writes plus the new applied index —
// is one atomic LevelDB write, so after a crash the state is exactly "all entries through
// appliedIndex()", and the Raft driver replays from there. Entries at or below the applied
// index are skipped, which makes redelivery after a restart harmless.
import { Level } from 'level';
import { applyEvent } from './apply-event.ts';
import { decodeEvent } from './event-codec.ts';
import type { PkiEvent } from './events.ts';
import type { ApplyMeta, ApplyOutcome } from './outcome.ts';
import { decodeSnapshot, encodeSnapshot, type SnapshotTables } from './snapshot.ts';
import { TABLE_NAMES, type TableName } from './tables.ts';
import { Overlay, StateTxn, type KeyRange, type KvReader } from './txn.ts';
import { PkiStateQueries } from './queries.ts';
import { isPkiError } from '../errors.ts';

export interface PkiStateStoreOptions {
  /** fsync each applied batch (default true): the Raft log may be compacted up to what we report applied. */
  syncWrites?: boolean;
}

/** A committed log entry whose data is an encoded event. */
export interface CommittedEntry {
  index: number;
  term?: number;
  data: Uint8Array;
}

function openTable(db: Level<string, Uint8Array>, name: TableName) {
  return db.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' });
}
type Sublevel = ReturnType<typeof openTable>;

/** Upper bound on events per atomic batch, so one LevelDB write stays bounded. */
export const MAX_BATCH_EVENTS = 4096;

class LevelReader implements KvReader {
  constructor(private readonly tables: ReadonlyMap<TableName, Sublevel>) {}

  sub(table: TableName): Sublevel {
    const sub = this.tables.get(table);
    if (sub === undefined) throw new Error(`assertion failed: unknown table ${table}`);
    return sub;
  }

  async get(table: TableName, key: string): Promise<Uint8Array | undefined> {
    return this.sub(table).get(key);
  }

  async range(table: TableName, range: KeyRange): Promise<[string, Uint8Array][]> {
    const options: { gte?: string; lt?: string; limit?: number } = {};
    if (range.gte !== undefined) options.gte = range.gte;
    if (range.lt !== undefined) options.lt = range.lt;
    if (range.limit !== undefined) options.limit = range.limit;
    return this.sub(table).iterator(options).all();
  }
}

export class PkiStateStore extends PkiStateQueries {
  private tail: Promise<unknown> = Promise.resolve();
  private applied = { index: 0, term: 0 };

  private constructor(
    private readonly db: Level<string, Uint8Array>,
    private readonly levelReader: LevelReader,
    private readonly syncWrites: boolean,
  ) {
    super(levelReader);
  }

  static async open(location: string, options: PkiStateStoreOptions = {}): Promise<PkiStateStore> {
    const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    const tables = new Map<TableName, Sublevel>();
    for (const name of TABLE_NAMES) tables.set(name, openTable(db, name));
    const store = new PkiStateStore(db, new LevelReader(tables), options.syncWrites ?? true);
    await store.loadApplied();
    return store;
  }

  async close(): Promise<void> {
    await this.exclusive(() => this.db.close());
  }

  private async loadApplied(): Promise<void> {
    const applied = await new StateTxn(new Overlay(this.levelReader)).getMeta('applied');
    this.applied = applied === undefined ? { index: 0, term: 0 } : { index: applied.index, term: applied.term };
  }

  /** The index of the last entry applied (0 for an empty state). */
  appliedIndex(): number {
    return this.applied.index;
  }

  appliedTerm(): number {
    return this.applied.term;
  }

  /** Runs `fn` after every earlier exclusive operation: applies, snapshots and restores never interleave. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Decodes and applies committed entries as one atomic batch. A malformed entry is an
   * ERR_EVENT_MALFORMED outcome (it still counts as applied: every replica decodes it the same).
   * Returns one outcome per entry; `null` for an entry already applied before.
   */
  applyEntries(entries: readonly CommittedEntry[]): Promise<(ApplyOutcome | null)[]> {
    return this.applyBatch(entries.map((e) => ({ meta: metaOf(e), decode: () => decodeEvent(e.data) })));
  }

  /** Applies already decoded events as one atomic batch (the simulator and tests use this). */
  applyEvents(items: readonly { event: PkiEvent; meta: ApplyMeta }[]): Promise<(ApplyOutcome | null)[]> {
    return this.applyBatch(items.map((i) => ({ meta: i.meta, decode: () => i.event })));
  }

  async apply(event: PkiEvent, meta: ApplyMeta): Promise<ApplyOutcome | null> {
    const [outcome] = await this.applyEvents([{ event, meta }]);
    return outcome ?? null;
  }

  private applyBatch(items: { meta: ApplyMeta; decode: () => PkiEvent }[]): Promise<(ApplyOutcome | null)[]> {
    if (items.length > MAX_BATCH_EVENTS) throw new RangeError(`at most ${MAX_BATCH_EVENTS} events per batch`);
    for (let i = 1; i < items.length; i++) {
      if (items[i]!.meta.index <= items[i - 1]!.meta.index) throw new TypeError('entry indexes must increase within a batch');
    }
    return this.exclusive(async () => {
      const batch = new StateTxn(new Overlay(this.levelReader));
      const outcomes: (ApplyOutcome | null)[] = [];
      let last = this.applied;
      for (const { meta, decode } of items) {
        if (meta.index <= last.index) {
          outcomes.push(null);
          continue;
        }
        outcomes.push(await decodeAndApply(batch, decode, meta));
        last = { index: meta.index, term: meta.term ?? last.term };
      }
      if (last === this.applied) return outcomes;
      batch.putMeta('applied', { index: last.index, term: last.term });
      await this.commit(batch.overlay);
      this.applied = last;
      return outcomes;
    });
  }

  private async commit(overlay: Overlay): Promise<void> {
    const ops = [];
    for (const [table, writes] of overlay.writes) {
      const sublevel = this.levelReader.sub(table);
      for (const [key, value] of writes) {
        ops.push(value === null ? { type: 'del' as const, sublevel, key } : { type: 'put' as const, sublevel, key, value });
      }
    }
    await this.db.batch(ops, { sync: this.syncWrites });
  }

  /** The whole state as deterministic bytes: equal states give identical snapshots. */
  snapshot(): Promise<Uint8Array> {
    return this.exclusive(async () => {
      const tables: SnapshotTables = new Map();
      for (const name of TABLE_NAMES) tables.set(name, await this.levelReader.range(name, {}));
      return encodeSnapshot(tables);
    });
  }

  /** Replaces the whole state with a snapshot's, in one atomic write (Raft §7 InstallSnapshot). */
  async restore(bytes: Uint8Array): Promise<void> {
    const tables = decodeSnapshot(bytes);
    await this.exclusive(async () => {
      const ops = [];
      for (const key of await this.db.keys().all()) ops.push({ type: 'del' as const, key });
      for (const [name, entries] of tables) {
        const sublevel = this.levelReader.sub(name);
        for (const [key, value] of entries) ops.push({ type: 'put' as const, sublevel, key, value });
      }
      await this.db.batch(ops, { sync: this.syncWrites });
      await this.loadApplied();
    });
  }

  /** Every raw LevelDB entry in key order: for comparing replicas byte for byte. */
  dump(): Promise<[string, Uint8Array][]> {
    return this.exclusive(() => this.db.iterator().all());
  }
}

function metaOf(entry: CommittedEntry): ApplyMeta {
  return entry.term === undefined ? { index: entry.index } : { index: entry.index, term: entry.term };
}

async function decodeAndApply(batch: StateTxn, decode: () => PkiEvent, meta: ApplyMeta): Promise<ApplyOutcome> {
  let event: PkiEvent;
  try {
    event = decode();
  } catch (e) {
    if (!isPkiError(e, 'ERR_EVENT_MALFORMED')) throw e;
    return { ok: false, error: { code: e.code, message: e.message } };
  }
  return applyEvent(batch, event, meta);
}

