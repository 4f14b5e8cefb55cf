import type { Message } from './messages.ts';
import type { Entry, HardState, ReadState, Snapshot, SoftState } from './types.ts';

/**
 * What RaftCore asks of its caller, in this order (as etcd's raft.Ready):
 *  1. persist `snapshot` (if any), then `entries` (appending; an entry at an existing index
 *     replaces that index and everything after it), then `hardState` (if any) — with fsync when
 *     `mustSync` — BEFORE sending any of `messages`;
 *  2. send `messages` (they may be lost; Raft tolerates it);
 *  3. restore the state machine from `snapshot` (if any), then apply `committedEntries` in order;
 *  4. call `advance(ready)`.
 */
export interface Ready {
  /** Present when role, leader or term changed since the last Ready. Not persisted. */
  softState: SoftState | null;
  /** Present when term, vote or commit changed. */
  hardState: HardState | null;
  entries: Entry[];
  /** A snapshot received from the leader, complete, to install. */
  snapshot: Snapshot | null;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** False only when nothing durable changed in a way that needs fsync (e.g. commit only). */
  mustSync: boolean;
}
