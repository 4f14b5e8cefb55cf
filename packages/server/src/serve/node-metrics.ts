// Raft figures of the node for /metrics (docs/spec.md §12.4): term, commit and applied index per
// tier (sampled by the caller's periodic timer), and leader changes counted from the role events.
import type { PkiNodeApi } from '@adrestia/pki-core';
import type { Metrics } from '../metrics/metrics.ts';

export function sampleNodeMetrics(node: PkiNodeApi, metrics: Metrics): void {
  const s = node.status();
  for (const [group, tier] of [['local', s.local], ['global', s.global]] as const) {
    metrics.raftTerm.set({ group }, tier.term);
    metrics.raftCommitIndex.set({ group }, tier.commitIndex);
    metrics.raftAppliedIndex.set({ group }, tier.appliedIndex);
  }
}

/**
 * Counts this node becoming leader of a tier; returns the unsubscribe. A founder became leader
 * during start-up, before anyone could listen: the roles it holds when counting starts count once.
 */
export function countLeaderChanges(node: PkiNodeApi, metrics: Metrics): () => void {
  const s = node.status();
  if (s.local.role === 'leader') metrics.raftLeaderChangesTotal.inc({ group: 'local' });
  if (s.pkiGlobalLeader) metrics.raftLeaderChangesTotal.inc({ group: 'global' });
  return node.onRoleChange((e) => {
    if (e.leader) metrics.raftLeaderChangesTotal.inc({ group: e.tier });
  });
}
