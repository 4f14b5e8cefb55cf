import type { SnapshotChunk } from './messages.ts';
import type { Snapshot, SnapshotMetadata } from './types.ts';

// The follower's half of chunked InstallSnapshot (Raft §7; the paper's `offset`/`done` fields).
// Chunks must arrive in order; the reply always names the next byte offset wanted, so the leader
// resumes from there after a loss, and a duplicate or out-of-order chunk changes nothing.

export interface ChunkOutcome {
  /** Next byte offset wanted; equal to totalBytes once the snapshot is complete (or not needed). */
  nextOffset: number;
  /** The chunk was malformed (overruns its snapshot): the transfer restarts from offset 0. */
  reject: boolean;
  /** The whole snapshot, once its last chunk arrived. */
  complete: Snapshot | null;
}

interface Assembly {
  metadata: SnapshotMetadata;
  totalBytes: number;
  parts: Uint8Array[];
  receivedBytes: number;
}

export class SnapshotReceiver {
  private assembly: Assembly | null = null;

  /** `committed`: our commit index; a snapshot at or below it is acknowledged as installed. */
  accept(m: SnapshotChunk, committed: number): ChunkOutcome {
    const md = m.metadata;
    if (md.index <= committed) {
      this.assembly = null;
      return { nextOffset: m.totalBytes, reject: false, complete: null };
    }
    let a = this.assembly;
    if (!a || a.metadata.index !== md.index || a.metadata.term !== md.term || a.totalBytes !== m.totalBytes) {
      // A different snapshot than the one being assembled: it can only start at offset 0.
      if (m.offset !== 0) return { nextOffset: 0, reject: false, complete: null };
      a = { metadata: md, totalBytes: m.totalBytes, parts: [], receivedBytes: 0 };
      this.assembly = a;
    }
    if (m.offset !== a.receivedBytes) return { nextOffset: a.receivedBytes, reject: false, complete: null };
    if (a.receivedBytes + m.data.byteLength > a.totalBytes) {
      this.assembly = null;
      return { nextOffset: 0, reject: true, complete: null };
    }
    a.parts.push(Uint8Array.from(m.data)); // the transport may reuse its buffer
    a.receivedBytes += m.data.byteLength;
    if (a.receivedBytes < a.totalBytes) return { nextOffset: a.receivedBytes, reject: false, complete: null };
    this.assembly = null;
    return { nextOffset: a.totalBytes, reject: false, complete: { metadata: a.metadata, data: concat(a.parts, a.totalBytes) } };
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
