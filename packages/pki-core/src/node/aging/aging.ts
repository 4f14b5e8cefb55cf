// Aging out dead nodes (docs/architecture.md §20). Each maintenance round the AZ's local leader
// notes which of its AZ's nodes it heard from — a ping answered (membership/health.ts) or a Raft
// response since the last check-quorum round (`recentActive`, raft-core.ts) — on its own
// monotonic clock, and acts on agingDecision (aging-policy.ts): marks nodes inactive or active
// again (`NodeActivityMarked`, a global event, so every AZ's map agrees) and removes one node past
// `removeAfterMs` as an admin would (admin/admin-services.ts removeNode: node ICA and TLS
// certificate revoked, `NodeRemoved`, out of the local group one change at a time).
import type { ApplyOutcome } from '../../state/outcome.ts';
import type { PkiEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeRecord } from '../../state/records.ts';
import type { NodeContext } from '../core/context.ts';
import type { PkiTwoTier, RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import type { RemovedNode } from '../peer/protocol.ts';
import { agingDecision, checkAgingLimits, silenceOf, type AgingLimits, type AgingMember } from './aging-policy.ts';

/** What the local leader last knew of a node, on its monotonic clock. */
interface Contact {
  /** When this leader began to watch it: silence counts from here until it is first heard. */
  readonly trackedSinceMono: number;
  readonly lastSeenMono: number | null;
  /** The wall-clock time of the last contact, for the `lastSeenAt` of a mark. */
  readonly lastSeenWall: number | null;
}

export interface AgingParts {
  readonly roles: Pick<RoleView, 'isLocalLeader'>;
  readonly twoTier: Pick<PkiTwoTier, 'status'>;
  readonly state: () => PkiStateQueries;
  /** One attempt at a global commit: a failed mark is proposed again next round. */
  readonly commitGlobal: (event: PkiEvent) => Promise<ApplyOutcome>;
  /** Withdraws a node (admin/admin-services.ts removeNode). */
  readonly removeNode: (nodeId: string, requestedBy: string) => Promise<RemovedNode>;
  /** Whether the node answered this leader's latest ping (membership/health.ts). */
  readonly answeredLastPing: (nodeId: string) => boolean;
}

export class NodeAging {
  private readonly contacts = new Map<string, Contact>();

  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az' | 'nowMs' | 'monotonicMs' | 'onError'>,
    private readonly parts: AgingParts,
    private readonly limits: AgingLimits,
    maintenance: MaintenanceRegistry,
  ) {
    checkAgingLimits(limits);
    maintenance.add({ name: 'node aging', run: () => this.ageNodes() });
  }

  private async ageNodes(): Promise<void> {
    if (!this.parts.roles.isLocalLeader()) {
      // A new local leader watches from scratch: silence it did not observe is not counted.
      this.contacts.clear();
      return;
    }
    const store = this.parts.state();
    const [nodes, az] = await Promise.all([store.nodes(), store.getAz(this.ctx.az)]);
    // An AZ being decommissioned withdraws its nodes itself (admin/az-admin.ts).
    if (az?.phase !== 'active' || !nodes.some((n) => n.nodeId === this.ctx.nodeId)) return;
    const ours = nodes.filter((n) => n.az === this.ctx.az && n.nodeId !== this.ctx.nodeId);
    const members = this.observe(ours);
    const local = this.parts.twoTier.status().local;
    const registered = new Set(nodes.map((n) => n.nodeId));
    const inGroup = [...local.confState.voters, ...local.confState.learners];
    // A member no longer registered is a removal on its way out of the group (local-members.ts).
    const changePending = local.confState.votersOutgoing.length > 0 || inGroup.some((id) => !registered.has(id));
    const decision = agingDecision({ members, changePending }, this.limits);
    for (const mark of decision.marks) await this.mark(mark.nodeId, mark.activity);
    if (decision.remove !== null) await this.parts.removeNode(decision.remove, `aging:${this.ctx.nodeId}`);
  }

  /** Notes this round's contacts and returns each node's place, silence and recorded activity. */
  private observe(ours: readonly NodeRecord[]): AgingMember[] {
    const mono = this.ctx.monotonicMs();
    const wall = this.ctx.nowMs();
    const local = this.parts.twoTier.status().local;
    const known = new Set(ours.map((n) => n.nodeId));
    for (const id of [...this.contacts.keys()]) if (!known.has(id)) this.contacts.delete(id);
    return ours.map((n) => {
      const heard = this.parts.answeredLastPing(n.nodeId) || local.progress?.[n.nodeId]?.recentActive === true;
      const before = this.contacts.get(n.nodeId) ?? { trackedSinceMono: mono, lastSeenMono: null, lastSeenWall: null };
      const contact = heard ? { ...before, lastSeenMono: mono, lastSeenWall: wall } : before;
      this.contacts.set(n.nodeId, contact);
      const ownSilentMs = mono - (contact.lastSeenMono ?? contact.trackedSinceMono);
      const membership = local.confState.voters.includes(n.nodeId) ? 'voter' : local.confState.learners.includes(n.nodeId) ? 'learner' : 'none';
      const silentMs = silenceOf({ ownSilentMs, inactiveSince: n.inactiveSince ?? null, nowMs: wall }, this.limits);
      return { nodeId: n.nodeId, membership, silentMs, inactive: n.inactiveSince !== undefined };
    });
  }

  private async mark(nodeId: string, activity: 'active' | 'inactive'): Promise<void> {
    const at = this.ctx.nowMs();
    const c = this.contacts.get(nodeId);
    const ownSilentMs = c ? this.ctx.monotonicMs() - (c.lastSeenMono ?? c.trackedSinceMono) : 0;
    const lastSeenAt = Math.min(at, c?.lastSeenWall ?? at - Math.ceil(ownSilentMs));
    const outcome = await this.parts.commitGlobal({ type: 'NodeActivityMarked', nodeId, activity, lastSeenAt, at });
    // A node removed meanwhile is no longer registered: nothing to mark.
    if (!outcome.ok && outcome.error.code !== 'ERR_NODE_UNKNOWN') this.ctx.onError(new Error(`NodeActivityMarked ${nodeId} ${activity} rejected: ${outcome.error.message}`));
  }
}
