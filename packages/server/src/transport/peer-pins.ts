// Which certificate a peer naming a node id may present, on the Raft mesh and the peer endpoint:
// exactly the TLS certificate registered for that node in the replicated state
// (PkiNodeApi.nodeTlsPins: SHA-256 of the DER, for nodes whose node CA and TLS certificate are
// unrevoked). A chain to the cluster root and a `urn:adrestia:node:<uuid>` SAN (identity.ts) are
// not enough: a leaf of any node ICA, or of a custom profile issued before node/ca/reserved-names.ts
// kept those names out of leaves, carries both. The registered certificate was issued by the
// node's own AZ ICA (pki-core node/registration/node-registration.ts signs it with that AZ's ICA),
// so an exact match also proves the issuer. The check is a Map lookup: it runs on every handshake
// and every peer request, from the state the peer directory polls (serve/peer-directory.ts).
//
// A node renews its TLS certificate (pki-core node/ca/node-renewal.ts) and presents the new one
// once it has applied its `NodeRenewed`; a peer that has not applied it yet (down, or behind in
// the log) still pins the old one, and if it refused the new one it could never be sent the entry
// that registers it. So a certificate that is not the pinned one is also admitted as that node's
// renewal when it names the node, is signed by an unrevoked AZ ICA of the node's AZ (what
// registration and renewal sign node TLS certificates with; a leaf of a node ICA never is) and
// begins after the registered one. Once the renewal is applied here the exact pin rules again,
// except that the certificate it replaced stays admitted for PREDECESSOR_GRACE_MS: the renewing
// node may not have applied its own `NodeRenewed` yet, and only its peers, which now pin the new
// certificate, can send it that entry (Raft §5.3: the leader's AppendEntries bring a follower up
// to date); until then it cannot present the new certificate (serve/node-tls.ts reads it from
// its own record). After the grace the old certificate is refused.
import type { X509Certificate } from 'node:crypto';
import { ServerError } from '../errors.ts';
import { DEFAULT_NODE_URI_PREFIX, nodeIdOf } from './identity.ts';

/** What recognises a renewed TLS certificate not applied here yet. */
export interface RenewalView {
  /** Node id → its AZ and the notBefore of its registered TLS certificate. */
  readonly registered: ReadonlyMap<string, { readonly az: string; readonly notBeforeMs: number }>;
  /** AZ → its unrevoked AZ ICA certificates. */
  readonly azIcas: ReadonlyMap<string, readonly X509Certificate[]>;
}

const NO_RENEWALS: RenewalView = { registered: new Map(), azIcas: new Map() };

/** How long the certificate a renewal replaced is still admitted, from the moment the renewal is seen here. */
export const PREDECESSOR_GRACE_MS = 30_000;

export class PeerPins {
  /** Node id → SHA-256 (hex) of its registered TLS certificate's DER. */
  private pins: ReadonlyMap<string, string> = new Map();
  /** Node ids whose identity was withdrawn (node CA revoked, or removed). */
  private withdrawn: ReadonlySet<string> = new Set();
  private renewals: RenewalView = NO_RENEWALS;
  /** Node id → the pin its renewal replaced and until when (monotonic ms) it is still admitted. */
  private predecessors = new Map<string, { sha256: string; untilMs: number }>();

  constructor(
    private readonly selfId: string,
    private readonly monotonicMs: () => number = () => performance.now(),
  ) {}

  /** From PkiNodeApi.nodeTlsPins, withdrawnNodeIds, listNodes and azIcaCertificates, read together. */
  update(pins: ReadonlyMap<string, string>, withdrawn: ReadonlySet<string>, renewals: RenewalView = NO_RENEWALS): void {
    const nowMs = this.monotonicMs();
    const predecessors = new Map<string, { sha256: string; untilMs: number }>();
    for (const [id, pin] of pins) {
      const before = this.pins.get(id);
      const kept = this.predecessors.get(id);
      if (before !== undefined && before !== pin) predecessors.set(id, { sha256: before, untilMs: nowMs + PREDECESSOR_GRACE_MS });
      else if (kept !== undefined && kept.untilMs > nowMs && kept.sha256 !== pin) predecessors.set(id, kept);
    }
    this.predecessors = predecessors;
    this.pins = pins;
    this.withdrawn = withdrawn;
    this.renewals = renewals;
  }

  /**
   * Whether this node's state has reached its own registration (or its removal). From then on it
   * holds every node registered before it, and applies later registrations in log order.
   */
  get knowsItself(): boolean {
    return this.pins.has(this.selfId) || this.withdrawn.has(this.selfId);
  }

  /**
   * The peer endpoint: ERR_TRANSPORT_PEER_REFUSED unless `certSha256` is the certificate
   * registered for `nodeId`, or `cert` (that certificate, when the caller has it) is its renewal.
   */
  requirePinned(nodeId: string, certSha256: string, cert?: X509Certificate): void {
    const pinned = this.pins.get(nodeId);
    if (pinned === certSha256) return;
    if (this.withdrawn.has(nodeId)) throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `node ${nodeId} was revoked or removed`);
    if (pinned !== undefined && this.isPredecessor(nodeId, certSha256)) return;
    if (pinned === undefined) throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `node ${nodeId} has no registered, unrevoked TLS certificate`);
    if (cert !== undefined && this.isRenewalOf(nodeId, cert)) return;
    throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `node ${nodeId} presents another certificate than the one registered for it`);
  }

  /**
   * The Raft mesh, inbound and outbound: as `requirePinned`, except while this node has not
   * applied its own registration. A joiner catching up, or the founder of an AZ its seat has not
   * reached yet (docs/architecture.md §5.3, §5.4), knows no other node but must answer its local
   * leader and its seat's peers: then a peer not known yet is admitted on its chain and node id
   * alone, unless known to be withdrawn; a peer whose registration was applied is pinned already.
   */
  admitMeshPeer(nodeId: string, certSha256: string, cert?: X509Certificate): void {
    if (this.knowsItself || this.pins.has(nodeId) || this.withdrawn.has(nodeId)) this.requirePinned(nodeId, certSha256, cert);
  }

  /**
   * A peer whose certificate failed chain verification only because it expired (OpenSSL's
   * CERT_HAS_EXPIRED, leaf or AZ ICA), on the mesh and the peer endpoint: admitted only when it is
   * exactly the certificate registered for `nodeId`, never as a renewal and never while this node
   * does not know itself (docs/architecture.md §21: a cluster off for longer than its node TLS
   * lifetime forms again on its pins, then renews). ERR_TRANSPORT_PEER_REFUSED otherwise.
   */
  requireExpiredPinned(nodeId: string, certSha256: string): void {
    if (this.withdrawn.has(nodeId)) throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `node ${nodeId} was revoked or removed`);
    if (this.pins.get(nodeId) !== certSha256 && !this.isPredecessor(nodeId, certSha256)) {
      throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `node ${nodeId} presents an expired certificate that is not the one registered for it`);
    }
  }

  /** Whether `certSha256` is the certificate `nodeId`'s renewal replaced, within the grace (see the top of this file). */
  private isPredecessor(nodeId: string, certSha256: string): boolean {
    const p = this.predecessors.get(nodeId);
    return p !== undefined && p.sha256 === certSha256 && p.untilMs > this.monotonicMs();
  }

  /** Whether `cert` is a renewal of `nodeId`'s registered TLS certificate (see the top of this file). */
  private isRenewalOf(nodeId: string, cert: X509Certificate): boolean {
    const registered = this.renewals.registered.get(nodeId);
    if (registered === undefined || nodeIdOf(cert, DEFAULT_NODE_URI_PREFIX) !== nodeId.toLowerCase()) return false;
    if (!(Date.parse(cert.validFrom) > registered.notBeforeMs)) return false;
    return (this.renewals.azIcas.get(registered.az) ?? []).some((ica) => cert.checkIssued(ica) && cert.verify(ica.publicKey));
  }
}
