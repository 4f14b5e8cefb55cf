// The status of certificates by serial, for OCSP answers (docs/architecture.md §14). The AZ that
// issued a certificate is the one that knows whether it exists (leaves are local, §4.1) and the one
// every revocation of it is handed to (revocation-routing.ts), so it answers after a linearizable
// read (§4.6): whatever that AZ acknowledged — an issuance or a revocation — shows. Another AZ asks
// a node of the issuing AZ (peer `ocspStatus`). A serial the cluster never issued is `unknown`,
// never `good` (RFC 6960 §2.2).
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { normalizeSerialHex } from '../../ca/serial.ts';
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord } from '../../state/records.ts';
import type { NodeContext } from '../core/context.ts';
import type { ReadView } from '../core/read-view.ts';
import type { OcspPeerStatus, PeerRequest, PeerResponse } from '../peer/protocol.ts';

/** A serial as the state keys it, or null for one that is not a serial (a peer's input). */
function canonicalSerial(serialHex: string): string | null {
  try {
    return normalizeSerialHex(serialHex);
  } catch {
    return null;
  }
}

export class OcspStatusLookup {
  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'nodeId' | 'peers'>,
    private readonly reads: ReadView,
    /** Other AZs' local leaders as this node's health checks last saw them (membership/). */
    private readonly otherAzLeaders: () => ReadonlyMap<string, string>,
  ) {}

  /** Statuses of `serials` (null: a serial no CA of ours issues) under `issuer`, in order. */
  async statuses(issuer: CaRecord, serials: readonly (string | null)[]): Promise<OcspPeerStatus[]> {
    if (issuer.role === 'node' && issuer.az !== null && issuer.az !== this.ctx.az) return this.askIssuingAz(issuer.az, issuer.issuerId, serials);
    return this.localStatuses(await this.reads.linearizable(), issuer, serials);
  }

  /** A peer's `ocspStatus`: this AZ issued the certificates. */
  async answerPeer(request: Extract<PeerRequest, { kind: 'ocspStatus' }>): Promise<PeerResponse> {
    const store = await this.reads.linearizable();
    const issuer = await store.getCa(request.issuerId);
    if (issuer === undefined) throw new PkiError('ERR_ISSUER_UNKNOWN', `issuer ${request.issuerId} is unknown`, { field: 'issuerId' });
    return { kind: 'ocspStatus', statuses: await this.localStatuses(store, issuer, request.serialHexes.map(canonicalSerial)) };
  }

  private async localStatuses(store: PkiStateQueries, issuer: CaRecord, serials: readonly (string | null)[]): Promise<OcspPeerStatus[]> {
    const out: OcspPeerStatus[] = [];
    for (const serialHex of serials) out.push(serialHex === null ? { kind: 'unknown' } : await this.localStatus(store, issuer, serialHex));
    return out;
  }

  private async localStatus(store: PkiStateQueries, issuer: CaRecord, serialHex: string): Promise<OcspPeerStatus> {
    const revoked = await store.getRevocation(issuer.issuerId, serialHex);
    if (revoked !== undefined) return { kind: 'revoked', revokedAt: revoked.revokedAt, reason: revoked.reason };
    if (await store.hasCertificate(issuer.issuerId, serialHex)) return { kind: 'good' };
    // Node TLS certificates, signed by the AZ ICA, live on their node records (state/apply-cluster.ts).
    if (issuer.role === 'az' && (await this.isNodeTlsCertificate(store, issuer, serialHex))) return { kind: 'good' };
    return { kind: 'unknown' };
  }

  private async isNodeTlsCertificate(store: PkiStateQueries, issuer: CaRecord, serialHex: string): Promise<boolean> {
    for (const node of await store.nodes()) {
      if (node.az === issuer.az && readCertificateFields(node.tlsCertDer).serialHex === serialHex) return true;
    }
    return false;
  }

  /** Asks the issuing AZ: its local leader first, then its other nodes; ERR_TIMEOUT when none answers. */
  private async askIssuingAz(az: string, issuerId: string, serials: readonly (string | null)[]): Promise<OcspPeerStatus[]> {
    const leader = this.otherAzLeaders().get(az);
    const members = (await this.reads.applied().nodes()).filter((n) => n.az === az).map((n) => n.nodeId);
    const targets = [...new Set([...(leader === undefined ? [] : [leader]), ...members])];
    const serialHexes = serials.map((s) => s ?? '00');
    let lastError: unknown;
    for (const nodeId of targets) {
      try {
        const answer = await this.ctx.peers.call(nodeId, { kind: 'ocspStatus', issuerId, serialHexes });
        if (answer.kind === 'ocspStatus' && answer.statuses.length === serials.length) {
          return answer.statuses.map((s, i) => (serials[i] === null ? { kind: 'unknown' } : s));
        }
        lastError = answer.kind === 'error' ? new PkiError('ERR_TIMEOUT', `${nodeId}: ${answer.message}`) : new Error(`${nodeId} answered ${answer.kind}`);
      } catch (e) {
        lastError = e;
      }
    }
    throw new PkiError('ERR_TIMEOUT', `no node of AZ ${az} answered for issuer ${issuerId}`, { cause: lastError });
  }
}
