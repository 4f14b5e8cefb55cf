// Raft figures of the node for /metrics (docs/spec.md §12.4): term, commit and applied index per
// tier (sampled by the caller's periodic timer), and leader changes counted from the role events;
// and what PkiNodeApi.operatorReport says (replication and apply lag per tier, VIPs held,
// revocations, CRL age and size, CA expiry), sampled less often since it reads the state.
import type { OperatorReport, PkiNodeApi } from '@adrestia/pki-core';
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

/** The operator report reads every CA, CRL and revocation held: not on every timer tick. */
const OPERATOR_SAMPLE_INTERVAL_MS = 5_000;

export class OperatorMetricsSampler {
  private inFlight = false;
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly node: Pick<PkiNodeApi, 'operatorReport'>,
    private readonly metrics: Metrics,
    private readonly nowMs: () => number,
  ) {}

  /** Samples unless one is under way or the last was less than the interval ago; whether it sampled. */
  async maybeSample(): Promise<boolean> {
    if (this.inFlight || this.nowMs() - this.lastMs < OPERATOR_SAMPLE_INTERVAL_MS) return false;
    this.inFlight = true;
    try {
      const report = await this.node.operatorReport();
      this.lastMs = this.nowMs();
      setOperatorGauges(this.metrics, report, this.lastMs);
      return true;
    } finally {
      this.inFlight = false;
    }
  }
}

/** Replaces every operator gauge's series at once (no await in between, so no scrape sees half). */
export function setOperatorGauges(m: Metrics, r: OperatorReport, nowMs: number): void {
  for (const g of [m.raftReplicationLagEntries, m.raftApplyLagEntries, m.vipHeld, m.revocations, m.crlAgeSeconds, m.crlBytes, m.caExpirySeconds]) g.reset();
  for (const [group, tier] of [['local', r.local], ['global', r.global]] as const) {
    m.raftApplyLagEntries.set({ group }, tier.applyLagEntries);
    for (const member of tier.members ?? []) m.raftReplicationLagEntries.set({ group, member: member.id }, member.lagEntries);
  }
  for (const v of r.vips) m.vipHeld.set({ vip: v.address, scope: v.scope }, v.held ? 1 : 0);
  for (const [issuer, count] of Object.entries(r.revocationsByIssuer)) m.revocations.set({ issuer }, count);
  for (const c of r.crls) {
    m.crlAgeSeconds.set({ issuer: c.issuerId }, (nowMs - c.thisUpdateMs) / 1000);
    m.crlBytes.set({ issuer: c.issuerId }, c.bytes);
  }
  for (const ca of r.cas) m.caExpirySeconds.set({ issuer: ca.issuerId, role: ca.role, az: ca.az ?? '', ca_node: ca.nodeId ?? '' }, (ca.notAfterMs - nowMs) / 1000);
}
