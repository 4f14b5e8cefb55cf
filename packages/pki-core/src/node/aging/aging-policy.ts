// Who a local leader marks inactive, marks active again, or removes from its AZ (docs/architecture.md
// §20): a pure function of how long the leader has not heard from each node, what the state
// records, and the limits. No clock and no I/O here: aging.ts measures the silences and acts.
import type { NodeActivity } from '../../state/events.ts';

export interface AgingLimits {
  /** Not heard from for this long: marked `inactive` in the cluster map. */
  readonly inactiveAfterMs: number;
  /** Not heard from for this long: removed from the local group, its node identity revoked. */
  readonly removeAfterMs: number;
  /** Heard from within this long: counts as live (for quorums, and to be marked active again). */
  readonly liveWithinMs: number;
}

/** A registered node of the local leader's AZ, the leader itself excluded. */
export interface AgingMember {
  readonly nodeId: string;
  /** Its place in the local group: `none` for a registered node not (yet) in it. */
  readonly membership: 'voter' | 'learner' | 'none';
  /** How long the local leader has not heard from it (silenceOf). */
  readonly silentMs: number;
  /** As the replicated state records it. */
  readonly inactive: boolean;
}

export interface AgingInput {
  /** The AZ's registered nodes other than the leader (the leader is a voter and live). */
  readonly members: readonly AgingMember[];
  /** A membership change is under way (a removal not yet out of the group, a joint configuration). */
  readonly changePending: boolean;
}

export interface AgingDecision {
  readonly marks: readonly { nodeId: string; activity: NodeActivity }[];
  /** At most one node to remove this round (Raft thesis §4.1: one change at a time). */
  readonly remove: string | null;
}

/** Raft §5.2: a majority of the voters. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** TypeError for limits that cannot work: 0 < liveWithin < inactiveAfter < removeAfter. */
export function checkAgingLimits(l: AgingLimits): void {
  const ok = [l.liveWithinMs, l.inactiveAfterMs, l.removeAfterMs].every((v) => Number.isSafeInteger(v) && v > 0) && l.liveWithinMs < l.inactiveAfterMs && l.inactiveAfterMs < l.removeAfterMs;
  if (!ok) throw new TypeError('aging limits: need 0 < liveWithinMs < inactiveAfterMs < removeAfterMs (integer ms)');
}

/**
 * The silence aging counts for a node: what this leader observed itself, on its monotonic clock.
 * A node the state records inactive since `inactiveSince` (an earlier leader's last contact, wall
 * clock) is credited that longer silence only once this leader has itself not heard from it for
 * `inactiveAfterMs`: a new leader confirms the silence before it relies on a wall-clock record,
 * and a wall clock that steps forward alone never removes a node that answers.
 */
export function silenceOf(input: { ownSilentMs: number; inactiveSince: number | null; nowMs: number }, limits: AgingLimits): number {
  if (input.inactiveSince === null || input.ownSilentMs < limits.inactiveAfterMs) return input.ownSilentMs;
  return Math.max(input.ownSilentMs, input.nowMs - input.inactiveSince);
}

/**
 * This round's marks and removal. Marks: `inactive` after `inactiveAfterMs` of silence, `active`
 * again once heard from within `liveWithinMs`. Removal, one node at a time and none while a change
 * is pending: the longest-silent node past `removeAfterMs`, non-voters first; a voter only when
 * the live voters are a quorum of the group as it is (so the change can commit) and of the group
 * without it (so it still commits after) — a 3-voter group with 2 dead removes no one, since its
 * one live voter is no majority of either (Raft thesis §4.1, §4.2.1).
 */
export function agingDecision(input: AgingInput, limits: AgingLimits): AgingDecision {
  checkAgingLimits(limits);
  const marks: { nodeId: string; activity: NodeActivity }[] = [];
  for (const m of input.members) {
    if (!m.inactive && m.silentMs >= limits.inactiveAfterMs) marks.push({ nodeId: m.nodeId, activity: 'inactive' });
    else if (m.inactive && m.silentMs < limits.liveWithinMs) marks.push({ nodeId: m.nodeId, activity: 'active' });
  }
  return { marks, remove: input.changePending ? null : removable(input.members, limits) };
}

function removable(members: readonly AgingMember[], limits: AgingLimits): string | null {
  const voters = members.filter((m) => m.membership === 'voter');
  // The leader counts: it is a voter and hears itself.
  const votersTotal = voters.length + 1;
  const liveVoters = voters.filter((m) => m.silentMs < limits.liveWithinMs).length + 1;
  const dead = members
    .filter((m) => m.silentMs >= limits.removeAfterMs)
    .sort((a, b) => Number(a.membership === 'voter') - Number(b.membership === 'voter') || b.silentMs - a.silentMs || (a.nodeId < b.nodeId ? -1 : 1));
  for (const m of dead) {
    if (m.membership !== 'voter') return m.nodeId;
    if (liveVoters >= quorumOf(votersTotal) && liveVoters >= quorumOf(votersTotal - 1)) return m.nodeId;
  }
  return null;
}
