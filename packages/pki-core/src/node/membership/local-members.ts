// Who is in this AZ's local group, moved along by its local leader one change at a time (Raft
// thesis §4.2.1): a withdrawn member leaves, a registered node joins as a learner, a caught-up
// learner becomes a voter.
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';
import type { PkiTwoTier } from '../core/roles.ts';

type LocalStatus = ReturnType<PkiTwoTier['status']>['local'];

export class LocalMembers {
  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az'>,
    private readonly twoTier: Pick<PkiTwoTier, 'status' | 'changeLocalMembership' | 'transferLocalLeadership'>,
    private readonly state: () => PkiStateQueries,
  ) {}

  /**
   * One local membership step (thesis §4.2.1, one change at a time): a member recorded withdrawn
   * in the state (`NodeRemoved` from any AZ's admin, through the global log) leaves the group —
   * this leader itself only after handing its role to another voter (thesis §3.10); else a
   * registered node of this AZ not yet in the group joins as a learner; else a learner that has
   * caught up with the leader's log becomes a voter.
   */
  async advanceLocalMembers(): Promise<void> {
    const s = this.twoTier.status().local;
    if (s.role !== 'leader') return;
    const store = this.state();
    const [registered, withdrawn, ownAz] = await Promise.all([store.nodes(), this.withdrawnNodes(), store.getAz(this.ctx.az)]);
    const members = [...s.confState.voters, ...s.confState.learners];
    const leaving = members.find((id) => withdrawn.has(id) && id !== this.ctx.nodeId);
    if (!leaving && withdrawn.has(this.ctx.nodeId)) return this.handOffLocalLeadership(s);
    // An AZ being removed takes in no one (its seat is leaving the global group).
    const accepting = ownAz !== undefined && ownAz.phase !== 'removing';
    const joining = accepting ? registered.find((n) => n.az === this.ctx.az && !members.includes(n.nodeId)) : undefined;
    const caughtUp = s.confState.learners.find((id) => !withdrawn.has(id) && (s.progress?.[id]?.match ?? -1) >= s.commit);
    const change = leaving
      ? { op: 'removeNode' as const, nodeId: leaving }
      : joining
        ? { op: 'addLearner' as const, nodeId: joining.nodeId }
        : caughtUp
          ? { op: 'addVoter' as const, nodeId: caughtUp }
          : null;
    // A change already pending is refused by the core: the next maintenance round tries again.
    if (change) await this.twoTier.changeLocalMembership({ changes: [change] }).catch(() => {});
  }

  /** Node ids of this AZ whose node ICA is revoked and that are no longer registered (removeNode's end state). */
  private async withdrawnNodes(): Promise<Set<string>> {
    const store = this.state();
    const [registered, cas] = await Promise.all([store.nodes(), store.cas()]);
    const live = new Set(registered.map((n) => n.nodeId));
    return new Set(cas.filter((c) => c.role === 'node' && c.nodeId !== null && c.revokedAt !== null && !live.has(c.nodeId)).map((c) => c.nodeId!));
  }

  /** This node was removed (or its AZ decommissioned): it stops acting. */
  async selfWithdrawn(): Promise<boolean> {
    return (await this.withdrawnNodes()).has(this.ctx.nodeId);
  }

  /** Thesis §3.10: to the most caught-up other voter; with no other voter the AZ has no one to hand to. */
  private async handOffLocalLeadership(s: LocalStatus): Promise<void> {
    const others = s.confState.voters.filter((id) => id !== this.ctx.nodeId);
    const best = others.sort((a, b) => (s.progress?.[b]?.match ?? 0) - (s.progress?.[a]?.match ?? 0))[0];
    if (best !== undefined) await this.twoTier.transferLocalLeadership(best).catch(() => {});
  }
}
