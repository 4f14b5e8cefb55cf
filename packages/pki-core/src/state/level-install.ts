// Installing a snapshot into a LevelDB state piece by piece (Raft §7 InstallSnapshot with
// offset/done), never holding the whole state in memory, and crash-safe:
//   - while chunks arrive they are staged in the `install` sublevel, under `e<qualified key>`;
//     the live tables are untouched, so a crash leaves the old state usable (the next open
//     drops the leftovers);
//   - the commit writes a `phase` record first and then proceeds in bounded batches, each one
//     atomic: phase `clear` deletes the live entries (its last batch also sets phase `move`),
//     phase `move` moves staged entries into their tables (its last batch deletes the phase).
//     Both phases are idempotent, so an open that finds a phase finishes the commit.
import type { Level } from 'level';
import { TABLE_NAMES } from './tables.ts';

/** Operations per LevelDB batch while committing or dropping an install: bounds the write's memory. */
const INSTALL_BATCH_OPS_MAX = 4096;

const INSTALL_SUBLEVEL = 'install';
const ENTRY_PREFIX = 'e';
const KEY_PHASE = 'phase';
type Phase = 'clear' | 'move';

type RawDb = Level<string, Uint8Array>;
type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** The raw key prefix of the staging sublevel (abstract-level lays sublevels out as `!name!`). */
export const INSTALL_RAW_PREFIX = `!${INSTALL_SUBLEVEL}!`;
// The staging sublevel shares the database with the tables: no table may take its name.
if ((TABLE_NAMES as readonly string[]).includes(INSTALL_SUBLEVEL)) throw new Error(`assertion failed: a table is named ${INSTALL_SUBLEVEL}`);

export class LevelInstall {
  constructor(private readonly db: RawDb) {}

  async stage(entries: readonly { qualifiedKey: string; value: Uint8Array }[]): Promise<void> {
    const ops: BatchOp[] = entries.map((e) => ({ type: 'put', key: INSTALL_RAW_PREFIX + ENTRY_PREFIX + e.qualifiedKey, value: e.value }));
    if (ops.length > 0) await this.db.batch(ops, { sync: false });
  }

  /** Replaces the live state with the staged entries (see the file comment for the phases). */
  async commit(options: { sync: boolean }): Promise<void> {
    await this.db.put(INSTALL_RAW_PREFIX + KEY_PHASE, phaseBytes('clear'), { sync: options.sync });
    await this.finish(options);
  }

  /** Drops staged entries; an interrupted commit is finished instead. */
  async recover(): Promise<void> {
    if ((await this.phase()) !== null) await this.finish({ sync: true });
    else await this.drop();
  }

  async drop(): Promise<void> {
    const from = INSTALL_RAW_PREFIX + ENTRY_PREFIX;
    for await (const keys of batchesOf(this.db.keys({ gte: from, lt: from + '\x7f' }))) {
      await this.db.batch(keys.map((key) => ({ type: 'del' as const, key })));
    }
  }

  private async phase(): Promise<Phase | null> {
    const bytes = await this.db.get(INSTALL_RAW_PREFIX + KEY_PHASE);
    if (bytes === undefined) return null;
    const text = Buffer.from(bytes).toString('utf8');
    if (text !== 'clear' && text !== 'move') throw new Error(`assertion failed: install phase ${JSON.stringify(text)}`);
    return text;
  }

  private async finish(options: { sync: boolean }): Promise<void> {
    if ((await this.phase()) === 'clear') await this.clearLive(options);
    await this.moveStaged(options);
  }

  /** Deletes every live entry (everything outside the staging sublevel), then sets phase `move`. */
  private async clearLive(options: { sync: boolean }): Promise<void> {
    for (const range of [{ lt: INSTALL_RAW_PREFIX }, { gte: INSTALL_RAW_PREFIX + '\x7f' }]) {
      for await (const keys of batchesOf(this.db.keys(range))) {
        await this.db.batch(keys.map((key) => ({ type: 'del' as const, key })));
      }
    }
    await this.db.put(INSTALL_RAW_PREFIX + KEY_PHASE, phaseBytes('move'), { sync: options.sync });
  }

  /** Moves staged entries into their tables, batch by batch; the last batch ends the install. */
  private async moveStaged(options: { sync: boolean }): Promise<void> {
    const from = INSTALL_RAW_PREFIX + ENTRY_PREFIX;
    for await (const staged of batchesOf(this.db.iterator({ gte: from, lt: from + '\x7f' }), INSTALL_BATCH_OPS_MAX / 2)) {
      const ops: BatchOp[] = [];
      for (const [key, value] of staged) ops.push({ type: 'put', key: key.slice(from.length), value }, { type: 'del', key });
      await this.db.batch(ops, { sync: false });
    }
    await this.db.batch([{ type: 'del', key: INSTALL_RAW_PREFIX + KEY_PHASE }], { sync: options.sync });
  }
}

/**
 * One iterator read in batches. A single iterator (a LevelDB snapshot) is used, not one per batch:
 * a fresh seek from the start would walk over the tombstones of every key already deleted.
 */
async function* batchesOf<T>(iterator: { nextv(size: number): Promise<T[]>; close(): Promise<void> }, size = INSTALL_BATCH_OPS_MAX): AsyncGenerator<T[]> {
  try {
    for (;;) {
      const batch = await iterator.nextv(size);
      if (batch.length === 0) return;
      yield batch;
    }
  } finally {
    await iterator.close();
  }
}

function phaseBytes(phase: Phase): Uint8Array {
  return new Uint8Array(Buffer.from(phase, 'utf8'));
}
