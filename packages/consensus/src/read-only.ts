import type { NodeId } from './types.ts';

// Pending linearizable reads (thesis §6.4). Each read records the commit index when it arrived
// and the heartbeat round that will confirm leadership for it; when a quorum has answered that
// round (or a later one), the leader was still leader after the read arrived, so the read may be
// served once the state machine has applied through the recorded index.

export interface PendingRead {
  round: number;
  index: number;
  requestCtx: Uint8Array;
  /** The follower that forwarded the read, or null for a read asked of this leader directly. */
  from: NodeId | null;
}

export class ReadOnlyQueue {
  private readonly queue: PendingRead[] = [];

  get length(): number {
    return this.queue.length;
  }

  add(read: PendingRead): void {
    this.queue.push(read);
  }

  /** Removes and returns every read confirmed by a quorum answer to round `round`. */
  releaseThrough(round: number): PendingRead[] {
    let n = 0;
    while (n < this.queue.length && (this.queue[n]?.round ?? Infinity) <= round) n++;
    return this.queue.splice(0, n);
  }

  clear(): void {
    this.queue.length = 0;
  }
}
