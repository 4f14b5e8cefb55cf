// The public face of a running PKI node (`PkiNode` implements it): what the HTTP server, the CLI
// and other Adrestia services call, and the only way they reach the node's state. Everything here
// is transport-neutral. A read either waits for the read barrier (core/read-view.ts: it sees
// whatever the AZ acknowledged) or says why a local, possibly stale read is right for its callers.
import type { RotatedRoot } from './ca/root-rollover.ts';
import type { RotatedKek } from './kek/kek-rotation.ts';
import type { PendingRootRollover } from './ca/root-rollover-offline.ts';
import type { ClusterMapDiff, ClusterMapSince } from '../cluster/map-generation.ts';
import type { CrlReason } from '../state/events.ts';
import type { AzRecord, CertificateRecord, NodeRecord } from '../state/records.ts';
import type { AcmeNodeApi } from './acme/acme-api.ts';
import type { AuditPage } from './audit/index.ts';
import type { AzDeclaration, DeclaredAz, IssuedJoinToken, JoinTokenRequest, RefoundRequest } from './admin/index.ts';
import type { NodeKeys } from './ca/ca-node-keys.ts';
import type { OcspAnswer } from './ocsp/index.ts';
import type { ProvisionerView } from './provisioners/provisioner-admin.ts';
import type { OperatorReport, RecentRevocation } from './status/operator-report.ts';
import type { PeerRequest, PeerResponse, RefoundedAz, RemovedAz, RemovedNode } from './peer/protocol.ts';
import type { AcceptedRegistration, CaBundleResponseBody, CaBundleResponseInput, VerifyRegistrationInput } from './registration/index.ts';

export interface TierStatus {
  /** This node's role in the tier (for the global tier: this AZ's seat, when this node acts for it). */
  role: 'leader' | 'follower' | 'candidate' | 'preCandidate' | 'learner' | 'inactive';
  term: number;
  /** Local tier: the local leader's node id. Global tier: the leading seat's AZ name. */
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
}

export interface PkiNodeStatus {
  nodeId: string;
  az: string;
  clusterId: string | null;
  /** Seed 000 roles. */
  pkiLocalLeader: boolean;
  pkiGlobalLeader: boolean;
  local: TierStatus;
  global: TierStatus;
  /** The node has its certificates and takes part in its local group. */
  ready: boolean;
}

export interface IssueRequest {
  /** PKCS#10, PEM or DER. */
  csr: Uint8Array | string;
  profile: string;
  /** Overrides the CSR's requested SANs (`dns:…`, `ip:…`, `uri:…`, `email:…` or bare values). */
  sans?: string[];
  lifetimeSeconds?: number;
  /** Who asks (authenticated identity, or the client address): part of the idempotency key. */
  requester: string;
}

export interface IssuedLeaf {
  serialHex: string;
  issuerId: string;
  certificateDer: Uint8Array;
  certificatePem: string;
  /** Leaf → node ICA → AZ ICA → root, PEM. */
  chainPem: string;
  notAfter: number;
  /** True when a retried request got the certificate issued to it before. */
  duplicate: boolean;
}

/**
 * Renewal of a leaf by its holder: the caller has authenticated the holder by `currentCertDer`
 * (mTLS). The new certificate keeps the profile and the SANs of the current one (read from its
 * DER); the CSR brings only the new key.
 */
export interface RenewRequest {
  currentCertDer: Uint8Array;
  /** PKCS#10, PEM or DER. */
  csr: Uint8Array | string;
}

export interface RevokeRequest {
  serialHex: string;
  /** Needed only when the serial is not unique among the AZ's issuers. */
  issuerId?: string;
  reason: CrlReason;
  requestedBy: string;
}

export interface CaBundle {
  clusterId: string;
  rootPem: string;
  /** The AZ ICA of this node's AZ (null before the AZ exists). */
  azIcaPem: string | null;
  /** This node's ICA, then its AZ ICA, then the root. */
  chainPem: string;
  /** Every root still valid, the cluster's current one first (more than one after a root rollover). */
  rootsPem: string;
  /** The cross certificates between those roots (node/ca/root-rollover.ts); empty before any rollover. */
  crossCertificatesPem: string;
}

export type PkiRoleEvent = { tier: 'local' | 'global'; leader: boolean; term: number };

export interface PkiNodeApi {
  readonly nodeId: string;
  readonly az: string;
  /** ACME accounts, orders, authorizations and finalization (acme/acme-api.ts). */
  readonly acme: AcmeNodeApi;
  status(): PkiNodeStatus;
  /**
   * What an operator watches on this node (status/operator-report.ts): each tier's membership and
   * replication lag (on its leader), the VIPs it holds, CA expiry, CRLs and revocation counts, as
   * applied here: local, possibly stale, so that it answers while the AZ has no quorum.
   */
  operatorReport(): Promise<OperatorReport>;
  /** Admin only: the latest revocations (with who asked), newest first, at most `countMax`, as applied here. */
  recentRevocations(countMax: number): Promise<RecentRevocation[]>;
  /**
   * The map this node serves, or "no change" when `since` (a generation, or an ETag as served;
   * default 0, no map) names exactly this content (cluster/map-generation.ts).
   */
  clusterMap(since?: ClusterMapSince): Promise<ClusterMapDiff>;
  /** The root, this AZ's ICA and this node's chain, as applied here (CA certificates change only when a CA is created). */
  caBundle(): Promise<CaBundle>;
  /** Signs with this node's ICA; resolves after the `Issued` event is committed locally. */
  issue(request: IssueRequest): Promise<IssuedLeaf>;
  /**
   * Re-issues a leaf of this AZ to its holder; refuses a revoked (`ERR_REVOKED`) or expired
   * (`ERR_EXPIRED`) certificate, and one this AZ did not issue as a leaf (`ERR_NOT_FOUND`).
   */
  renew(request: RenewRequest): Promise<IssuedLeaf>;
  /**
   * Issuance authorised by a provisioner's one-time token (provisioners/token-issuance.ts): bound
   * to the CSR's CN and the SANs, within the provisioner's policy, its `jti` spent in the global
   * log before the certificate is signed; a second use is ERR_AUTH_TOKEN_USED.
   */
  issueWithToken(token: string, request: Omit<IssueRequest, 'requester'>): Promise<IssuedLeaf>;
  /** Resolves after the `Revoked` event is committed globally (every AZ will apply it). */
  revoke(request: RevokeRequest): Promise<{ revokedAt: number }>;
  /** The certificates of this AZ with that serial (any issuer), behind the read barrier. */
  getCertificate(serialHex: string): Promise<CertificateRecord[]>;
  /**
   * The latest CRL (DER) of a CA of this cluster, by issuer id, as applied here: relying parties
   * fetch it from any node, and a CRL says itself how fresh it is (RFC 5280 §5.1.2.4 thisUpdate).
   */
  getCrl(issuerId: string): Promise<Uint8Array | null>;
  /** The delta CRL (RFC 5280 §5.2.4) updating that latest CRL, as applied here; null when there is none current. */
  getDeltaCrl(issuerId: string): Promise<Uint8Array | null>;
  /** An AZ ICA's indirect CRL (RFC 5280 §5.2.5) of the leaves its node ICAs issued, or partition `partition` of it, as applied here; null when there is none. */
  getIndirectCrl(azIcaIssuerId: string, partition?: number): Promise<Uint8Array | null>;
  /** Partition `partition` of a node ICA's CRL (RFC 5280 §5.2.5), as applied here; null when there is none. */
  getPartitionCrl(issuerId: string, partition: number): Promise<Uint8Array | null>;
  /**
   * Answers a DER OCSPRequest (RFC 6960) for any certificate of the cluster; never throws: a
   * failure is an OCSP error status. Statuses come from the issuing AZ after a linearizable read
   * there (node/ocsp/ocsp-status.ts), so an acknowledged revocation shows at once.
   */
  answerOcsp(requestDer: Uint8Array): Promise<OcspAnswer>;
  /** A CA certificate (DER) by issuer id, as applied here (a CA's certificate never changes under its issuer id). */
  getCaCertificate(issuerId: string): Promise<Uint8Array | null>;
  /**
   * The cluster's AZs as applied here: local, possibly stale. The server routes every request by
   * its client address with them (cluster/routing.ts); a barrier would put a quorum round in front
   * of every answer and leave clients unredirected while the AZ elects, whereas an AZ applied a
   * moment late only routes the next request.
   */
  listAzs(): Promise<AzRecord[]>;
  /**
   * The registered nodes as applied here: local, possibly stale. Node addresses are public and
   * every node holds them all (registration is global). They serve routing, the server's peer
   * directory and `GET /api/v1/nodes`, which must be answered without the AZ's quorum (the first
   * node of a new AZ asks the cluster VIP before its seat reaches anyone); a node registered a
   * moment ago appears at the next refresh.
   */
  listNodes(): Promise<NodeRecord[]>;
  /**
   * Ids of nodes whose node CA was revoked or that were removed (they never speak for the
   * cluster again), as applied here: local, possibly stale. Checked on every peer request and
   * mesh connection; a barrier there would make the peer traffic a quorum depends on (proposals
   * forwarded to the local leader, health pings) wait for that quorum. A withdrawal takes effect
   * here once applied here, as every other AZ's does.
   */
  withdrawnNodeIds(): Promise<ReadonlySet<string>>;
  /**
   * For each registered node whose node CA and TLS certificate are unrevoked, the SHA-256 (hex)
   * of that TLS certificate's DER, as applied here: local, possibly stale, like
   * `withdrawnNodeIds` and for the same reason. A peer naming a node id is admitted on the mesh
   * and the peer endpoint only with exactly this certificate; a removed or withdrawn node, or an
   * id never registered, has no entry. A renewed certificate is registered the same way and
   * replaces the entry once applied.
   */
  nodeTlsPins(): Promise<ReadonlyMap<string, string>>;
  /**
   * For each AZ, the certificates (DER) of its unrevoked AZ ICAs, as applied here: local,
   * possibly stale, like `nodeTlsPins`. A node's renewed TLS certificate is signed by one of its
   * AZ's ICAs (node/ca/node-renewal.ts); a peer that has not applied the renewal yet recognises
   * the successor by it (the server's transport/peer-pins.ts).
   */
  azIcaCertificates(): Promise<ReadonlyMap<string, readonly Uint8Array[]>>;
  /** A registered node's record, behind the read barrier. */
  getNode(nodeId: string): Promise<NodeRecord | undefined>;
  /** The cluster's id (null before `ClusterCreated`), behind the read barrier. */
  clusterId(): Promise<string | null>;
  /** The AZ ICA certificate (DER) of AZ `az` (null when the state holds none), behind the read barrier. */
  azIcaCertificate(az: string): Promise<Uint8Array | null>;
  /**
   * Phase II over plain HTTP: the CA bundle with its HMAC proof under the PSK for the node's nonce
   * (registration/registration.ts `caBundleResponse`), as applied here like `caBundle`. The joiner
   * needs the root from it; a bundle applied a moment late lacks at most an AZ ICA committed
   * meanwhile, and a barrier would make the first request of every new node fail while the AZ of
   * the node that holds the VIP elects.
   */
  caBundleProof(input: Omit<CaBundleResponseInput, 'store'>): Promise<CaBundleResponseBody>;
  /**
   * Phase II over HTTPS: authenticates and checks a registration request (PSK proof or join
   * token; registration/registration.ts `verifyRegistrationRequest`) behind the read barrier, so
   * the once-only checks see every registration and token use the AZ acknowledged.
   */
  acceptRegistration(input: Omit<VerifyRegistrationInput, 'store'>): Promise<AcceptedRegistration>;
  /** This node's ICA and TLS keys (the server serves TLS with the TLS key); null until start-up made or loaded them. */
  nodeKeys(): NodeKeys | null;
  /** Whether a renewal of this node's TLS key is under way (a pending key, node/ca/node-renewal.ts). */
  tlsRenewalPending(): Promise<boolean>;
  /**
   * Takes up a TLS certificate fetched from a peer for the pending renewal key, before this node
   * has applied the `NodeRenewed` that registers it: true when it certifies that key and an AZ
   * ICA of this AZ signed it, the key then in use (node/ca/node-renewal.ts `takeUpRenewedTls`).
   */
  takeUpRenewedTls(certDer: Uint8Array): Promise<boolean>;
  /** Serves a peer's request (the server's node-to-node endpoint calls this). */
  handlePeer(fromNodeId: string, request: PeerRequest): Promise<PeerResponse>;
  /** Admin: revokes the node's ICA and TLS certificates, then `NodeRemoved` (all global). */
  removeNode(nodeId: string, requestedBy: string): Promise<RemovedNode>;
  /** Admin: validates and commits `ProfileSet` (global). */
  setProfile(name: string, profile: unknown): Promise<void>;
  /** Admin: commits `ProfileRemoved` (global). */
  removeProfile(name: string): Promise<void>;
  /** Admin: commits `JoinTokenIssued` (global) and returns the HS256 token signed with `key`. */
  issueJoinToken(request: JoinTokenRequest, key: Uint8Array): Promise<IssuedJoinToken>;
  /** Admin: declares an AZ ahead of its nodes (`AzDeclared`, global); its first node founds it. */
  addAz(az: AzDeclaration, requestedBy: string): Promise<DeclaredAz>;
  /** Admin: decommissions an AZ: seat out of the global group, nodes withdrawn, `AzRemoved`. */
  removeAz(name: string, requestedBy: string): Promise<RemovedAz>;
  /**
   * Admin: re-founds an AZ whose nodes are all gone: seat out of the global group, nodes
   * withdrawn, a new AZ ICA, `AzRefounded` (its next node founds it). ERR_AZ_LIVE unless `force`.
   */
  refoundAz(request: RefoundRequest): Promise<RefoundedAz>;
  /** Admin: validates and commits `ProvisionerAdded` (global); fields at fault are named. */
  addProvisioner(input: { name: unknown; publicKey: unknown; policy: unknown }, requestedBy: string): Promise<ProvisionerView>;
  /** Admin: the provisioners the state holds, by name. */
  listProvisioners(): Promise<ProvisionerView[]>;
  /** Admin: commits `ProvisionerRemoved` (global); its tokens issue nothing more. */
  removeProvisioner(name: string, requestedBy: string): Promise<void>;
  /**
   * A backup of the whole cluster (node/admin/backup-file.ts): every founded AZ's state snapshot,
   * each after a linearizable read in its AZ. Wrapped CA keys stay wrapped; node ICA keys are not in it.
   */
  backup(): Promise<Uint8Array>;
  /**
   * Admin: this node's history of `log` ('global' or this node's AZ) after position `since`, at
   * most `limit` entries (node/audit/audit-history.ts), as applied here (no read barrier: it is
   * this node's own record). ERR_INPUT_INVALID names the argument; another AZ's log is ERR_WRONG_AZ.
   */
  auditHistory(log: string, since: number, limit: number): Promise<AuditPage>;
  /**
   * Admin, on the global leader: a root rollover (node/ca/root-rollover.ts) — a new root, cross
   * certificates both ways, every AZ ICA re-issued under the new root — answered once committed.
   */
  rotateRoot(request?: { rootSubject?: string }): Promise<RotatedRoot>;
  /**
   * Admin, on the global leader, when the root is held offline (rotateRoot: ERR_ROOT_OFFLINE):
   * the new root and the TBSCertificate of its cross certificate for the offline root to sign
   * (node/ca/root-rollover-offline.ts); nothing is committed.
   */
  prepareRootRollover(request?: { rootSubject?: string }): Promise<PendingRootRollover>;
  /** Admin: finishes a prepared rollover with the offline root's signature over its TBS; answered as `rotateRoot`. */
  completeRootRollover(request: { pending: PendingRootRollover; signature: Uint8Array }): Promise<RotatedRoot>;
  /**
   * Admin, on the global leader: a KEK rotation (node/kek/kek-rotation.ts) — every sealed key
   * re-sealed under `newKek` in one `CaKeyRewrapped` — answered once committed; ERR_KEK_MISMATCH,
   * nothing changed, when `oldKek` does not open every sealed key.
   */
  rotateKek(request: { oldKek: Uint8Array; newKek: Uint8Array }): Promise<RotatedKek>;
  onRoleChange(listener: (e: PkiRoleEvent) => void): () => void;
  stop(): Promise<void>;
}
