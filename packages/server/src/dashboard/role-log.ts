// The leader roles this node took, newest last, kept for the dashboard's "recent leader changes":
// every node keeps its own (PkiNodeApi.onRoleChange), and the dashboard merges them by time.
import type { PkiNodeApi } from '@adrestia/pki-core';

/** Entries kept per node: the dashboard shows the latest few of the whole cluster. */
const ROLE_CHANGES_MAX = 32;

export interface RoleChange {
  atMs: number;
  nodeId: string;
  az: string;
  tier: 'local' | 'global';
  term: number;
}

export class RoleLog {
  private readonly changes: RoleChange[] = [];
  private readonly unsubscribe: () => void;

  /** A founder became leader during start-up, before anyone listened: the roles held now count once. */
  constructor(
    private readonly node: Pick<PkiNodeApi, 'nodeId' | 'az' | 'status' | 'onRoleChange'>,
    private readonly nowMs: () => number,
  ) {
    const s = node.status();
    if (s.local.role === 'leader') this.record('local', s.local.term);
    if (s.pkiGlobalLeader) this.record('global', s.global.term);
    this.unsubscribe = node.onRoleChange((e) => {
      if (e.leader) this.record(e.tier, e.term);
    });
  }

  recent(): RoleChange[] {
    return [...this.changes];
  }

  stop(): void {
    this.unsubscribe();
  }

  private record(tier: 'local' | 'global', term: number): void {
    // A tier may report the same leadership more than once (a role event per lease change): one entry per term.
    if (this.changes.some((c) => c.tier === tier && c.term === term)) return;
    this.changes.push({ atMs: this.nowMs(), nodeId: this.node.nodeId, az: this.node.az, tier, term });
    if (this.changes.length > ROLE_CHANGES_MAX) this.changes.shift();
  }
}
