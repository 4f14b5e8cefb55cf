import { RaftError } from './errors.ts';

/** Tunables of one RaftCore. Every limit carries its unit in its name. */
export interface RaftConfig {
  /** Base election timeout; each election draws a timeout uniformly from [e, 2e) (Raft §5.2). */
  electionTimeoutTicks: number;
  /** Leader heartbeat period; must be below electionTimeoutTicks. */
  heartbeatIntervalTicks: number;
  /** Append messages in flight per follower while pipelining (replicate state). */
  maxInflightMsgs: number;
  /** Entry payload bytes per append message; at least one entry is always sent. */
  maxMsgBytes: number;
  /** Payload bytes a leader holds uncommitted before it refuses proposals (ERR_PROPOSAL_DROPPED). */
  maxUncommittedBytes: number;
  /** Entry payload bytes of committedEntries in one Ready; at least one entry is always given. */
  maxCommittedBytesPerReady: number;
  /** Bytes of snapshot data per InstallSnapshot chunk. */
  snapshotChunkBytes: number;
  /** Pre-vote phase before campaigning (thesis §9.6): a partitioned node cannot inflate terms. */
  preVote: boolean;
  /** Leader steps down without a quorum for an election timeout (thesis §6.2); enables stickiness. */
  checkQuorum: boolean;
}

export const DEFAULT_RAFT_CONFIG: RaftConfig = Object.freeze({
  electionTimeoutTicks: 10,
  heartbeatIntervalTicks: 1,
  maxInflightMsgs: 256,
  maxMsgBytes: 1024 * 1024,
  maxUncommittedBytes: 64 * 1024 * 1024,
  maxCommittedBytesPerReady: 16 * 1024 * 1024,
  snapshotChunkBytes: 1024 * 1024,
  preVote: true,
  checkQuorum: true,
});

const INTEGER_FIELDS = [
  'electionTimeoutTicks',
  'heartbeatIntervalTicks',
  'maxInflightMsgs',
  'maxMsgBytes',
  'maxUncommittedBytes',
  'maxCommittedBytesPerReady',
  'snapshotChunkBytes',
] as const;

const BOOLEAN_FIELDS = ['preVote', 'checkQuorum'] as const;

/** Fills defaults and checks every field; throws ERR_CONFIG_INVALID naming the first bad field. */
export function validateRaftConfig(c: Partial<RaftConfig>): RaftConfig {
  const known = new Set<string>([...INTEGER_FIELDS, ...BOOLEAN_FIELDS]);
  for (const key of Object.keys(c)) {
    if (!known.has(key)) throw new RaftError('ERR_CONFIG_INVALID', `unknown field ${key}`);
  }
  const out: RaftConfig = { ...DEFAULT_RAFT_CONFIG, ...definedOnly(c) };
  for (const f of INTEGER_FIELDS) {
    const v = out[f];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new RaftError('ERR_CONFIG_INVALID', `${f} must be a positive integer, got ${String(v)}`);
    }
  }
  for (const f of BOOLEAN_FIELDS) {
    if (typeof out[f] !== 'boolean') {
      throw new RaftError('ERR_CONFIG_INVALID', `${f} must be a boolean, got ${String(out[f])}`);
    }
  }
  if (out.heartbeatIntervalTicks >= out.electionTimeoutTicks) {
    throw new RaftError(
      'ERR_CONFIG_INVALID',
      `heartbeatIntervalTicks (${out.heartbeatIntervalTicks}) must be below electionTimeoutTicks (${out.electionTimeoutTicks})`,
    );
  }
  return out;
}

function definedOnly(c: Partial<RaftConfig>): Partial<RaftConfig> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (v !== undefined) out[k] = v;
  return out;
}
