// The PKI roles of this node (PkiNodeStatus pkiLocalLeader, pkiGlobalLeader), as the two tiers
// show them right now. Each question asks the consensus node afresh: a role may change between two
// awaits, so a feature asks at the moment it acts, never caches the answer.
import type { TwoTierNode } from '@adrestia/consensus';
import type { PkiApplyResult } from './pki-application.ts';

/** The consensus node under a PkiNode. */
export type PkiTwoTier = TwoTierNode<PkiApplyResult>;

export class RoleView {
  constructor(private readonly twoTier: Pick<PkiTwoTier, 'isLocalLeader' | 'isGlobalLeader' | 'hasLocalLease' | 'status'>) {}

  /** This node leads its AZ's local group (it may act for the AZ's seat). */
  isLocalLeader(): boolean {
    return this.twoTier.isLocalLeader();
  }

  /** This node's seat leads the global group: this node is the cluster's global leader. */
  isGlobalLeader(): boolean {
    return this.twoTier.isGlobalLeader();
  }

  /** The local leader's check-quorum lease holds (no other node can lead the AZ meanwhile). */
  hasLocalLease(): boolean {
    return this.twoTier.hasLocalLease();
  }

  /** This node acts for its AZ's seat in the global group. */
  hasSeat(): boolean {
    return this.twoTier.status().seat !== null;
  }

  /** The local leader of this AZ as this node knows it. */
  localLeaderId(): string | null {
    return this.twoTier.status().local.leaderId;
  }

  /** The AZ whose seat leads the global group, as this node's seat sees it (null without a seat). */
  leadingSeat(): string | null {
    return this.twoTier.status().seat?.leaderId ?? null;
  }
}
