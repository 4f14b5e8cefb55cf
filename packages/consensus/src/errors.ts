// Expected failures of the Raft core, as typed errors with stable codes (callers and tests match
// on `code`, never on the message). Broken invariants are not RaftErrors: they throw
// RaftInvariantError, which no caller should catch and carry on from.

export type RaftErrorCode =
  /** The proposal was not accepted (no known leader, or this leader is over its limits). */
  | 'ERR_PROPOSAL_DROPPED'
  /** The operation needs the leader (or a known leader to forward to). */
  | 'ERR_NOT_LEADER'
  /** A RaftConfig field is missing or out of range; the message names the field. */
  | 'ERR_CONFIG_INVALID'
  /** A membership change is already in the log and not yet applied. */
  | 'ERR_CONF_CHANGE_PENDING'
  /** The membership change is malformed or not allowed from the current configuration. */
  | 'ERR_CONF_CHANGE_INVALID'
  /** A leadership transfer is under way: proposals are refused until it completes or aborts. */
  | 'ERR_TRANSFER_IN_PROGRESS'
  /** The transfer target is not a voter of the current configuration. */
  | 'ERR_TRANSFER_INVALID'
  /** The requested index is at or below the latest snapshot. */
  | 'ERR_COMPACTED'
  /** ReadIndex before this leader committed an entry of its own term (thesis §6.4). */
  | 'ERR_READ_NOT_READY';

export class RaftError extends Error {
  readonly code: RaftErrorCode;

  constructor(code: RaftErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'RaftError';
    this.code = code;
  }
}

/** A Raft safety invariant was about to be broken. The process must not continue with this core. */
export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(`raft invariant violated: ${message}`);
    this.name = 'RaftInvariantError';
  }
}

export function assertInvariant(cond: boolean, message: string): asserts cond {
  if (!cond) throw new RaftInvariantError(message);
}
