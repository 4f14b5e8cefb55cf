// Admin AZ operations (docs/spec.md §9.2, §9.3): declare an AZ ahead of its nodes, and
// decommission one. Every step is a global commit, so every AZ sees the same map.
//
// Removal runs on the local leader of an AZ other than the one removed (it acts for its own seat,
// which proposes the global membership change; a follower hands the request to it). In order:
//   1. `AzRemovalStarted`: from here no node registers in the AZ and no seat of it is (re)added;
//   2. the AZ's seat leaves the global group (one change at a time, Raft thesis §4.1) — before its
//      nodes are withdrawn, so a seat whose vote the change still needs (two AZs left) can give it
//      while peers still accept its nodes, and afterwards can neither vote nor be elected;
//   3. each node is withdrawn as `removeNode` does (node ICA and TLS certificates revoked,
//      cessationOfOperation, then `NodeRemoved`); a final CRL of the AZ ICA lists them, and the
//      AZ ICA itself is revoked under the root (the global leader's root CRL lists it);
//   4. `AzRemoved`.
// Each step is skipped when the state shows it done, so a retried request completes a partial run.
import { PkiError, ignorePkiCode, isPkiError } from '../../errors.ts';
import type { PkiEvent } from '../../state/events.ts';
import type { AzRecord } from '../../state/records.ts';
import { buildRevocation } from '../ca/ca-revocation.ts';
import { asPkiCode } from '../core/event-proposer.ts';
import { azIcaGlobalCrl } from './az-ica-global-crl.ts';
import { checkAzName, checkAzSpec } from './az-spec.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';
import { GlobalSeat, type AzAdminTwoTier } from './global-seat.ts';
import type { RemovedAz, RemovedNode } from '../peer/protocol.ts';

export interface AzDeclaration {
  name: string;
  subnets: string[];
  localVip: string;
}

export interface DeclaredAz {
  az: AzRecord;
  /** False when the same declaration was already in the state (a retried request). */
  created: boolean;
}

/** The final CRL of a removed AZ's ICA promises no successor sooner than this. */
const FINAL_CRL_NEXT_UPDATE_SECONDS = 7 * 24 * 3600;

type Commit = (event: PkiEvent) => Promise<unknown>;
type RemoveNode = (nodeId: string, requestedBy: string) => Promise<RemovedNode>;

export class AzAdmin {
  private readonly seat: GlobalSeat;

  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az' | 'kek' | 'nowMs' | 'peers' | 'sleepTicks'>,
    private readonly twoTier: AzAdminTwoTier,
    private readonly state: () => PkiStateQueries,
    private readonly commit: Commit,
    private readonly removeNode: RemoveNode,
    /** The other AZs' local leaders this node's health checks found (membership/). */
    otherAzLeaders: () => ReadonlyMap<string, string>,
  ) {
    this.seat = new GlobalSeat(ctx, twoTier, otherAzLeaders);
  }

  /**
   * Commits `AzDeclared`; the AZ's first node then founds it (founding/founding.ts createAz).
   * Declaring again what is already declared (a retried request) answers the AZ with
   * `created: false`.
   */
  async addAz(input: AzDeclaration, requestedBy: string): Promise<DeclaredAz> {
    const store = this.state();
    if (!(await store.cluster())) throw new PkiError('ERR_NOT_FOUND', 'this node holds no cluster yet');
    const same = await this.sameDeclaration(input);
    if (same) return { az: same, created: false };
    const az = checkAzSpec(input, await store.azs());
    const at = this.ctx.nowMs();
    try {
      await this.commit({ type: 'AzDeclared', az, requestedBy, at });
    } catch (e) {
      // A retried commit may find its own first attempt applied.
      const applied = isPkiError(e, 'ERR_ALREADY_EXISTS') ? await this.sameDeclaration(input) : undefined;
      if (!applied) throw e;
      return { az: applied, created: false };
    }
    // Committed (and applied by the local leader that proposed it; this node may apply it later).
    return { az: { name: az.name, subnets: az.subnets, localVip: az.localVip, founderNodeId: null, addedAt: at, phase: 'declared' }, created: true };
  }

  /** The AZ of that name when it was declared (or founded) with exactly these subnets and VIP. */
  private async sameDeclaration(input: AzDeclaration): Promise<AzRecord | undefined> {
    const existing = typeof input.name === 'string' ? await this.state().getAz(input.name) : undefined;
    if (!existing || existing.phase === 'removing' || !Array.isArray(input.subnets)) return undefined;
    const sorted = (xs: readonly string[]) => JSON.stringify([...xs].sort());
    return sorted(existing.subnets) === sorted(input.subnets) && existing.localVip === input.localVip ? existing : undefined;
  }

  /** See the file comment; refusals are checked first and change nothing. */
  async removeAz(name: string, requestedBy: string, forwarded = false): Promise<RemovedAz> {
    checkAzName(name);
    const twoTier = this.twoTier;
    if (!twoTier.isLocalLeader()) {
      if (forwarded) throw new PkiError('ERR_NOT_LEADER', `${this.ctx.nodeId} is not the local leader of ${this.ctx.az}; retry`);
      return this.forward(name, requestedBy);
    }
    const az = await this.state().getAz(name);
    if (!az) throw new PkiError('ERR_AZ_UNKNOWN', `AZ ${name} is not part of the cluster`, { field: 'name' });
    await this.refuseUnsafe(name);
    if (az.phase !== 'removing') await this.commit({ type: 'AzRemovalStarted', name, requestedBy, at: this.ctx.nowMs() });
    await this.seat.remove(name);
    const nodes: RemovedNode[] = [];
    for (const n of (await this.state().nodes()).filter((x) => x.az === name)) nodes.push(await this.removeNode(n.nodeId, requestedBy));
    const revoked = await this.retireAzIca(name, requestedBy);
    await this.commit({ type: 'AzRemoved', name, at: this.ctx.nowMs() });
    return { name, nodes, revoked };
  }

  private async forward(name: string, requestedBy: string): Promise<RemovedAz> {
    const leaderId = this.twoTier.status().local.leaderId;
    if (leaderId === null || leaderId === this.ctx.nodeId) throw new PkiError('ERR_NO_LOCAL_QUORUM', `AZ ${this.ctx.az} has no local leader now; retry`);
    const answer = await this.ctx.peers.call(leaderId, { kind: 'removeAz', name, requestedBy });
    if (answer.kind === 'azRemoved') return answer.removal;
    if (answer.kind === 'error') throw new PkiError(asPkiCode(answer.code), answer.message);
    throw new PkiError('ERR_EVENT_REJECTED', `unexpected answer ${answer.kind} to removeAz from ${leaderId}`);
  }

  /**
   * The refusals: the last founded AZ (ERR_AZ_LAST); this node's own AZ (ERR_AZ_SELF: its seat
   * would leave the group it must commit the rest through); then those of any seat removal
   * (global-seat.ts): the AZ whose seat leads the global group (ERR_AZ_GLOBAL_LEADER), a removal
   * after which the global voters could not reach a majority (ERR_GLOBAL_MAJORITY).
   */
  private async refuseUnsafe(name: string): Promise<void> {
    const others = (await this.state().azs()).filter((a) => a.name !== name && a.phase === 'active');
    if (others.length === 0) throw new PkiError('ERR_AZ_LAST', `AZ ${name} is the cluster's last AZ; it cannot be removed`, { field: 'name' });
    if (name === this.ctx.az) {
      throw new PkiError('ERR_AZ_SELF', `node ${this.ctx.nodeId} belongs to AZ ${name}: ask a node of another AZ to remove it`, { field: 'name' });
    }
    this.seat.refuseRemoval(name, false);
  }

  /**
   * The AZ ICA's last CRL (listing the node certificates it revoked above, published globally so
   * every AZ serves it), then the AZ ICA itself revoked under the root. The key is unwrapped with
   * the operator's KEK, as any node of the cluster can.
   */
  private async retireAzIca(name: string, requestedBy: string): Promise<{ issuerId: string; serialHex: string }[]> {
    const store = this.state();
    const cluster = await store.cluster();
    const revoked: { issuerId: string; serialHex: string }[] = [];
    for (const ica of (await store.cas()).filter((c) => c.role === 'az' && c.az === name && c.revokedAt === null)) {
      await this.commit(await azIcaGlobalCrl({ store, issuerId: ica.issuerId, kek: this.ctx.kek, nowMs: this.ctx.nowMs(), nextUpdateSeconds: FINAL_CRL_NEXT_UPDATE_SECONDS }));
      if (!cluster || ica.parentIssuerId === null) continue;
      const event = await buildRevocation({
        issuerId: ica.parentIssuerId,
        serialHex: ica.serialHex,
        reason: 'cessationOfOperation',
        nowMs: this.ctx.nowMs(),
        requestedBy,
        store,
      }).catch((e: unknown) => ignorePkiCode(e, 'ERR_ALREADY_REVOKED'));
      if (!event) continue;
      await this.commit(event).catch((e: unknown) => ignorePkiCode(e, 'ERR_ALREADY_REVOKED'));
      revoked.push({ issuerId: event.issuerId, serialHex: event.serialHex });
    }
    return revoked;
  }
}
