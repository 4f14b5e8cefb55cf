import type { Entry, NodeId, SnapshotMetadata } from './types.ts';

// Raft RPCs as one discriminated union. Every message carries the sender's term so that
// RaftCore.step can handle terms in one place (Raft §5.1) before dispatching on `type`.

interface Envelope {
  from: NodeId;
  to: NodeId;
  term: number;
}

export interface PreVoteRequest extends Envelope {
  type: 'preVote';
  /** The term the sender would campaign at (its current term + 1); its own term is unchanged. */
  lastLogIndex: number;
  lastLogTerm: number;
}
export interface VoteRequest extends Envelope {
  type: 'vote';
  lastLogIndex: number;
  lastLogTerm: number;
  /** Set when campaigning because of a leadership transfer: bypasses leader stickiness. */
  transfer: boolean;
}
export interface VoteResponse extends Envelope {
  type: 'preVoteResp' | 'voteResp';
  granted: boolean;
  /**
   * A granted `voteResp`: ticks since the voter last heard from a leader (or started, if it has
   * not since). Absent (a peer that does not send it) counts as 0: contact just now.
   */
  leaderContactAgoTicks?: number;
}
export interface AppendRequest extends Envelope {
  type: 'append';
  prevLogIndex: number;
  prevLogTerm: number;
  entries: Entry[];
  commit: number;
}
export interface AppendResponse extends Envelope {
  type: 'appendResp';
  success: boolean;
  /** On success: the last index now known to match. On rejection: the probed index. */
  index: number;
  /** On rejection: a hint for the next probe (follower's last index, or conflict start). */
  rejectHint: number;
  rejectHintTerm: number;
}
export interface HeartbeatRequest extends Envelope {
  type: 'heartbeat';
  commit: number;
  /** ReadIndex round this heartbeat confirms leadership for (0 = none). */
  readCtxSeq: number;
}
export interface HeartbeatResponse extends Envelope {
  type: 'heartbeatResp';
  readCtxSeq: number;
}
export interface SnapshotChunk extends Envelope {
  type: 'snapshot';
  metadata: SnapshotMetadata;
  /** Byte offset of `data` inside the whole snapshot. */
  offset: number;
  data: Uint8Array;
  totalBytes: number;
  done: boolean;
}
export interface SnapshotResponse extends Envelope {
  type: 'snapshotResp';
  snapshotIndex: number;
  /** Next byte offset the receiver expects; equal to totalBytes once installed. */
  nextOffset: number;
  reject: boolean;
}
export interface TimeoutNow extends Envelope {
  type: 'timeoutNow';
}
/** A follower forwarding a ReadIndex request to its leader (thesis §6.4). */
export interface ReadIndexRequest extends Envelope {
  type: 'readIndex';
  requestCtx: Uint8Array;
}
export interface ReadIndexResponse extends Envelope {
  type: 'readIndexResp';
  requestCtx: Uint8Array;
  index: number;
  /** False when the leader could not serve it (e.g. no entry committed in its term yet). */
  ok: boolean;
}
/** A follower forwarding a proposal to its leader. */
export interface ProposalForward extends Envelope {
  type: 'propose';
  entries: { type: Entry['type']; data: Uint8Array }[];
}

export type Message =
  | PreVoteRequest
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotResponse
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse
  | ProposalForward;

export type MessageType = Message['type'];
