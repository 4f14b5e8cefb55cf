// Every option of a run derives from one seed, so `--seed S` replays the run bit for bit.
import { SeededRandom } from '@adrestia/consensus';

export interface SimOptions {
  seed: number;
  clusterSize: 3 | 5;
  /** Virtual milliseconds per tick on a node with no skew. */
  baseTickMs: number;
  /** Per-node tick period multipliers (clock skew: nodes tick at different rates). */
  tickSkew: number[];
  electionTimeoutTicks: number;
  heartbeatIntervalTicks: number;
  snapshotChunkBytes: number;
  maxMsgBytes: number;
  /** Network faults, per message. */
  lossRate: number;
  duplicateRate: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Disk fsync latency range. */
  minSyncMs: number;
  maxSyncMs: number;
  /** Per mille of synced writes whose fsync takes a long tail of up to syncTailMs more. */
  syncTailPermille: number;
  syncTailMs: number;
  /** Mean virtual time between chaos actions (crash, restart, partition, heal, transfer). */
  chaosIntervalMs: number;
  crashWeight: number;
  partitionWeight: number;
  transferWeight: number;
  /** Weight of membership changes (add learner → promote, remove); 0 = fixed membership. */
  membershipWeight: number;
  /** Nodes started outside the configuration, available to be added. */
  spareNodes: number;
  /** Take a snapshot and compact once this many entries are applied since the last one. */
  compactEveryEntries: number;
  retainEntries: number;
  clients: number;
  keys: number;
  clientTimeoutMs: number;
  faultPhaseMs: number;
  /** After the fault phase: a leader and a committed-and-applied-everywhere proposal within this. */
  livenessBoundMs: number;
}

function pick<T>(r: SeededRandom, xs: readonly T[]): T {
  return xs[r.nextInt(xs.length)]!;
}

function range(r: SeededRandom, lo: number, hi: number): number {
  return lo + r.nextInt(hi - lo + 1);
}

export function deriveOptions(seed: number): SimOptions {
  const r = new SeededRandom(seed);
  const clusterSize = pick(r, [3, 5] as const);
  const skewPct = pick(r, [0, 5, 20, 40]);
  const membershipWeight = pick(r, [0, 1, 2]);
  return {
    seed,
    clusterSize,
    baseTickMs: 10,
    tickSkew: Array.from({ length: clusterSize + 2 }, () => 1 + (r.nextInt(2 * skewPct + 1) - skewPct) / 100),
    electionTimeoutTicks: pick(r, [8, 10, 15]),
    heartbeatIntervalTicks: pick(r, [1, 2, 3]),
    snapshotChunkBytes: pick(r, [64, 256, 4096]),
    maxMsgBytes: pick(r, [64, 1024, 65536]),
    lossRate: pick(r, [0, 0.01, 0.05, 0.15]),
    duplicateRate: pick(r, [0, 0.02, 0.1]),
    minDelayMs: range(r, 0, 2),
    maxDelayMs: pick(r, [3, 10, 30, 60]),
    minSyncMs: 0,
    maxSyncMs: pick(r, [0, 2, 8]),
    syncTailPermille: pick(r, [0, 10, 50]),
    syncTailMs: pick(r, [20, 100, 400]),
    chaosIntervalMs: pick(r, [100, 250, 600]),
    crashWeight: pick(r, [0, 1, 3]),
    partitionWeight: pick(r, [0, 1, 3]),
    transferWeight: pick(r, [0, 1]),
    membershipWeight,
    spareNodes: membershipWeight > 0 ? range(r, 1, 2) : 0,
    compactEveryEntries: pick(r, [5, 20, 80]),
    retainEntries: pick(r, [0, 2, 10]),
    clients: range(r, 2, 4),
    keys: range(r, 1, 3),
    clientTimeoutMs: pick(r, [200, 500]),
    faultPhaseMs: range(r, 3000, 8000),
    livenessBoundMs: 8000,
  };
}
