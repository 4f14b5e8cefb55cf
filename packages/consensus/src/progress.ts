import { assertInvariant } from './errors.ts';

// The leader's view of one follower's log (etcd tracker/progress.go):
//  probe     — next is a guess; one append at a time until a reply tells us where the logs match;
//  replicate — logs match through `match`; appends are pipelined, bounded by the inflight window;
//  snapshot  — the follower needs a snapshot; chunks go out one at a time, nothing else is sent.

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A bounded FIFO of the last index carried by each append in flight. */
export class Inflights {
  private readonly lastIndexes: number[] = [];
  constructor(readonly maxInflightMsgs: number) {}

  get count(): number {
    return this.lastIndexes.length;
  }
  full(): boolean {
    return this.lastIndexes.length >= this.maxInflightMsgs;
  }
  add(lastIndex: number): void {
    assertInvariant(!this.full(), 'inflight window overflow');
    this.lastIndexes.push(lastIndex);
  }
  /** Acknowledge every append whose last index is ≤ `index`. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && (this.lastIndexes[n] ?? 0) <= index) n++;
    this.lastIndexes.splice(0, n);
  }
  /** Free one slot so a lost append cannot stall a full window forever (etcd does the same). */
  freeFirstOne(): void {
    this.lastIndexes.shift();
  }
  reset(): void {
    this.lastIndexes.length = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe state: an append is out and unanswered; wait for its reply or the next heartbeat. */
  probeSent = false;
  /** Snapshot state: index of the snapshot being sent, and bytes the follower has confirmed. */
  pendingSnapshotIndex = 0;
  snapshotOffsetBytes = 0;
  /** Tick at which the last snapshot chunk went out (to resend one that was lost). */
  snapshotChunkSentTick = 0;
  /** Heard from since the last check-quorum round (thesis §6.2). */
  recentActive = false;
  /** Highest heartbeat round this follower answered (ReadIndex and the quorum lease). */
  ackedRound = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, public isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs);
  }

  becomeProbe(): void {
    // After a snapshot, resume right behind it: the follower holds everything through it.
    if (this.state === 'snapshot') {
      const snap = this.pendingSnapshotIndex;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, snap + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }
  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshotIndex = snapshotIndex;
  }
  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.snapshotOffsetBytes = 0;
    this.inflights.reset();
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** An append with entries up to `lastIndex` (or none: lastIndex = next-1) went out. */
  sentEntries(entryCount: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        // Pipelining: assume success and send the next batch right behind this one.
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** A successful append reply through `index`; returns whether `match` moved. */
  maybeUpdate(index: number): boolean {
    this.probeSent = false;
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    return true;
  }

  /**
   * A rejection of the append whose previous index was `rejected`; `matchHint` is where the
   * logs may match at best (Raft §5.3, fast backtracking). Returns false for a stale rejection.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }
}
