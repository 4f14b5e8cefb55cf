// The public face of a running PKI node (`PkiNode` implements it): what the HTTP server, the CLI
// and other Adrestia services call. Everything here is transport-neutral.
import type { ClusterMapDiff } from '../cluster/cluster-map.ts';
import type { CrlReason } from '../state/events.ts';
import type { CertificateRecord } from '../state/records.ts';
import type { PeerRequest, PeerResponse } from './peer/protocol.ts';
import type { IssuedJoinToken, JoinTokenRequest, RemovedNode } from './admin/admin-services.ts';
import type { AzDeclaration, DeclaredAz, RemovedAz } from './admin/az-admin.ts';

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
}

export type PkiRoleEvent = { tier: 'local' | 'global'; leader: boolean; term: number };

export interface PkiNodeApi {
  readonly nodeId: string;
  readonly az: string;
  status(): PkiNodeStatus;
  clusterMap(sinceGeneration?: number): Promise<ClusterMapDiff>;
  caBundle(): Promise<CaBundle>;
  /** Signs with this node's ICA; resolves after the `Issued` event is committed locally. */
  issue(request: IssueRequest): Promise<IssuedLeaf>;
  /**
   * Re-issues a leaf of this AZ to its holder; refuses a revoked (`ERR_REVOKED`) or expired
   * (`ERR_EXPIRED`) certificate, and one this AZ did not issue as a leaf (`ERR_NOT_FOUND`).
   */
  renew(request: RenewRequest): Promise<IssuedLeaf>;
  /** Resolves after the `Revoked` event is committed globally (every AZ will apply it). */
  revoke(request: RevokeRequest): Promise<{ revokedAt: number }>;
  getCertificate(serialHex: string): Promise<CertificateRecord[]>;
  /** The latest CRL (DER) of a CA of this cluster, by issuer id. */
  getCrl(issuerId: string): Promise<Uint8Array | null>;
  /** A CA certificate (DER) by issuer id. */
  getCaCertificate(issuerId: string): Promise<Uint8Array | null>;
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
  onRoleChange(listener: (e: PkiRoleEvent) => void): () => void;
  stop(): Promise<void>;
}
