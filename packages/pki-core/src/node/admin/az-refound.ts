// Re-founding an AZ whose nodes are all gone (docs/architecture.md §17, `cluster az refound`).
// The AZ's local log went with its nodes, and with it the durable state of its seat (term, vote,
// log: §3.2), so no new group may simply act for that seat: a seat that forgot its vote or the
// entries it acknowledged breaks Raft's election and commitment rules (Raft §5.2, §5.4). Runs on
// the local leader of another AZ (a follower hands it over), in order:
//   1. the seat leaves the global group (one change at a time, Raft thesis §4.1), counted as dead
//      for the majority check;
//   2. each node of the AZ is withdrawn as `removeNode` does (node ICA and TLS certificates revoked,
//      cessationOfOperation, then `NodeRemoved`);
//   3. a new AZ ICA is made under the root and committed wrapped under the KEK (as at founding,
//      founding/ca-found.ts); the old AZ ICA stays valid for the leaves it chains;
//   4. `AzRefounded`: the AZ is declared again, so its next fresh node founds it (§5.3) and its
//      seat rejoins as a new member, learner first, then voter once caught up (thesis §4.2.1);
//   5. a CRL of each earlier AZ ICA, published globally (az-ica-global-crl.ts): it lists the old
//      nodes' certificates at once in every AZ, and its number is above any the lost AZ reached,
//      so the new local leader's CRLs of that ICA continue above it (RFC 5280 §5.2.3).
// Refused, changing nothing, while the AZ still answers (unless forced), and for an unknown AZ.
import { PkiError } from '../../errors.ts';
import type { PkiEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { currentCa, validCasOf } from '../ca/current-ca.ts';
import type { NodeContext } from '../core/context.ts';
import { asPkiCode } from '../core/event-proposer.ts';
import type { RefoundedAz, RemovedNode } from '../peer/protocol.ts';
import { azIcaGlobalCrl } from './az-ica-global-crl.ts';
import { checkAzName } from './az-spec.ts';
import { GlobalSeat, type AzAdminTwoTier } from './global-seat.ts';

/** The earlier AZ ICAs' CRL promises no successor sooner than this: time to start the AZ's new nodes, whose local leader re-signs it. */
const EARLIER_AZ_ICA_CRL_NEXT_UPDATE_SECONDS = 7 * 24 * 3600;

export interface RefoundRequest {
  name: string;
  requestedBy: string;
  /** Re-found even though a node or the seat of the AZ seemed to answer. */
  force: boolean;
}

export class AzRefound {
  private readonly seat: GlobalSeat;

  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az' | 'kek' | 'nowMs' | 'peers' | 'sleepTicks'>,
    private readonly twoTier: AzAdminTwoTier,
    private readonly state: () => PkiStateQueries,
    private readonly commit: (event: PkiEvent) => Promise<unknown>,
    private readonly removeNode: (nodeId: string, requestedBy: string) => Promise<RemovedNode>,
    private readonly otherAzLeaders: () => ReadonlyMap<string, string>,
    /** Makes and commits a new AZ ICA for the AZ under the root; its issuer id (founding/). */
    private readonly newAzIca: (az: string) => Promise<string>,
  ) {
    this.seat = new GlobalSeat(ctx, twoTier, otherAzLeaders);
  }

  /** See the file comment; `forwarded` for a peer's request (no second hop). */
  async refoundAz(request: RefoundRequest, forwarded = false): Promise<RefoundedAz> {
    const name = checkAzName(request.name);
    if (!this.twoTier.isLocalLeader()) {
      if (forwarded) throw new PkiError('ERR_NOT_LEADER', `${this.ctx.nodeId} is not the local leader of ${this.ctx.az}; retry`);
      return this.forward(request);
    }
    const az = await this.state().getAz(name);
    if (!az) throw new PkiError('ERR_AZ_UNKNOWN', `AZ ${name} is not part of the cluster`, { field: 'name' });
    if (az.phase === 'removing') throw new PkiError('ERR_AZ_REMOVING', `AZ ${name} is being removed`, { field: 'name' });
    if (name === this.ctx.az) throw new PkiError('ERR_AZ_SELF', `node ${this.ctx.nodeId} belongs to AZ ${name}: ask a node of another AZ to re-found it`, { field: 'name' });
    // Declared (a retried call that completed, or an AZ never founded): its next node founds it.
    if (az.phase === 'declared' && !this.seat.isMember(name)) return { name, nodes: [], azIcaIssuerId: (await this.currentAzIca(name)) ?? null, refounded: false };
    if (!request.force) await this.refuseLive(name);
    this.seat.refuseRemoval(name, true);
    await this.seat.remove(name);
    const nodes: RemovedNode[] = [];
    for (const n of (await this.state().nodes()).filter((x) => x.az === name)) nodes.push(await this.removeNode(n.nodeId, request.requestedBy));
    const azIcaIssuerId = await this.newAzIca(name);
    await this.commit({ type: 'AzRefounded', name, requestedBy: request.requestedBy, at: this.ctx.nowMs() });
    await this.publishEarlierAzIcaCrls(name, azIcaIssuerId);
    return { name, nodes, azIcaIssuerId, refounded: true };
  }

  private async publishEarlierAzIcaCrls(name: string, newIssuerId: string): Promise<void> {
    const store = this.state();
    for (const ica of validCasOf(await store.cas(), { azIcaOf: name }, this.ctx.nowMs()).filter((c) => c.issuerId !== newIssuerId)) {
      await this.commit(await azIcaGlobalCrl({ store, issuerId: ica.issuerId, kek: this.ctx.kek, nowMs: this.ctx.nowMs(), nextUpdateSeconds: EARLIER_AZ_ICA_CRL_NEXT_UPDATE_SECONDS }));
    }
  }

  private async currentAzIca(name: string): Promise<string | undefined> {
    return currentCa(await this.state().cas(), { azIcaOf: name }, this.ctx.nowMs())?.issuerId;
  }

  /**
   * ERR_AZ_LIVE when the AZ shows a live local group: this node's health checks found its local
   * leader, its seat answers the global leader (replication progress), or one of its registered
   * nodes answers a ping now.
   */
  private async refuseLive(name: string): Promise<void> {
    const refuse = (why: string): never => {
      throw new PkiError('ERR_AZ_LIVE', `AZ ${name} still has a live local group (${why}): stop its nodes, or pass --force if they are gone for good`, { field: 'name' });
    };
    const leader = this.otherAzLeaders().get(name);
    if (leader !== undefined) refuse(`node ${leader} answered as its local leader`);
    if (this.seat.liveSeats()?.has(name) === true) refuse('its seat answers the global leader');
    const members = (await this.state().nodes()).filter((n) => n.az === name);
    const answers = await Promise.all(members.map((n) => this.ctx.peers.call(n.nodeId, { kind: 'ping' }).then((r) => (r.kind === 'pong' ? n.nodeId : null), () => null)));
    const answering = answers.filter((id) => id !== null);
    if (answering.length > 0) refuse(`node ${answering.join(', ')} answers`);
  }

  private async forward(request: RefoundRequest): Promise<RefoundedAz> {
    const leaderId = this.twoTier.status().local.leaderId;
    if (leaderId === null || leaderId === this.ctx.nodeId) throw new PkiError('ERR_NO_LOCAL_QUORUM', `AZ ${this.ctx.az} has no local leader now; retry`);
    const answer = await this.ctx.peers.call(leaderId, { kind: 'refoundAz', ...request });
    if (answer.kind === 'azRefounded') return answer.refound;
    if (answer.kind === 'error') throw new PkiError(asPkiCode(answer.code), answer.message);
    throw new PkiError('ERR_EVENT_REJECTED', `unexpected answer ${answer.kind} to refoundAz from ${leaderId}`);
  }
}
