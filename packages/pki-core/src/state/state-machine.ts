// The PKI state as a consensus `StateMachine` (packages/consensus NodeDriver): committed entries
// in, one outcome per entry out (handed back to `propose()`), snapshots as opaque bytes. The store
// persists itself, so it reports `appliedIndex()` and the driver restores a snapshot only if it
// is newer than what the store already holds.
import type { Entry, SnapshotMetadata } from '@adrestia/consensus';
import type { ApplyOutcome } from './outcome.ts';
import type { PkiStateStore } from './store.ts';
import { MAX_BATCH_EVENTS } from './store.ts';

export class PkiStateMachine {
  constructor(readonly store: PkiStateStore) {}

  /** One atomic batch per `MAX_BATCH_EVENTS` entries; `null` for entries that carry no event. */
  async apply(entries: readonly Entry[]): Promise<(ApplyOutcome | null)[]> {
    const outcomes: (ApplyOutcome | null)[] = [];
    for (let i = 0; i < entries.length; i += MAX_BATCH_EVENTS) {
      outcomes.push(...(await this.store.applyEntries(entries.slice(i, i + MAX_BATCH_EVENTS))));
    }
    return outcomes;
  }

  snapshot(): Promise<Uint8Array> {
    return this.store.snapshot();
  }

  /** Raft §7: the snapshot must hold exactly the state through `metadata.index`. */
  restore(data: Uint8Array, metadata: SnapshotMetadata): Promise<void> {
    return this.store.restore(data, metadata.index);
  }

  appliedIndex(): number {
    return this.store.appliedIndex();
  }
}
