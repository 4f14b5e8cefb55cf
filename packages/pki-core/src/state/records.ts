// What the state holds, one record type per table. Records are built field by field in a fixed
// order by the apply functions, so equal states encode to equal bytes on every replica.
import type { CaRole, ClusterSettings, CrlReason, NodeAddresses, PlainData } from './events.ts';

export interface AppliedRecord {
  index: number;
  term: number;
}

export interface ClusterRecord {
  clusterId: string;
  rootIssuerId: string;
  createdAt: number;
}

export interface LeafCertificateRecord {
  kind: 'leaf';
  issuerId: string;
  serialHex: string;
  certDer: Uint8Array;
  notAfter: number;
  subject: string;
  sans: string[];
  profile: string;
  requester: string;
  publicKeyHash: string;
  idempotencyKey: string;
  issuedAt: number;
  /** The log index of the `Issued` event. */
  index: number;
  /** The provisioner a renewed certificate is charged to (`Issued.renewalCharge`), carried to its renewals. */
  provisioner?: string;
}

/** A CA certificate, filed under the CA that signed it (a root under itself). */
interface CaCertificateRecord {
  kind: 'ca';
  issuerId: string;
  serialHex: string;
  certDer: Uint8Array;
  notAfter: number;
  /** The CA this certificate makes. */
  caIssuerId: string;
  role: CaRole;
  issuedAt: number;
  index: number;
}

export type CertificateRecord = LeafCertificateRecord | CaCertificateRecord;

export interface CaRecord {
  issuerId: string;
  parentIssuerId: string | null;
  role: CaRole;
  az: string | null;
  nodeId: string | null;
  certDer: Uint8Array;
  wrappedKey: Uint8Array | null;
  serialHex: string;
  notAfter: number;
  installedAt: number;
  /** Set when this CA's own certificate is revoked; it never signs again. */
  revokedAt: number | null;
  index: number;
  /** A node CA's partition count (state/crl-partitions.ts); absent: one unpartitioned CRL. */
  crlPartitions?: number;
}

export interface RevocationRecord {
  issuerId: string;
  serialHex: string;
  reason: CrlReason;
  revokedAt: number;
  requestedBy: string;
  /** The certificate's notAfter: an entry may leave the CRL after it (RFC 5280 §3.3). */
  notAfter: number;
  index: number;
}

export interface CrlRecord {
  issuerId: string;
  crlNumber: number;
  crlDer: Uint8Array;
  thisUpdate: number;
  nextUpdate: number;
  index: number;
  /** An indirect CRL's (IndirectCrlPublished): the highest applied index among the revocations it lists. */
  coversIndex?: number;
}

/** An AZ's OCSP responder key (OcspResponderKeyInstalled). */
export interface OcspResponderKeyRecord {
  az: string;
  keyId: string;
  spkiDer: Uint8Array;
  wrappedKey: Uint8Array;
  installedAt: number;
  index: number;
}

/** The latest responder certificate a CA issued to an AZ's responder key (OcspResponderCertified). */
export interface OcspResponderCertRecord {
  issuerId: string;
  az: string;
  keyId: string;
  serialHex: string;
  certDer: Uint8Array;
  notAfter: number;
  issuedAt: number;
  index: number;
}

/** The issuer's latest delta CRL (DeltaCrlPublished). */
export interface DeltaCrlRecord {
  issuerId: string;
  crlNumber: number;
  baseCrlNumber: number;
  crlDer: Uint8Array;
  thisUpdate: number;
  nextUpdate: number;
  index: number;
}

export interface AzRecord {
  name: string;
  subnets: string[];
  localVip: string;
  /** AzAddedEvent.founderNodeId or AzFoundedEvent's; null for the cluster's first AZ and a declared AZ. */
  founderNodeId: string | null;
  addedAt: number;
  /**
   * `declared`: added by an admin, waiting for its first node (no local group, no seat);
   * `active`: founded; `removing`: an admin removal is under way (AzRemovalStarted).
   */
  phase: AzPhase;
}

export type AzPhase = 'declared' | 'active' | 'removing';

export interface NodeRecord {
  nodeId: string;
  az: string;
  addresses: NodeAddresses;
  tlsCertDer: Uint8Array;
  icaIssuerId: string;
  registeredAt: number;
  /**
   * Set while the node is marked inactive (`NodeActivityMarked`): the last time its AZ's local
   * leader heard from it. Absent while active.
   */
  inactiveSince?: number;
}

export interface ProfileRecord {
  name: string;
  profile: { [key: string]: PlainData };
}

export interface JoinTokenRecord {
  tokenId: string;
  az: string;
  expiresAt: number;
  /** Null for a token minted outside the log and first seen when it was used. */
  issuedAt: number | null;
  usedAt: number | null;
  usedBy: string | null;
}

export interface IdempotencyRecord {
  issuerId: string;
  serialHex: string;
  at: number;
}

export interface SerialRecord {
  issuerId: string;
  serialHex: string;
  /** True once the certificate left the state by expiry; the serial stays reserved. */
  pruned: boolean;
}

export type { ClusterSettings };

export type { AuditLog } from './audit-events.ts';

/** The head of a log's chain: `position` commands so far (0 and the genesis head before any). */
export interface AuditHeadRecord {
  position: number;
  head: Uint8Array;
}

/** One command of a log's history, as this node applied it. */
export interface AuditEntryRecord {
  /** 1-based position of the command in its log's chain. */
  position: number;
  /** The node's applied index (the two-tier command counter) when it was applied. */
  seq: number;
  /** The chain head before this command. */
  prev: Uint8Array;
  /** SHA-256(prev ‖ bytes). */
  hash: Uint8Array;
  /** The command exactly as its log committed it (an encoded event, state/event-codec.ts). */
  bytes: Uint8Array;
}

/** The latest accepted checkpoint of a log (audit-events.ts), as the log's replicas applied it. */
export interface AuditCheckpointRecord {
  /** The position it attests. */
  position: number;
  /** Its own position in the chain (the attested one is before it). */
  eventPosition: number;
  at: number;
}
