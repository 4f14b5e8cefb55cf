// Which certificate a peer naming a node id may present, on the Raft mesh and the peer endpoint:
// exactly the TLS certificate registered for that node in the replicated state
// (PkiNodeApi.nodeTlsPins: SHA-256 of the DER, for nodes whose node CA and TLS certificate are
// unrevoked). A chain to the cluster root and a `urn:adrestia:node:<uuid>` SAN (identity.ts) are
// not enough: a leaf of any node ICA, or of a custom profile issued before node/ca/reserved-names.ts
// kept those names out of leaves, carries both. The registered certificate was issued by the
// node's own AZ ICA (pki-core node/registration/node-registration.ts signs it with that AZ's ICA),
// so an exact match also proves the issuer. The check is a Map lookup: it runs on every handshake
// and every peer request, from the state the peer directory polls (serve/peer-directory.ts).
import { ServerError } from '../errors.ts';

export class PeerPins {
  /** Node id → SHA-256 (hex) of its registered TLS certificate's DER. */
  private pins: ReadonlyMap<string, string> = new Map();
  /** Node ids whose identity was withdrawn (node CA revoked, or removed). */
  private withdrawn: ReadonlySet<string> = new Set();

  constructor(private readonly selfId: string) {}

  /** From PkiNodeApi.nodeTlsPins and withdrawnNodeIds, read together. */
  update(pins: ReadonlyMap<string, string>, withdrawn: ReadonlySet<string>): void {
    this.pins = pins;
    this.withdrawn = withdrawn;
  }

  /**
   * Whether this node's state has reached its own registration (or its removal). From then on it
   * holds every node registered before it, and applies later registrations in log order.
   */
  get knowsItself(): boolean {
    return this.pins.has(this.selfId) || this.withdrawn.has(this.selfId);
  }

  /** The peer endpoint: ERR_TRANSPORT_PEER_REFUSED unless `certSha256` is the certificate registered for `nodeId`. */
  requirePinned(nodeId: string, certSha256: string): void {
    const pinned = this.pins.get(nodeId);
    if (pinned === certSha256) return;
    if (this.withdrawn.has(nodeId)) throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `node ${nodeId} was revoked or removed`);
    if (pinned === undefined) throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `node ${nodeId} has no registered, unrevoked TLS certificate`);
    throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `node ${nodeId} presents another certificate than the one registered for it`);
  }

  /**
   * The Raft mesh, inbound and outbound: as `requirePinned`, except while this node has not
   * applied its own registration. A joiner catching up, or the founder of an AZ its seat has not
   * reached yet (docs/architecture.md §5.3, §5.4), knows no other node but must answer its local
   * leader and its seat's peers: then a peer not known yet is admitted on its chain and node id
   * alone, unless known to be withdrawn; a peer whose registration was applied is pinned already.
   */
  admitMeshPeer(nodeId: string, certSha256: string): void {
    if (this.knowsItself || this.pins.has(nodeId) || this.withdrawn.has(nodeId)) this.requirePinned(nodeId, certSha256);
  }
}
