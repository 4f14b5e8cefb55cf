// Group membership and liveness, each step run by the node that owns it (maintenance/):
//   - a withdrawn node (removed, or its AZ decommissioned) stops acting: as local leader it only
//     hands its role to another voter, which then takes it out of the group;
//   - the local leader moves its group's membership along and health-checks its AZ's nodes;
//   - the global leader moves the seats along;
//   - every local leader and the global leader health-check the other AZs.
import type { HealthState } from '../../cluster/node-health.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';
import type { PkiTwoTier, RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import type { PeerResponse } from '../peer/protocol.ts';
import { HealthChecks } from './health.ts';
import { LocalMembers } from './local-members.ts';
import { Seats } from './seats.ts';

export class Membership {
  private readonly local: LocalMembers;
  private readonly seats: Seats;
  private readonly health: HealthChecks;

  constructor(
    ctx: Pick<NodeContext, 'nodeId' | 'az' | 'nowMs' | 'peers'>,
    private readonly roles: RoleView,
    twoTier: Pick<PkiTwoTier, 'isLocalLeader' | 'status' | 'changeLocalMembership' | 'transferLocalLeadership' | 'changeGlobalMembership'>,
    state: () => PkiStateQueries,
    maintenance: MaintenanceRegistry,
  ) {
    this.local = new LocalMembers(ctx, twoTier, state);
    this.seats = new Seats(twoTier, state);
    this.health = new HealthChecks(ctx, twoTier, state);
    maintenance.add({ name: 'withdrawn node hands over', run: () => this.stopIfWithdrawn() });
    maintenance.add({ name: 'local group', run: () => this.maintainLocalGroup() });
    maintenance.add({ name: 'global seats', run: () => this.maintainSeats() });
    maintenance.add({ name: 'other AZs', run: () => this.checkOtherAzs() });
  }

  private async stopIfWithdrawn(): Promise<void | 'endRound'> {
    if (!(await this.local.selfWithdrawn())) return;
    if (this.roles.isLocalLeader()) await this.local.advanceLocalMembers();
    return 'endRound';
  }

  private async maintainLocalGroup(): Promise<void> {
    if (this.roles.isLocalLeader()) {
      await this.local.advanceLocalMembers();
      await this.health.checkAzHealth();
    } else if (!this.roles.isGlobalLeader()) {
      this.health.forgetAzHealth();
    }
  }

  private async maintainSeats(): Promise<void> {
    if (!this.roles.isGlobalLeader()) return;
    await this.seats.pruneRemovedSeats();
    this.seats.advanceSeats();
  }

  private async checkOtherAzs(): Promise<void> {
    if (this.roles.isGlobalLeader() || this.roles.isLocalLeader()) await this.health.checkOtherAzs();
    else this.health.forgetOtherAzs();
  }

  /** One local membership step now (LocalMembers.advanceLocalMembers), e.g. right after a registration. */
  advanceLocalMembers(): Promise<void> {
    return this.local.advanceLocalMembers();
  }

  /** On the global leader: queue a founded AZ's seat (Seats.addSeat). */
  addSeat(az: string): void {
    this.seats.addSeat(az);
  }

  healthOf(nodeId: string): HealthState | null {
    return this.health.healthOf(nodeId);
  }

  otherAzLeaders(): ReadonlyMap<string, string> {
    return this.health.otherAzLeaders();
  }

  answeredLastPing(nodeId: string): boolean {
    return this.health.answeredLastPing(nodeId);
  }

  /** A peer's `ping`. */
  answerPing(): Promise<PeerResponse> {
    return Promise.resolve(this.health.pong());
  }
}
