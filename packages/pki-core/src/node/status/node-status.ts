// What a node reports about itself (GET /api/v1/status, Phase I discovery): its roles in both
// tiers and whether it is ready (a removed node never is again: /readyz answers 503). The cluster
// id and the removal are refreshed once a maintenance round, so `status()` stays synchronous and cheap.
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';
import type { PkiTwoTier } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import type { PkiNodeStatus, TierStatus } from '../pki-node-api.ts';

export class NodeStatus {
  private clusterId: string | null = null;
  /** This node was removed from the cluster (its node CA is revoked): it is never ready again. */
  private removed = false;

  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az' | 'ownKeys'>,
    private readonly twoTier: Pick<PkiTwoTier, 'status' | 'hasLocalLease' | 'isGlobalLeader'>,
    private readonly state: () => PkiStateQueries,
    maintenance: MaintenanceRegistry,
  ) {
    maintenance.add({ name: 'cluster id', run: () => this.refreshClusterId() });
  }

  private async refreshClusterId(): Promise<void> {
    const state = this.state();
    this.clusterId = (await state.cluster())?.clusterId ?? null;
    this.removed = (await state.cas()).some((c) => c.role === 'node' && c.nodeId === this.ctx.nodeId && c.revokedAt !== null);
  }

  status(): PkiNodeStatus {
    const s = this.twoTier.status();
    const learner = s.local.confState.learners.includes(this.ctx.nodeId);
    const local: TierStatus = {
      role: learner ? 'learner' : s.local.role,
      term: s.local.term,
      leaderId: s.local.leaderId,
      commitIndex: s.local.commit,
      appliedIndex: s.local.appliedIndex,
    };
    const global: TierStatus = s.seat
      ? { role: s.seat.role, term: s.seat.term, leaderId: s.seat.leaderId, commitIndex: s.seat.commit, appliedIndex: s.globalApplied }
      : { role: 'inactive', term: 0, leaderId: null, commitIndex: 0, appliedIndex: s.globalApplied };
    return {
      nodeId: this.ctx.nodeId,
      az: this.ctx.az,
      clusterId: this.clusterId,
      pkiLocalLeader: this.twoTier.hasLocalLease(),
      pkiGlobalLeader: this.twoTier.isGlobalLeader(),
      local,
      global,
      ready: this.ctx.ownKeys.get() !== null && this.clusterId !== null && !learner && !this.removed,
    };
  }
}
