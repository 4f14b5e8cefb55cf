// Raft's safety properties (Raft Figure 3), checked incrementally after every simulator step.
// Each check keeps a registry across the whole history, so a violation is caught even when the
// nodes involved have since crashed, compacted or been overwritten.
import { createHash } from 'node:crypto';
import type { Entry, NodeId } from '@adrestia/consensus';

export type ViolationKind =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'commit-term'
  | 'read-quorum'
  | 'conf-change-pending'
  | 'config-overlap'
  | 'sent-before-sync'
  | 'liveness'
  | 'linearizability'
  | 'linearizability-unknown'
  | 'hung'
  | 'invariant';

export class SafetyViolation extends Error {
  constructor(
    readonly kind: ViolationKind,
    readonly detail: string,
  ) {
    super(`${kind}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

function entryKey(e: Entry): string {
  return `${e.type}:${Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('hex')}`;
}

/** A leader's log as it stood when it was elected: enough to answer "does it hold (i, t)?". */
export interface LogView {
  snapshotIndex: number;
  termAt(index: number): number | undefined;
}

interface ElectedLeader {
  id: NodeId;
  term: number;
  snapshotIndex: number;
  /** terms[k] = term of index snapshotIndex + 1 + k. */
  terms: number[];
}

export class SafetyChecker {
  private readonly leaderByTerm = new Map<number, NodeId>();
  private readonly leaders: ElectedLeader[] = [];
  /** (index, term) → content and previous term, for Log Matching (§5.3). */
  private readonly written = new Map<string, { key: string; prevTerm: number }>();
  /** index → {entry term, term of the leader that committed it}. */
  private readonly committed = new Map<number, { term: number; commitTerm: number }>();
  private readonly applied = new Map<number, string>();

  /** Election Safety (§5.2): at most one leader per term, across the whole history. */
  observeLeader(id: NodeId, term: number, log: LogView, lastIndex: number): void {
    const prior = this.leaderByTerm.get(term);
    if (prior !== undefined) {
      if (prior !== id) throw new SafetyViolation('election-safety', `term ${term} has two leaders: ${prior} and ${id}`);
      return;
    }
    this.leaderByTerm.set(term, id);
    const terms: number[] = [];
    for (let i = log.snapshotIndex + 1; i <= lastIndex; i++) terms.push(log.termAt(i) ?? -1);
    const leader = { id, term, snapshotIndex: log.snapshotIndex, terms };
    this.leaders.push(leader);
    for (const [index, c] of this.committed) if (c.commitTerm < term) this.checkHolds(leader, index, c.term);
  }

  /** Log Matching (§5.3) on durable writes: one (index, term) names one entry with one predecessor. */
  observeDurable(node: NodeId, entries: readonly Entry[], log: LogView): void {
    for (const e of entries) {
      const prevTerm = log.termAt(e.index - 1) ?? -1;
      const k = `${e.index}/${e.term}`;
      const key = entryKey(e);
      const seen = this.written.get(k);
      if (seen === undefined) this.written.set(k, { key, prevTerm });
      else if (seen.key !== key || (seen.prevTerm !== prevTerm && prevTerm !== -1 && seen.prevTerm !== -1)) {
        throw new SafetyViolation(
          'log-matching',
          `${node} durably wrote index ${e.index} term ${e.term} differing from an earlier copy ` +
            `(content ${seen.key === key ? 'same' : 'differs'}, previous term ${seen.prevTerm} vs ${prevTerm})`,
        );
      }
    }
  }

  /** A leader of `leaderTerm` advanced its commit index to `commit`: record the commit terms. */
  observeCommit(leaderTerm: number, commit: number, log: LogView): void {
    for (let i = commit; i > log.snapshotIndex && !this.committed.has(i); i--) {
      const term = log.termAt(i);
      if (term === undefined) break;
      this.committed.set(i, { term, commitTerm: leaderTerm });
      // Leader Completeness (§5.4): every leader of a later term must hold the entry.
      for (const l of this.leaders) if (l.term > leaderTerm) this.checkHolds(l, i, term);
    }
  }

  /** State Machine Safety (§5.4.3): no two nodes apply different entries at one index. */
  observeApply(node: NodeId, e: Entry): void {
    const key = `${e.term}/${entryKey(e)}`;
    const prior = this.applied.get(e.index);
    if (prior === undefined) this.applied.set(e.index, key);
    else if (prior !== key) {
      throw new SafetyViolation('state-machine-safety', `${node} applied index ${e.index} as ${key}, another node as ${prior}`);
    }
  }

  /**
   * State Machine Safety for snapshots: the state taken at (or installed as of) an index is the
   * same on every node. Snapshot data is canonical (sorted), so equal states are equal bytes.
   */
  observeSnapshot(node: NodeId, index: number, data: Uint8Array): void {
    const digest = createHash('sha256').update(data).digest('hex');
    const prior = this.snapshots.get(index);
    if (prior === undefined) this.snapshots.set(index, { node, digest });
    else if (prior.digest !== digest) {
      throw new SafetyViolation('state-machine-safety', `${node}'s state at index ${index} differs from ${prior.node}'s snapshot there`);
    }
  }

  private readonly snapshots = new Map<number, { node: NodeId; digest: string }>();

  private checkHolds(l: ElectedLeader, index: number, term: number): void {
    if (index <= l.snapshotIndex) return;
    const has = l.terms[index - l.snapshotIndex - 1];
    if (has !== term) {
      throw new SafetyViolation(
        'leader-completeness',
        `leader ${l.id} of term ${l.term} lacks committed entry ${index} (term ${term}); it has ${has === undefined ? 'nothing' : `term ${has}`}`,
      );
    }
  }

  get leaderCount(): number {
    return this.leaders.length;
  }
}
