// Revocation on a node: a certificate of this AZ is revoked here (`Revoked`, global, so every AZ
// records it); one issued by another AZ is handed to that AZ (revocation-routing.ts), so a client
// may ask any AZ. CRLs are served as applied here and kept current by crl-refresh.ts.
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { buildRevocation } from '../ca/ca-revocation.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { PublicBaseUrls } from '../ca/public-base-urls.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { ReadView } from '../core/read-view.ts';
import type { RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import type { PeerRequest, PeerResponse } from '../peer/protocol.ts';
import type { RevokeRequest } from '../pki-node-api.ts';
import { CrlRefresh } from './crl-refresh.ts';
import { forwardRevocation, revocationTargetAzs } from './revocation-routing.ts';

export class Revocation {
  /** Keeps the CRLs this node owns current (its tasks run from maintenance). */
  private readonly crls: CrlRefresh;

  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'kek' | 'nowMs' | 'peers' | 'ownKeys' | 'crlNextUpdateSeconds' | 'crlDeltaAboveBytes' | 'onError'>,
    roles: RoleView,
    private readonly reads: ReadView,
    ownCa: OwnCa,
    urls: PublicBaseUrls,
    private readonly committer: Committer,
    maintenance: MaintenanceRegistry,
  ) {
    this.crls = new CrlRefresh(ctx, roles, () => reads.applied(), ownCa, urls, committer, maintenance);
  }

  /**
   * Revokes a certificate of this AZ; one issued by another AZ is handed to that AZ (node/
   * revocation/revocation-routing.ts). `forwarded` requests come from another AZ and are never
   * passed on again.
   */
  async revoke(request: RevokeRequest, forwarded = false): Promise<{ revokedAt: number }> {
    const store = await this.reads.linearizable();
    const routing = { request, az: this.ctx.az, store, peers: this.ctx.peers };
    const elsewhere = forwarded ? [] : await revocationTargetAzs(routing);
    if (elsewhere.length > 0) return forwardRevocation(routing, elsewhere);
    const issuerId = request.issuerId ?? (await this.issuerOfSerial(store, request.serialHex));
    const event = await buildRevocation({
      issuerId,
      serialHex: request.serialHex,
      reason: request.reason,
      nowMs: this.ctx.nowMs(),
      requestedBy: request.requestedBy,
      store,
    });
    const outcome = await this.committer.commit(event, 'global');
    if (!outcome.ok) throw new PkiError(outcome.error.code, outcome.error.message);
    return { revokedAt: event.revokedAt };
  }

  /** A peer's `revoke`: another AZ hands over a certificate this AZ issued. */
  async answerForwarded(request: Extract<PeerRequest, { kind: 'revoke' }>): Promise<PeerResponse> {
    return { kind: 'revoked', ...(await this.revoke(request, true)) };
  }

  /** The issuing AZ holds the certificate (another AZ hands revocations to it: revocation-routing.ts). */
  private async issuerOfSerial(store: PkiStateQueries, serialHex: string): Promise<string> {
    const found = await store.findBySerial(serialHex);
    if (found.length === 1) return found[0]!.issuerId;
    if (found.length > 1) throw new PkiError('ERR_INPUT_INVALID', `serial ${serialHex} is used by several issuers: name the issuer`, { field: 'issuerId' });
    throw new PkiError('ERR_NOT_FOUND', `no certificate ${serialHex} was issued in AZ ${this.ctx.az}`, { field: 'serialHex' });
  }

  /** The latest CRL (DER) of a CA, as applied here: CRLs are public and say themselves how fresh they are (thisUpdate). */
  async getCrl(issuerId: string): Promise<Uint8Array | null> {
    return (await this.reads.applied().latestCrl(issuerId))?.crlDer ?? null;
  }

  /**
   * Partition `partition` of a node ICA's CRL (DER, RFC 5280 §5.2.5; crl-partitions.ts), as applied
   * here; null for an issuer without partitions or a partition it does not have.
   */
  async getPartitionCrl(issuerId: string, partition: number): Promise<Uint8Array | null> {
    return (await this.reads.applied().latestPartitionCrl(issuerId, partition))?.crlDer ?? null;
  }

  /** An AZ ICA's indirect CRL (DER, RFC 5280 §5.2.5; indirect-crl.ts), or partition `partition` of it, as applied here. */
  async getIndirectCrl(azIcaIssuerId: string, partition?: number): Promise<Uint8Array | null> {
    return (await this.reads.applied().latestIndirectCrl(azIcaIssuerId, partition))?.crlDer ?? null;
  }

  /**
   * The delta CRL (DER) that updates the issuer's latest complete CRL, as applied here (RFC 5280
   * §5.2.4); null when there is none, or only one for an older complete CRL or already expired.
   */
  async getDeltaCrl(issuerId: string): Promise<Uint8Array | null> {
    const store = this.reads.applied();
    const [complete, delta] = [await store.latestCrl(issuerId), await store.latestDeltaCrl(issuerId)];
    const current = complete !== undefined && delta?.baseCrlNumber === complete.crlNumber && delta.nextUpdate > this.ctx.nowMs();
    return current ? delta.crlDer : null;
  }
}
