// Taking an AZ's seat out of the global group, for AZ removal (az-admin.ts) and re-founding
// (az-refound.ts): one membership change at a time (Raft thesis §4.1), proposed through the seat
// this node acts for, and refused up front when the group could not commit it or would be left
// without a majority of live voters.
import { PkiError } from '../../errors.ts';
import type { NodeContext } from '../core/context.ts';
import type { PkiTwoTier } from '../core/roles.ts';

/** How often (in ticks) a membership change not yet applied is proposed again (a forwarded one may be lost). */
const SEAT_CHANGE_RETRY_TICKS = 40;
/** How long a seat removal waits for the change to apply, in ticks. */
const SEAT_CHANGE_WAIT_TICKS = 4000;

/** What a seat change asks of the consensus node: roles, the seat's view, the seat's membership change. */
export type AzAdminTwoTier = Pick<PkiTwoTier, 'isLocalLeader' | 'status' | 'changeGlobalMembership'>;

export class GlobalSeat {
  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az' | 'sleepTicks'>,
    private readonly twoTier: AzAdminTwoTier,
    /** The other AZs' local leaders this node's health checks found (membership/). */
    private readonly otherAzLeaders: () => ReadonlyMap<string, string>,
  ) {}

  /**
   * Refusals before seat `name` leaves: this node must act for its seat (ERR_NOT_LEADER), a
   * global leader must be known (ERR_NO_GLOBAL_QUORUM) and must not be `name`'s seat
   * (ERR_AZ_GLOBAL_LEADER: it would commit its own removal), and the change must commit under
   * the old configuration and leave a live majority (ERR_GLOBAL_MAJORITY). `deadSeat` counts
   * `name` as not answering (re-founding an AZ whose nodes are gone).
   */
  refuseRemoval(name: string, deadSeat: boolean): void {
    const seat = this.twoTier.status().seat;
    if (!seat) throw new PkiError('ERR_NOT_LEADER', `the seat of AZ ${this.ctx.az} is not active on ${this.ctx.nodeId} yet; retry`);
    if (seat.leaderId === name) {
      throw new PkiError('ERR_AZ_GLOBAL_LEADER', `AZ ${name}'s seat leads the global group: stop its nodes (or wait until another AZ leads), then retry`, { field: 'name' });
    }
    if (seat.leaderId === null) throw new PkiError('ERR_NO_GLOBAL_QUORUM', 'no global leader now; retry');
    const voters = seat.confState.voters;
    if (!voters.includes(name)) return;
    const remaining = voters.filter((v) => v !== name);
    const live = this.liveSeats();
    if (live !== null && deadSeat) live.delete(name);
    const isLive = (v: string): boolean => (live === null ? !(deadSeat && v === name) : live.has(v));
    // Raft §4.1: the change commits under the old configuration, then the rest must hold a majority.
    const needOld = Math.floor(voters.length / 2) + 1;
    const needNew = Math.floor(remaining.length / 2) + 1;
    const liveRemaining = remaining.filter(isLive).length;
    const liveOld = voters.filter(isLive).length;
    if (remaining.length === 0 || liveRemaining < needNew || liveOld < needOld) {
      throw new PkiError(
        'ERR_GLOBAL_MAJORITY',
        `taking AZ ${name}'s seat out would leave the global group without a voter majority (${liveRemaining} of ${remaining.length} remaining voters answer; ${needNew} needed)`,
        { field: 'name' },
      );
    }
  }

  /**
   * Seats known to answer, on the global leader (its health checks of the other AZs' local
   * leaders, or the seat's own replication progress); null elsewhere, where only counts are checked.
   */
  liveSeats(): Set<string> | null {
    const seat = this.twoTier.status().seat;
    if (!seat || seat.role !== 'leader' || !seat.progress) return null;
    const live = new Set<string>([this.ctx.az, ...this.otherAzLeaders().keys()]);
    for (const [id, p] of Object.entries(seat.progress)) if (p.recentActive) live.add(id);
    return live;
  }

  /** Whether `name` is in the global configuration, as voter, learner or outgoing voter. */
  isMember(name: string): boolean {
    const seat = this.twoTier.status().seat;
    const cs = seat?.confState;
    return cs !== undefined && [...cs.voters, ...cs.learners, ...cs.votersOutgoing].includes(name);
  }

  /** One membership change, proposed again until applied in this seat (lost forwards are retried). */
  async remove(name: string): Promise<void> {
    const twoTier = this.twoTier;
    for (let tick = 0; tick < SEAT_CHANGE_WAIT_TICKS; tick++) {
      const seat = twoTier.status().seat;
      if (!seat) throw new PkiError('ERR_NOT_LEADER', `${this.ctx.nodeId} stopped acting for its seat; retry`);
      if (!this.isMember(name)) return;
      if (tick % SEAT_CHANGE_RETRY_TICKS === 0) {
        try {
          twoTier.changeGlobalMembership({ changes: [{ op: 'removeNode', nodeId: name }] });
        } catch {
          // Another change is pending or no leader is known: proposed again on a later round.
        }
      }
      await this.ctx.sleepTicks(1);
    }
    throw new PkiError('ERR_NO_GLOBAL_QUORUM', `the global group did not apply the removal of seat ${name} in time; retry`);
  }
}
