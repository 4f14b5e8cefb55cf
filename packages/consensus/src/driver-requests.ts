// Book-keeping of the driver's client requests: proposals waiting to be applied, ReadIndex reads
// waiting for their read point, and waiters for an applied index. Pure data structures, driven by
// NodeDriver from its Ready loop; time is counted in ticks.
import type { Entry, NodeId, ReadState } from './types.ts';

export type DriverErrorCode =
  /** Proposals and reads go to the leader; `leaderId` names it when known. */
  | 'ERR_NOT_LEADER'
  /** The entry's index was taken by an entry of another term: it will never be applied (§5.3). */
  | 'ERR_PROPOSAL_OVERWRITTEN'
  /** A snapshot replaced the log past the entry: it may or may not have been applied. */
  | 'ERR_PROPOSAL_UNKNOWN'
  /** Not applied within requestTimeoutTicks: outcome unknown, the entry may still commit. */
  | 'ERR_PROPOSAL_TIMEOUT'
  /** No read point within requestTimeoutTicks (e.g. leadership lost or no quorum). */
  | 'ERR_READ_TIMEOUT'
  /** The leadership transfer did not complete within an election timeout. */
  | 'ERR_TRANSFER_TIMEOUT'
  /** The driver was stopped. */
  | 'ERR_STOPPED'
  /** Storage or the state machine failed: the driver stopped and must be restarted. */
  | 'ERR_DRIVER_FAILED';

export class DriverError extends Error {
  readonly code: DriverErrorCode;
  /** For ERR_NOT_LEADER: the leader this node knows of, if any. */
  readonly leaderId: NodeId | null;
  constructor(code: DriverErrorCode, message: string, options?: { cause?: unknown; leaderId?: NodeId | null }) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DriverError';
    this.code = code;
    this.leaderId = options?.leaderId ?? null;
  }
}

/** What propose() resolves with once the entry is applied locally. */
export interface Applied<R> {
  index: number;
  term: number;
  /** What the state machine's apply returned for this entry. */
  result: R | undefined;
}

interface Deferred<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

function deferred<T>(): Deferred<T> & { promise: Promise<T> } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface PendingProposal<R> extends Deferred<Applied<R>> {
  term: number;
  deadlineTick: number;
}

/** Proposals keyed by log index, matched on apply by index AND term. */
export class ProposalTracker<R> {
  private readonly byIndex = new Map<number, PendingProposal<R>>();

  get size(): number {
    return this.byIndex.size;
  }

  add(index: number, term: number, deadlineTick: number): Promise<Applied<R>> {
    // An older proposal at this index was truncated away by the log this entry was appended to.
    this.byIndex.get(index)?.reject(new DriverError('ERR_PROPOSAL_OVERWRITTEN', `entry ${index} was replaced`));
    const d = deferred<Applied<R>>();
    this.byIndex.set(index, { ...d, term, deadlineTick });
    return d.promise;
  }

  onApplied(entry: Entry, result: R | undefined): void {
    const p = this.byIndex.get(entry.index);
    if (!p) return;
    this.byIndex.delete(entry.index);
    if (p.term === entry.term) p.resolve({ index: entry.index, term: entry.term, result });
    else p.reject(new DriverError('ERR_PROPOSAL_OVERWRITTEN', `entry ${entry.index} committed at term ${entry.term}, not ${p.term}`));
  }

  /** A snapshot from the leader covers `index`: the entries it replaced cannot be matched. */
  onSnapshot(index: number): void {
    for (const [i, p] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      p.reject(new DriverError('ERR_PROPOSAL_UNKNOWN', `entry ${i} was covered by a snapshot at ${index}`));
    }
  }

  expire(tick: number): void {
    for (const [i, p] of this.byIndex) {
      if (p.deadlineTick > tick) continue;
      this.byIndex.delete(i);
      p.reject(new DriverError('ERR_PROPOSAL_TIMEOUT', `entry ${i} not applied in time`));
    }
  }

  rejectAll(error: Error): void {
    for (const p of this.byIndex.values()) p.reject(error);
    this.byIndex.clear();
  }
}

interface PendingRead extends Deferred<void> {
  /** The read point once the leader confirmed it (Raft thesis §6.4), else null. */
  readIndex: number | null;
  deadlineTick: number;
}

/** ReadIndex requests, identified by a sequence number carried as the request context. */
export class ReadTracker {
  private nextSeq = 1;
  private readonly bySeq = new Map<number, PendingRead>();

  add(deadlineTick: number): { requestCtx: Uint8Array; promise: Promise<void> } {
    const seq = this.nextSeq++;
    const d = deferred<void>();
    this.bySeq.set(seq, { ...d, readIndex: null, deadlineTick });
    const requestCtx = new Uint8Array(8);
    new DataView(requestCtx.buffer).setFloat64(0, seq);
    return { requestCtx, promise: d.promise };
  }

  /** Drops a read that never reached the core (e.g. it threw). */
  cancel(requestCtx: Uint8Array, error: Error): void {
    const seq = ReadTracker.seqOf(requestCtx);
    this.bySeq.get(seq)?.reject(error);
    this.bySeq.delete(seq);
  }

  onReadState(rs: ReadState, appliedIndex: number): void {
    const seq = ReadTracker.seqOf(rs.requestCtx);
    const p = this.bySeq.get(seq);
    if (!p) return; // a read we already timed out, or another driver's context
    p.readIndex = rs.index;
    this.onApplied(appliedIndex);
  }

  /** Serves every read whose read point has been applied locally. */
  onApplied(appliedIndex: number): void {
    for (const [seq, p] of this.bySeq) {
      if (p.readIndex === null || p.readIndex > appliedIndex) continue;
      this.bySeq.delete(seq);
      p.resolve();
    }
  }

  expire(tick: number): void {
    for (const [seq, p] of this.bySeq) {
      if (p.deadlineTick > tick) continue;
      this.bySeq.delete(seq);
      p.reject(new DriverError('ERR_READ_TIMEOUT', 'no read point confirmed in time'));
    }
  }

  rejectAll(error: Error): void {
    for (const p of this.bySeq.values()) p.reject(error);
    this.bySeq.clear();
  }

  private static seqOf(ctx: Uint8Array): number {
    return ctx.byteLength === 8 ? new DataView(ctx.buffer, ctx.byteOffset, 8).getFloat64(0) : 0;
  }
}

/** Callers waiting until the state machine has applied a given index. */
export class ApplyWaiters {
  private waiters: { index: number; resolve(): void; reject(e: Error): void }[] = [];

  wait(index: number, appliedIndex: number): Promise<void> {
    if (index <= appliedIndex) return Promise.resolve();
    const d = deferred<void>();
    this.waiters.push({ index, resolve: () => d.resolve(), reject: (e) => d.reject(e) });
    return d.promise;
  }

  onApplied(appliedIndex: number): void {
    const due = this.waiters.filter((w) => w.index <= appliedIndex);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.index > appliedIndex);
    for (const w of due) w.resolve();
  }

  rejectAll(error: Error): void {
    for (const w of this.waiters) w.reject(error);
    this.waiters = [];
  }
}
