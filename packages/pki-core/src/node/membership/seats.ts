// The AZ seats of the global group, moved along by the global leader: a founded AZ's seat joins as
// a learner, then a voter once caught up (Raft thesis §4.2.1); the seat of an AZ being removed is
// never (re)added (admin/az-admin.ts takes it out).
import type { PkiStateQueries } from '../../state/queries.ts';
import type { PkiTwoTier } from '../core/roles.ts';

export class Seats {
  /** Seats added as learners by this global leader, to promote once caught up. */
  private readonly pendingSeats = new Set<string>();
  /** AZs being removed, as of the last maintenance round: their seats are not promoted. */
  private readonly retiringSeats = new Set<string>();

  constructor(
    private readonly twoTier: Pick<PkiTwoTier, 'status' | 'changeGlobalMembership'>,
    private readonly state: () => PkiStateQueries,
  ) {}

  /**
   * The global leader adds an AZ's seat: learner first, voter once caught up (thesis §4.2.1).
   * Membership changes go one at a time, so seats founded together queue here and maintenance
   * moves each along as the previous change is applied.
   */
  addSeat(az: string): void {
    this.pendingSeats.add(az);
    this.advanceSeats();
  }

  /** Seats of AZs being removed or gone are never (re)added: az-admin.ts takes them out. */
  async pruneRemovedSeats(): Promise<void> {
    for (const az of [...this.pendingSeats]) {
      const rec = await this.state().getAz(az);
      if (!rec || rec.phase === 'removing') this.pendingSeats.delete(az);
    }
    this.retiringSeats.clear();
    for (const rec of await this.state().azs()) if (rec.phase === 'removing') this.retiringSeats.add(rec.name);
  }

  /** One global membership step for the queued seats: add a learner, or promote a caught-up one. */
  advanceSeats(): void {
    const s = this.twoTier.status().seat;
    if (!s || s.role !== 'leader') return;
    for (const az of [...this.pendingSeats, ...s.confState.learners]) {
      if (this.retiringSeats.has(az)) continue;
      if (s.confState.voters.includes(az)) {
        this.pendingSeats.delete(az);
        continue;
      }
      const learner = s.confState.learners.includes(az);
      const p = s.progress?.[az];
      if (learner && !(p && p.match >= s.commit)) continue;
      try {
        this.twoTier.changeGlobalMembership({ changes: [{ op: learner ? 'addVoter' : 'addLearner', nodeId: az }] });
      } catch {
        // Another change is pending: the next maintenance round tries again.
      }
      return;
    }
  }
}
