// The receiving end of a chunked snapshot (snapshot-chunks.ts): each chunk is checked against
// the sequence and staged in the backend as it arrives, so only one chunk is in memory; the
// live state changes only at `commit`, once the last chunk matched the sender's digest.
import { PkiError } from '../errors.ts';
import { appliedIndexOfRecord } from './snapshot.ts';
import { decodeSnapshotChunk, SnapshotChunkVerifier, type StateEntry } from './snapshot-chunks.ts';

/** Where the install writes: the store's backend, behind the store's exclusive queue. */
export interface InstallTarget {
  stage(entries: readonly StateEntry[]): Promise<void>;
  /** Replaces the live state with what was staged. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export class StateSnapshotInstall {
  private readonly verifier = new SnapshotChunkVerifier();
  private appliedIndex = 0;
  private state: 'receiving' | 'complete' | 'ended' = 'receiving';
  private started = false;

  constructor(private readonly target: InstallTarget) {}

  /**
   * Checks and stages one chunk; returns true once the last one arrived. A chunk that breaks
   * the sequence (order, digest) drops everything staged and throws ERR_INPUT_INVALID.
   */
  async write(bytes: Uint8Array): Promise<boolean> {
    if (this.state !== 'receiving') throw new TypeError(`snapshot install: write after the install is ${this.state}`);
    let done: boolean;
    try {
      // Leftovers of an install given up earlier (a newer snapshot replaced it) go first.
      if (!this.started) await this.target.abort();
      this.started = true;
      const chunk = decodeSnapshotChunk(bytes);
      done = this.verifier.accept(chunk);
      for (const [table, key, value] of chunk.entries) if (table === 'meta' && key === 'applied') this.appliedIndex = appliedIndexOfRecord(value);
      await this.target.stage(chunk.entries);
    } catch (e) {
      await this.abort();
      throw e;
    }
    if (done) this.state = 'complete';
    return done;
  }

  /** The applied index the snapshot holds (meaningful once complete). */
  snapshotIndex(): number {
    return this.appliedIndex;
  }

  /** Makes the staged snapshot the state. With `expectedIndex`, a snapshot of another index is refused first. */
  async commit(expectedIndex?: number): Promise<void> {
    if (this.state !== 'complete') throw new TypeError(`snapshot install: commit while ${this.state}`);
    if (expectedIndex !== undefined && this.appliedIndex !== expectedIndex) {
      await this.abort();
      throw new PkiError('ERR_INPUT_INVALID', `snapshot holds index ${this.appliedIndex}, expected ${expectedIndex}`);
    }
    this.state = 'ended';
    await this.target.commit();
  }

  /** Drops what was staged; the state stays as it was. */
  async abort(): Promise<void> {
    if (this.state === 'ended') return;
    this.state = 'ended';
    await this.target.abort();
  }
}
