// Admin operations of a PkiNode: withdraw a node, set or remove a certificate profile, mint a
// join token. Each one is a global event (every AZ applies it) committed through the node's
// committer; an answer is given only after the commit.
import { createHash } from 'node:crypto';
import { randomSerial } from '../../ca/serial.ts';
import { validateProfile } from '../../ca/profile-validate.ts';
import { encodeJoinToken, newJoinTokenClaims } from '../../cluster/join-token.ts';
import { PkiError, ignorePkiCode } from '../../errors.ts';
import type { PkiEvent, PlainData } from '../../state/events.ts';
import { nodeRevocations } from '../ca/ca-revocation.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';
import type { PkiTwoTier } from '../core/roles.ts';
import type { PeerRequest, PeerResponse, RefoundedAz, RemovedAz, RemovedNode } from '../peer/protocol.ts';
import { AzAdmin, type AzDeclaration, type DeclaredAz } from './az-admin.ts';
import { AzRefound, type RefoundRequest } from './az-refound.ts';
import type { AzAdminTwoTier } from './global-seat.ts';

export interface JoinTokenRequest {
  az: string;
  ttlSeconds: number;
  /** Optional: the node id the token is minted for (`sub`). */
  nodeId?: string;
}

export interface IssuedJoinToken {
  token: string;
  tokenId: string;
  az: string;
  expiresAt: number;
}

const PROFILE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export class AdminServices {
  private readonly azs: AzAdmin;
  private readonly refound: AzRefound;

  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az' | 'kek' | 'nowMs' | 'random' | 'peers' | 'sleepTicks'>,
    private readonly twoTier: AzAdminTwoTier & Pick<PkiTwoTier, 'changeLocalMembership'>,
    private readonly state: () => PkiStateQueries,
    private readonly commit: (event: PkiEvent, tier: 'global') => Promise<unknown>,
    /** The other AZs' local leaders this node's health checks found (membership/). */
    otherAzLeaders: () => ReadonlyMap<string, string>,
    /** Makes and commits a new AZ ICA under the root; its issuer id (founding/, for re-founding). */
    newAzIca: (az: string) => Promise<string>,
  ) {
    const removeNode = (nodeId: string, requestedBy: string): Promise<RemovedNode> => this.removeNode(nodeId, requestedBy);
    this.azs = new AzAdmin(ctx, twoTier, state, (event) => commit(event, 'global'), removeNode, otherAzLeaders);
    this.refound = new AzRefound(ctx, twoTier, state, (event) => commit(event, 'global'), removeNode, otherAzLeaders, newAzIca);
  }

  /** Re-founds an AZ whose nodes are all gone (az-refound.ts); `forwarded` for a peer's request. */
  refoundAz(request: RefoundRequest, forwarded = false): Promise<RefoundedAz> {
    return this.refound.refoundAz(request, forwarded);
  }

  /** A peer's `refoundAz` (this node should be its AZ's local leader; it does not forward again). */
  async answerRefoundAz(request: Extract<PeerRequest, { kind: 'refoundAz' }>): Promise<PeerResponse> {
    return { kind: 'azRefounded', refound: await this.refoundAz(request, true) };
  }

  /** Declares an AZ ahead of its nodes (az-admin.ts). */
  addAz(az: AzDeclaration, requestedBy: string): Promise<DeclaredAz> {
    return this.azs.addAz(az, requestedBy);
  }

  /** Decommissions an AZ (az-admin.ts); `forwarded` for a peer's request (no second hop). */
  removeAz(name: string, requestedBy: string, forwarded = false): Promise<RemovedAz> {
    return this.azs.removeAz(name, requestedBy, forwarded);
  }

  /** A peer's `removeAz` (this node should be its AZ's local leader; it does not forward again). */
  async answerRemoveAz(request: Extract<PeerRequest, { kind: 'removeAz' }>): Promise<PeerResponse> {
    return { kind: 'azRemoved', removal: await this.removeAz(request.name, request.requestedBy, true) };
  }

  /**
   * Withdraws a node's identity: its node ICA and TLS certificates are revoked
   * (cessationOfOperation, RFC 5280 §5.3.1), then `NodeRemoved`. A registration under the same id
   * is refused afterwards (its certificates stay revoked in the state). When the node is a member
   * of this AZ's local group and this node leads it, it also leaves the group now (Raft §4.1, one
   * change at a time through the consensus layer); a node of another AZ leaves its group from
   * that AZ's local leader's maintenance (membership/local-members.ts advanceLocalMembers), which applies the
   * same `NodeRemoved` from the global log.
   */
  async removeNode(nodeId: string, requestedBy: string): Promise<RemovedNode> {
    const store = this.state();
    const events = await nodeRevocations({ nodeId, reason: 'cessationOfOperation', nowMs: this.ctx.nowMs(), requestedBy, store });
    // A revocation that a retried commit (commitOk retries transient failures) finds already
    // applied was committed by the first attempt: the goal is reached, not refused.
    for (const ev of events) await this.commit(ev, 'global').catch((e: unknown) => ignorePkiCode(e, 'ERR_ALREADY_REVOKED'));
    await this.commit({ type: 'NodeRemoved', nodeId, reason: `removed by ${requestedBy}`, at: this.ctx.nowMs() }, 'global');
    const consensus = this.twoTier;
    const conf = consensus.status().local.confState;
    const member = [...conf.voters, ...conf.learners].includes(nodeId);
    if (member && nodeId !== this.ctx.nodeId && consensus.isLocalLeader()) {
      // A change already pending is refused by the core: maintenance takes the node out later.
      await consensus.changeLocalMembership({ changes: [{ op: 'removeNode', nodeId }] }).catch(() => {});
    }
    return { nodeId, revoked: events.map((e) => ({ issuerId: e.issuerId, serialHex: e.serialHex })) };
  }

  /** Validates the profile (ERR_PROFILE_INVALID) and commits `ProfileSet`; the log wins over a built-in. */
  async setProfile(name: string, profile: unknown): Promise<void> {
    if (!PROFILE_NAME.test(name)) throw new PkiError('ERR_INPUT_INVALID', 'profile name: 1–64 letters, digits, _ or -, starting with a letter', { field: 'name' });
    const valid = validateProfile(profile);
    // CA certificates are made only by the cluster itself (root, AZ and node ICAs, with their own
    // built-in profiles): a profile set through the API issues leaves, and never signs anything.
    const caUsages = valid.keyUsage.filter((u) => u === 'keyCertSign' || u === 'cRLSign');
    if (valid.basicConstraints.ca || caUsages.length > 0) {
      throw new PkiError('ERR_PROFILE_INVALID', `profile ${name}: a profile set through the API issues leaves only (no basicConstraints.ca, no ${['keyCertSign', 'cRLSign'].join(' or ')})`, {
        field: valid.basicConstraints.ca ? 'profile.basicConstraints.ca' : 'profile.keyUsage',
      });
    }
    if (valid.name !== name) throw new PkiError('ERR_PROFILE_INVALID', `profile.name ${JSON.stringify(valid.name)} differs from ${JSON.stringify(name)}`, { field: 'profile.name' });
    // The validated copy holds only JSON values: it is plain data for the log.
    const data = JSON.parse(JSON.stringify(valid)) as { [key: string]: PlainData };
    await this.commit({ type: 'ProfileSet', name, profile: data }, 'global');
  }

  /** ERR_PROFILE_UNKNOWN when no profile of that name was set through the log. */
  async removeProfile(name: string): Promise<void> {
    if ((await this.state().getProfile(name)) === undefined) {
      throw new PkiError('ERR_PROFILE_UNKNOWN', `no profile ${JSON.stringify(name)} was set`, { field: 'name' });
    }
    await this.commit({ type: 'ProfileRemoved', name }, 'global');
  }

  /**
   * Records the token (`JoinTokenIssued`: its id, AZ and expiry, never the token) and returns the
   * HS256 JWT (RFC 7519) signed with `key`. The id is 128 random bits, like a serial number.
   */
  async issueJoinToken(request: JoinTokenRequest, key: Uint8Array): Promise<IssuedJoinToken> {
    const store = this.state();
    const cluster = await store.cluster();
    if (!cluster) throw new PkiError('ERR_NOT_FOUND', 'this node holds no cluster yet');
    if ((await store.getAz(request.az)) === undefined) throw new PkiError('ERR_AZ_UNKNOWN', `AZ ${request.az} is not part of the cluster`, { field: 'az' });
    const nowMs = this.ctx.nowMs();
    const nowSeconds = Math.floor(nowMs / 1000);
    const claims = newJoinTokenClaims({
      jti: randomSerial(this.ctx.random),
      az: request.az,
      clusterId: cluster.clusterId,
      nowSeconds,
      ttlSeconds: request.ttlSeconds,
      ...(request.nodeId === undefined ? {} : { sub: request.nodeId }),
      rootSha256: await this.rootSha256(cluster.rootIssuerId),
    });
    const token = await encodeJoinToken(claims, key);
    const expiresAt = claims.exp * 1000;
    await this.commit({ type: 'JoinTokenIssued', tokenId: claims.jti, az: request.az, expiresAt, at: nowSeconds * 1000 }, 'global');
    return { token, tokenId: claims.jti, az: request.az, expiresAt };
  }

  /** The pin a token-only node trusts the root by (join-token.ts `rootSha256`). */
  private async rootSha256(rootIssuerId: string): Promise<string> {
    const root = await this.state().getCa(rootIssuerId);
    if (root === undefined) throw new PkiError('ERR_NOT_FOUND', 'this node holds no cluster root yet');
    return createHash('sha256').update(root.certDer).digest('hex');
  }
}

