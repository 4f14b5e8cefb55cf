// The data RaftCore consumes and produces. Everything here is plain data (no classes, no
// functions) so it encodes with msgpackr as plain MessagePack for disk and wire.

/** A member's identity inside one Raft group (a node UUID, or an AZ name for seats). */
export type NodeId = string;

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque application payload; for `confChange` an encoded {@link ConfChange}. */
  data: Uint8Array;
}

/** What must be durable before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

/**
 * Membership. During a joint configuration (Raft §6 / thesis §4.3) `votersOutgoing` holds the old
 * voter set and decisions need a majority of both; otherwise it is empty.
 */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing: NodeId[];
}

export type ConfChangeOp = 'addVoter' | 'addLearner' | 'removeNode';

export interface ConfChange {
  changes: { op: ConfChangeOp; nodeId: NodeId }[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** Application state as of `metadata.index`, produced by the state machine. */
  data: Uint8Array;
}

export interface SoftState {
  role: Role;
  /** The leader this node currently knows of, if any. */
  leaderId: NodeId | null;
  term: number;
}

/** A linearizable read point (Raft §6.4): once applied through `index`, serve the read. */
export interface ReadState {
  index: number;
  /** Caller-chosen request context returned unchanged. */
  requestCtx: Uint8Array;
}
