// PkiStateStore: the PKI state on LevelDB (one sublevel per table) or in memory. Committed log entries are
// applied in batches; each batch — every accepted event's writes plus the new applied index —
// is one atomic LevelDB write, so after a crash the state is exactly "all entries through
// appliedIndex()", and the Raft driver replays from there. Entries at or below the applied
// index are skipped, which makes redelivery after a restart harmless.
import { applyEvent } from './apply-event.ts';
import { decodeEvent, encodeEvent } from './event-codec.ts';
import type { PkiEvent } from './events.ts';
import type { ApplyMeta, ApplyOutcome } from './outcome.ts';
import { decodeSnapshot, encodeSnapshot, snapshotAppliedIndex, type SnapshotTables } from './snapshot.ts';
import { encodeSnapshotChunks } from './snapshot-chunks.ts';
import { StateSnapshotInstall } from './snapshot-install.ts';
import { TABLE_NAMES, TABLES_NOT_IN_SNAPSHOT } from './tables.ts';
import { extendAuditChain, type AuditLog } from './audit-chain.ts';
import { Overlay, StateTxn, type KvReader } from './txn.ts';
import type { StateBackend } from './backend.ts';
import { LevelBackend } from './level-backend.ts';
import { MemoryBackend } from './memory-backend.ts';
import { PkiStateQueries } from './queries.ts';
import { isPkiError, PkiError } from '../errors.ts';

export interface PkiStateStoreOptions {
  /** fsync each applied batch (default true): the Raft log may be compacted up to what we report applied. */
  syncWrites?: boolean;
  /**
   * Write each applied batch at once (default true). False holds applied batches, readable, until
   * `flush()` writes them all with the applied index in one atomic write: a caller applying one
   * command at a time (node/core/pki-application.ts) pays one write per Raft Ready, not per command.
   */
  writeOnApply?: boolean;
  /**
   * How many entries of each log's history (table `audit`, audit-chain.ts) are kept before the
   * log's latest signed checkpoint; older ones are forgotten. Default: every entry is kept.
   */
  auditRetainEntriesMax?: number;
}

/**
 * A committed log entry whose data is an encoded event; structurally a consensus `Entry`.
 * Membership changes and empty entries (a new Raft leader's no-op, Raft §8) advance the
 * applied index and leave the PKI state alone.
 */
export interface CommittedEntry {
  index: number;
  term?: number;
  type?: 'normal' | 'confChange';
  data: Uint8Array;
}

/** A command of a two-tier log: its bytes as committed extend that log's audit chain (audit-chain.ts). */
export interface AuditedCommand {
  log: AuditLog;
  bytes: Uint8Array;
}

interface BatchItem {
  meta: ApplyMeta;
  decode: () => PkiEvent | null;
  audit?: AuditedCommand;
}

/** Upper bound on events per atomic batch, so one LevelDB write stays bounded. */
export const MAX_BATCH_EVENTS = 4096;

export class PkiStateStore extends PkiStateQueries {
  private tail: Promise<unknown> = Promise.resolve();
  /** The applied index queries see; on disk once `staged` is written. */
  private applied = { index: 0, term: 0 };
  /** Applied batches not yet written (`writeOnApply: false`); queries read through them. */
  private readonly staged: Overlay;
  private stagedEvents = 0;
  /** A write went out unsynced (`flush({ sync: false })`) and no synced one followed yet. */
  private unsynced = false;
  /** What applies and queries read: the backend, through `staged` when batches are held back. */
  private readonly applyReader: KvReader;

  private constructor(
    private readonly backend: StateBackend,
    private readonly syncWrites: boolean,
    private readonly writeOnApply: boolean,
    private readonly auditRetainEntriesMax: number | undefined,
  ) {
    const staged = new Overlay(backend);
    // Writing on apply, nothing is ever staged: reads go straight to the backend.
    const reader = writeOnApply ? backend : staged;
    super(reader);
    this.staged = staged;
    this.applyReader = reader;
  }

  /** Opens (creating if needed) the state in a LevelDB directory. */
  static async open(location: string, options: PkiStateStoreOptions = {}): Promise<PkiStateStore> {
    return PkiStateStore.over(await LevelBackend.open(location), options);
  }

  /** A state held in memory only (simulation, tests); same behaviour and snapshot bytes. */
  static async inMemory(options: Pick<PkiStateStoreOptions, 'auditRetainEntriesMax'> = {}): Promise<PkiStateStore> {
    return PkiStateStore.over(new MemoryBackend(), { ...options, syncWrites: false });
  }

  static async over(backend: StateBackend, options: PkiStateStoreOptions = {}): Promise<PkiStateStore> {
    const retain = options.auditRetainEntriesMax;
    if (retain !== undefined && (!Number.isSafeInteger(retain) || retain < 0)) throw new TypeError('auditRetainEntriesMax must be a non-negative integer');
    const store = new PkiStateStore(backend, options.syncWrites ?? true, options.writeOnApply ?? true, retain);
    await store.loadApplied();
    return store;
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      await this.writeStaged();
      await this.backend.close();
    });
  }

  /**
   * Writes every applied batch held back (`writeOnApply: false`) in one atomic write. `sync:
   * false` leaves that write unsynced whatever `syncWrites` says (its owner then answers for
   * a crash of the machine, node/core/state-boot-marker.ts); a later synced write, snapshot or
   * close makes it durable.
   */
  flush(options: { sync?: boolean } = {}): Promise<void> {
    return this.exclusive(() => this.writeStaged(options.sync ?? this.syncWrites));
  }

  private async writeStaged(sync = this.syncWrites): Promise<void> {
    if (this.staged.writes.size === 0) {
      if (sync && this.unsynced) await this.syncWritten();
      return;
    }
    await this.backend.commit(this.staged.writes, { sync });
    this.unsynced = !sync;
    this.staged.writes.clear();
    this.stagedEvents = 0;
  }

  /** Makes earlier unsynced writes durable: one synced write (LevelDB syncs its whole log file). */
  private async syncWritten(): Promise<void> {
    const txn = new StateTxn(new Overlay(this.backend));
    txn.putMeta('applied', { index: this.applied.index, term: this.applied.term });
    await this.backend.commit(txn.overlay.writes, { sync: true });
    this.unsynced = false;
  }

  private async loadApplied(): Promise<void> {
    const applied = await new StateTxn(new Overlay(this.backend)).getMeta('applied');
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
   * Returns one outcome per entry; `null` for an entry applied before or not carrying an event.
   */
  applyEntries(entries: readonly CommittedEntry[]): Promise<(ApplyOutcome | null)[]> {
    return this.applyBatch(
      entries.map((e) => ({
        meta: metaOf(e),
        decode: () => (e.type === 'confChange' || e.data.byteLength === 0 ? null : decodeEvent(e.data)),
      })),
    );
  }

  /**
   * Applies event objects as one atomic batch (the simulator and tests use this). Each goes
   * through the codec first, so it is checked and canonical exactly as if it came from the log.
   */
  applyEvents(items: readonly { event: PkiEvent; meta: ApplyMeta }[]): Promise<(ApplyOutcome | null)[]> {
    return this.applyBatch(items.map((i) => ({ meta: i.meta, decode: () => decodeEvent(encodeEvent(i.event)) })));
  }

  async apply(event: PkiEvent, meta: ApplyMeta): Promise<ApplyOutcome | null> {
    const [outcome] = await this.applyEvents([{ event, meta }]);
    return outcome ?? null;
  }

  /**
   * Applies one command of a two-tier log (node/core/pki-application.ts) and extends that log's
   * audit chain with its bytes, in one batch. `event` null: a command refused before apply
   * (malformed, or in the wrong log), which takes its index and its place in the chain only.
   */
  async applyCommand(event: PkiEvent | null, meta: ApplyMeta, audit: AuditedCommand): Promise<ApplyOutcome | null> {
    const [outcome] = await this.applyBatch([{ meta, decode: () => event, audit }]);
    return outcome ?? null;
  }

  private applyBatch(items: BatchItem[]): Promise<(ApplyOutcome | null)[]> {
    if (items.length > MAX_BATCH_EVENTS) throw new RangeError(`at most ${MAX_BATCH_EVENTS} events per batch`);
    for (let i = 1; i < items.length; i++) {
      if (items[i]!.meta.index <= items[i - 1]!.meta.index) throw new TypeError('entry indexes must increase within a batch');
    }
    return this.exclusive(async () => {
      const batch = new StateTxn(new Overlay(this.applyReader));
      const outcomes: (ApplyOutcome | null)[] = [];
      let last = this.applied;
      for (const { meta, decode, audit } of items) {
        if (meta.index <= last.index) {
          outcomes.push(null);
          continue;
        }
        outcomes.push(await decodeAndApply(batch, decode, meta));
        if (audit !== undefined) await extendAuditChain(batch, audit.log, meta.index, audit.bytes, this.auditRetainEntriesMax);
        last = { index: meta.index, term: meta.term ?? last.term };
      }
      if (last === this.applied) return outcomes;
      batch.putMeta('applied', { index: last.index, term: last.term });
      if (this.writeOnApply) {
        await this.backend.commit(batch.overlay.writes, { sync: this.syncWrites });
      } else {
        batch.overlay.mergeInto(this.staged);
        this.stagedEvents += items.length;
        if (this.stagedEvents >= MAX_BATCH_EVENTS) await this.writeStaged();
      }
      this.applied = last;
      return outcomes;
    });
  }

  /** The whole state as deterministic bytes: equal states give identical snapshots. */
  snapshot(): Promise<Uint8Array> {
    return this.exclusive(async () => {
      await this.writeStaged();
      const tables: SnapshotTables = new Map();
      for (const name of TABLE_NAMES) tables.set(name, TABLES_NOT_IN_SNAPSHOT.has(name) ? [] : await this.backend.range(name, {}));
      return encodeSnapshot(tables);
    });
  }

  /**
   * Replaces the whole state with a snapshot's, in one atomic write (Raft §7 InstallSnapshot).
   * With `expectedIndex`, a snapshot of any other applied index is refused before anything changes.
   */
  async restore(bytes: Uint8Array, expectedIndex?: number): Promise<void> {
    const tables = decodeSnapshot(bytes);
    if (expectedIndex !== undefined && snapshotAppliedIndex(tables) !== expectedIndex) {
      throw new PkiError('ERR_INPUT_INVALID', `snapshot holds index ${snapshotAppliedIndex(tables)}, expected ${expectedIndex}`);
    }
    await this.exclusive(async () => {
      // What the snapshot replaces needs no writing: it is dropped with the rest.
      this.staged.writes.clear();
      this.stagedEvents = 0;
      await this.backend.replaceAll(tables, { sync: this.syncWrites });
      await this.loadApplied();
    });
  }

  /**
   * The state as chunks of about `chunkBytesMax` bytes each (snapshot-chunks.ts), read from one
   * consistent view taken now: applies may go on while the chunks are read, one at a time.
   * Equal states give identical chunks. `seq` is the applied index the view holds. Read the
   * chunks to the end (or leave the loop with `break`, or `return()`), which closes the iterator.
   */
  snapshotChunks(chunkBytesMax: number): Promise<{ seq: number; chunks: AsyncGenerator<Uint8Array> }> {
    return this.exclusive(async () => {
      await this.writeStaged();
      return { seq: this.applied.index, chunks: encodeSnapshotChunks(this.backend.entries(), chunkBytesMax) };
    });
  }

  /**
   * Starts installing a chunked snapshot (Raft §7): chunks are staged as they arrive, and the
   * state is replaced only by the install's `commit`, in the store's order of operations. A
   * crash before then leaves this state as it was.
   */
  beginInstall(): StateSnapshotInstall {
    return new StateSnapshotInstall({
      stage: (entries) => this.exclusive(() => this.backend.stageInstall(entries)),
      abort: () => this.exclusive(() => this.backend.abortInstall()),
      commit: () =>
        this.exclusive(async () => {
          // What the snapshot replaces needs no writing: it is dropped with the rest.
          this.staged.writes.clear();
          this.stagedEvents = 0;
          await this.backend.commitInstall({ sync: this.syncWrites });
          await this.loadApplied();
        }),
    });
  }

  /** Every raw entry (`!table!key`, LevelDB layout) in key order: for comparing replicas byte for byte. */
  dump(): Promise<[string, Uint8Array][]> {
    return this.exclusive(async () => {
      await this.writeStaged();
      return this.backend.dump();
    });
  }
}

function metaOf(entry: CommittedEntry): ApplyMeta {
  return entry.term === undefined ? { index: entry.index } : { index: entry.index, term: entry.term };
}

async function decodeAndApply(batch: StateTxn, decode: () => PkiEvent | null, meta: ApplyMeta): Promise<ApplyOutcome | null> {
  let event: PkiEvent | null;
  try {
    event = decode();
  } catch (e) {
    if (!isPkiError(e, 'ERR_EVENT_MALFORMED')) throw e;
    return { ok: false, error: { code: e.code, message: e.message } };
  }
  return event === null ? null : applyEvent(batch, event, meta);
}

