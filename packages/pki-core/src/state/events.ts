// The events of the replicated PKI state machine. Every change to PKI state is one of these,
// proposed to a Raft log and applied by `applyEvent` on every replica. They carry the results of
// all non-deterministic work (signatures, serials, times, DER) so applying needs no clock, no
// randomness and no key (docs/architecture.md §4: "whoever signs does so before proposing").
//
// Conventions, checked by the decoder:
// - times are integers, milliseconds since the Unix epoch, chosen by the proposer;
// - `issuerId` names a CA of this cluster (an opaque id chosen by the CA engine, e.g. its SKI hex);
// - `serialHex` is the CA engine's canonical form (ca/serial.ts `normalizeSerialHex`): lowercase
//   hex of the serial's magnitude, even length, no leading zero octet (RFC 5280 §4.1.2.2);
// - binary fields are DER or opaque sealed blobs, never parsed by `applyEvent`.

import type { CrlReason } from '../ca/crl-reasons.ts';
import type { AcmeEvent } from './acme-events.ts';
import type { AuditCheckpointEvent } from './audit-events.ts';
import type { ProvisionerEvent } from './provisioner-events.ts';
import type { AllowedNames } from '../ca/allowed-names.ts';

/** Bumped when the encoding changes incompatibly; the decoder accepts only versions it knows. */
export const EVENT_FORMAT_VERSION = 1;

export type CaRole = 'root' | 'az' | 'node';

// RFC 5280 §5.3.1 CRLReason, by name: the CA engine's table.
export { CRL_REASON_NAMES, type CrlReason } from '../ca/crl-reasons.ts';

/** Plain data, as MessagePack carries it (profiles are stored as given, keys sorted). */
export type PlainData = null | boolean | number | string | Uint8Array | PlainData[] | { [key: string]: PlainData };

export interface ClusterSettings {
  /** How long a retried issuance request returns the certificate already issued to it. */
  idempotencyWindowMs: number;
  /**
   * The names the built-in leaf profiles issue for (ca/allowed-names.ts), fixed at `init`;
   * absent (a cluster founded before, or without them): any name the profile admits.
   */
  allowedNames?: AllowedNames;
}

export const DEFAULT_CLUSTER_SETTINGS: Readonly<ClusterSettings> = Object.freeze({
  idempotencyWindowMs: 10 * 60 * 1000,
});

export interface AzSpec {
  name: string;
  /** Client subnets in CIDR notation (IPv4 or IPv6); they route requests by REMOTE_ADDR (docs/spec.md §2.2.2). */
  subnets: string[];
  /** The AZ's `pkiLocalVip`. */
  localVip: string;
}

export interface NodeAddresses {
  /** HTTPS endpoint. */
  api: string;
  /** Node-to-node (Raft over mTLS) endpoint. */
  raft: string;
}

export interface ClusterCreatedEvent {
  type: 'ClusterCreated';
  clusterId: string;
  rootIssuerId: string;
  rootCertDer: Uint8Array;
  rootSerialHex: string;
  rootNotAfter: number;
  /** AES-256-GCM sealed root key; absent for an externally held (offline) root. */
  wrappedRootKey?: Uint8Array;
  settings: ClusterSettings;
  createdAt: number;
}

interface ClusterSettingsSetEvent {
  type: 'ClusterSettingsSet';
  settings: ClusterSettings;
  at: number;
}

export interface AzAddedEvent {
  type: 'AzAdded';
  az: AzSpec;
  /**
   * The node whose local group is the AZ's seat (it asked the global leader to found the AZ).
   * A second node asking to found the same AZ is refused and joins the founder's group instead,
   * so an AZ never has two local groups acting for one seat. Absent for the cluster's first AZ.
   */
  founderNodeId?: string;
  at: number;
}

/**
 * An admin declares an AZ ahead of its nodes (docs/spec.md §9.2). The AZ has no local group and
 * no seat until its first node founds it (`AzFounded`); nodes of the AZ must be configured with
 * exactly the declared subnets and local VIP.
 */
interface AzDeclaredEvent {
  type: 'AzDeclared';
  az: AzSpec;
  requestedBy: string;
  at: number;
}

/**
 * The first node of a declared AZ becomes its founder: its local group acts for the AZ's seat.
 * Decided through the global log, so of two nodes racing to found it exactly one wins.
 */
interface AzFoundedEvent {
  type: 'AzFounded';
  name: string;
  founderNodeId: string;
  at: number;
}

/**
 * An admin removal of the AZ has begun: from here on no node registers in it, no CA is installed
 * for it and its seat is not (re)added to the global group; the removal then takes the seat out,
 * withdraws every node and ends with `AzRemoved`. A retried removal resumes from the state.
 */
interface AzRemovalStartedEvent {
  type: 'AzRemovalStarted';
  name: string;
  requestedBy: string;
  at: number;
}

/**
 * An admin re-founds an AZ whose nodes are all gone (docs/architecture.md §17): its seat has left
 * the global group and its nodes were withdrawn before this commits. The AZ is declared again
 * (no founder, no seat), so its next node founds it with a new local group (`AzFounded`) instead
 * of joining the dead one; its CA certificates, revocations and name stay.
 */
interface AzRefoundedEvent {
  type: 'AzRefounded';
  name: string;
  requestedBy: string;
  at: number;
}

interface AzRemovedEvent {
  type: 'AzRemoved';
  name: string;
  at: number;
}

export interface CaCertificateInstalledEvent {
  type: 'CaCertificateInstalled';
  /** The id of the CA this certificate makes (the issuer of what it signs). */
  issuerId: string;
  /** The CA that signed this certificate; absent only for a root. */
  parentIssuerId?: string;
  role: CaRole;
  /** Required for `az` and `node` CAs. */
  az?: string;
  /** Required for `node` CAs. */
  nodeId?: string;
  certDer: Uint8Array;
  /** Sealed key of a root or AZ CA; never present for a node CA, whose key stays on its node. */
  wrappedKey?: Uint8Array;
  serialHex: string;
  notAfter: number;
  /**
   * A renewal names the CA it succeeds (node/ca/az-ica-renewal.ts): accepted only while that CA
   * is still the newest of its role, so two proposers renewing at once install one successor.
   */
  replacesIssuerId?: string;
  /**
   * A node CA only: how many partition CRLs it publishes (state/crl-partitions.ts), fixed for its
   * life. Absent for CAs created before partitions, and for every root and AZ CA: one CRL each.
   */
  crlPartitions?: number;
  at: number;
}

/** One sealed key under the new KEK: a root or AZ CA's (by issuer id), or an AZ's OCSP responder key (by AZ). */
export type RewrappedKey =
  | { kind: 'ca'; issuerId: string; wrappedKey: Uint8Array }
  | { kind: 'ocspResponder'; az: string; wrappedKey: Uint8Array }
  /** An ACME external account binding key (node/acme/acme-eab.ts), sealed under a key derived from the KEK. */
  | { kind: 'acmeEab'; keyId: string; keySealed: Uint8Array };

/**
 * Operator KEK rotation (node/ca/kek-rotation.ts): every sealed key of the state under the new
 * key-encryption key, in one event so no replica ever holds keys under two KEKs. Accepted only
 * when it names every sealed key the state holds, each once.
 */
interface CaKeyRewrappedEvent {
  type: 'CaKeyRewrapped';
  keys: RewrappedKey[];
  at: number;
}

/** A certificate of one root signed by another (RFC 4158 §2.3 cross-certification), for a root rollover. */
export interface CrossCertificate {
  /** The root that signed it. */
  signerIssuerId: string;
  /** The root whose name and key it certifies. */
  subjectIssuerId: string;
  certDer: Uint8Array;
  serialHex: string;
  notAfter: number;
}

/**
 * A root rollover (node/ca/root-rollover.ts): a new self-signed root becomes the cluster's root,
 * with a cross certificate each way between it and the root it follows, so a chain to either root
 * verifies against the other. The old root keeps its record and key: its CRL stays current until
 * the last certificate under it expires. The AZ ICAs are then re-issued under the new root
 * (`CaCertificateInstalled` with `replacesIssuerId`).
 */
export interface RootRolledOverEvent {
  type: 'RootRolledOver';
  /** The cluster's root when the rollover was built: accepted only while it still is. */
  previousRootIssuerId: string;
  rootIssuerId: string;
  rootCertDer: Uint8Array;
  rootSerialHex: string;
  rootNotAfter: number;
  /** The new root's sealed key; absent for a root held outside the cluster (founding/ca-offline-root.ts). */
  wrappedRootKey?: Uint8Array;
  /** Exactly two: new root signed by the previous one, and the previous root signed by the new one. */
  crossCertificates: CrossCertificate[];
  at: number;
}

export interface NodeRegisteredEvent {
  type: 'NodeRegistered';
  nodeId: string;
  az: string;
  /** Where peers reach the node, `host:port` each (the cluster map's NodeAddresses). */
  addresses: NodeAddresses;
  tlsCertDer: Uint8Array;
  icaIssuerId: string;
  at: number;
}

/**
 * A node's credentials renewed before they expire (node/ca/ca-renewal.ts): the node CA it now
 * signs with (installed by the `CaCertificateInstalled` before this; the same one when only the
 * TLS certificate was renewed) and its new TLS certificate, signed by its AZ ICA. The node's
 * earlier node CAs stay in the state until they expire: their CRLs still answer for what they
 * signed.
 */
interface NodeRenewedEvent {
  type: 'NodeRenewed';
  nodeId: string;
  icaIssuerId: string;
  tlsCertDer: Uint8Array;
  at: number;
}

interface NodeRemovedEvent {
  type: 'NodeRemoved';
  nodeId: string;
  reason: string;
  at: number;
}

/**
 * A registered node's activity as its AZ's local leader saw it (node/aging/): `inactive` when not
 * heard from since `lastSeenAt` for longer than `nodeInactiveAfterSeconds`; `active` again when it
 * answers before it is removed. The times come from the proposing leader, never from apply.
 */
interface NodeActivityMarkedEvent {
  type: 'NodeActivityMarked';
  nodeId: string;
  activity: NodeActivity;
  /** The last time the local leader heard from the node (wall clock, ms). */
  lastSeenAt: number;
  at: number;
}

export type NodeActivity = 'active' | 'inactive';

export interface IssuedEvent {
  type: 'Issued';
  issuerId: string;
  serialHex: string;
  certDer: Uint8Array;
  notAfter: number;
  subject: string;
  sans: string[];
  profile: string;
  requester: string;
  /** SHA-256 hex of the subject public key info. */
  publicKeyHash: string;
  /** `idempotencyKey(requester, publicKeyHash, sans, profile)`; checked on apply. */
  idempotencyKey: string;
  /**
   * A renewal of a certificate a provisioner's token led to: charged on apply to this AZ's share
   * of the provisioner's rate-limit buckets (node/provisioners/rate-limit.ts). Absent otherwise.
   */
  renewalCharge?: RenewalCharge;
  at: number;
}

/** Whose buckets a renewal takes from: the provisioner and the certificate's CN. */
export interface RenewalCharge {
  provisioner: string;
  identity: string;
}

/**
 * A revocation. It carries the certificate's notAfter so it is complete without the certificate:
 * revocations are cluster-wide (docs/architecture.md §4.1, §4.4: the global log holds the
 * authoritative list) while a leaf is recorded only where it was issued.
 */
export interface RevokedEvent {
  type: 'Revoked';
  issuerId: string;
  serialHex: string;
  reason: CrlReason;
  revokedAt: number;
  requestedBy: string;
  /** The revoked certificate's notAfter: the entry may leave CRLs after it (RFC 5280 §3.3). */
  notAfter: number;
}

export interface CrlPublishedEvent {
  type: 'CrlPublished';
  issuerId: string;
  /** RFC 5280 §5.2.3: strictly increasing per issuer. */
  crlNumber: number;
  crlDer: Uint8Array;
  thisUpdate: number;
  nextUpdate: number;
}

/**
 * An AZ ICA's indirect CRL (RFC 5280 §5.2.5): every unexpired revoked leaf that the node ICAs it
 * certified issued, signed with the AZ ICA key by its AZ's local leader, so a revocation reaches a
 * CRL relying parties can fetch while the issuing node is down (node/revocation/indirect-crl.ts).
 * Its own CRL number sequence (another CRL scope than the AZ ICA's own CRL, §5.2.3).
 */
export interface IndirectCrlPublishedEvent {
  type: 'IndirectCrlPublished';
  /** The AZ ICA that signs it. */
  issuerId: string;
  crlNumber: number;
  crlDer: Uint8Array;
  thisUpdate: number;
  nextUpdate: number;
  /** The highest applied index among the revocations it lists (0 for none): a later one is missing from it. */
  coversIndex: number;
  /**
   * Partition k of the indirect CRL (state/crl-partitions.ts): the revoked leaves of partitioned
   * node ICAs whose serial falls in partition k of their CA. Absent: the unpartitioned indirect
   * CRL, of the leaves of node ICAs without partitions. Each is its own CRL number sequence.
   */
  partition?: number;
}

/**
 * One partition of a node ICA's CRL (RFC 5280 §5.2.5; state/crl-partitions.ts): the unexpired
 * revocations whose serial falls in `partition`, with an issuing distribution point naming the
 * URL leaves of that partition carry. Its own CRL number sequence per partition (each partition
 * is its own CRL scope, §5.2.3). Same tiers as CrlPublished.
 */
export interface PartitionCrlPublishedEvent {
  type: 'PartitionCrlPublished';
  issuerId: string;
  partition: number;
  crlNumber: number;
  crlDer: Uint8Array;
  thisUpdate: number;
  nextUpdate: number;
}

/**
 * A delta CRL (RFC 5280 §5.2.4) against the issuer's latest complete CRL: what was revoked since
 * it. Complete and delta CRLs share one CRL number sequence per issuer. Same tiers as CrlPublished.
 */
export interface DeltaCrlPublishedEvent {
  type: 'DeltaCrlPublished';
  issuerId: string;
  crlNumber: number;
  /** The complete CRL this delta updates: the issuer's latest when applied. */
  baseCrlNumber: number;
  crlDer: Uint8Array;
  thisUpdate: number;
  nextUpdate: number;
}

interface ProfileSetEvent {
  type: 'ProfileSet';
  name: string;
  profile: { [key: string]: PlainData };
}

interface ProfileRemovedEvent {
  type: 'ProfileRemoved';
  name: string;
}

interface ExpiredPrunedEvent {
  type: 'ExpiredPruned';
  /** Leaves with notAfter < before leave the state, with their revocations (RFC 5280 §3.3). */
  before: number;
  /** At most this many certificates per event, so one entry is bounded work; sweep again if full. */
  limit: number;
}

/** A join token minted by the cluster (recorded so it can be listed and revoked by expiry). */
interface JoinTokenIssuedEvent {
  type: 'JoinTokenIssued';
  tokenId: string;
  az: string;
  expiresAt: number;
  at: number;
}

/**
 * A join token spent by a registering node. Single use is decided here, through the log, so two
 * nodes racing with one token cannot both win. The token (e.g. an HS256 JWT minted offline,
 * docs/spec.md §3.9) is verified by the proposer; a token never issued through the log is recorded
 * as used with the `expiresAt` it carries, and forgotten by the expiry sweep once it can no longer
 * verify.
 */
export interface JoinTokenUsedEvent {
  type: 'JoinTokenUsed';
  /** The token's unique id (a JWT's `jti`). */
  tokenId: string;
  az: string;
  /** The node that presented it. */
  nodeId: string;
  /** When the token stops being valid (ms; a JWT's `exp` × 1000). */
  expiresAt: number;
  at: number;
}

/**
 * An AZ's OCSP responder key (docs/architecture.md §14): made by the AZ's local leader, sealed
 * under the operator's KEK like an AZ ICA key, so every node of the AZ can sign OCSP answers.
 * Global, so the CAs of every AZ can certify it. One per AZ.
 */
interface OcspResponderKeyInstalledEvent {
  type: 'OcspResponderKeyInstalled';
  az: string;
  /** Hex SHA-1 of the public key bits (RFC 5280 §4.2.1.2 method 1), as in the certificates naming it. */
  keyId: string;
  spkiDer: Uint8Array;
  wrappedKey: Uint8Array;
  at: number;
}

/**
 * A CA delegates OCSP signing to AZ `az`'s responder key (RFC 6960 §4.2.2.2): the responder
 * certificate it issued, signed before proposing by whoever holds the CA key (a node ICA by its
 * node). Global, so the responder's AZ holds it whichever AZ the CA lives in.
 */
interface OcspResponderCertifiedEvent {
  type: 'OcspResponderCertified';
  issuerId: string;
  az: string;
  keyId: string;
  serialHex: string;
  certDer: Uint8Array;
  notAfter: number;
  at: number;
}

export type PkiEvent =
  | ClusterCreatedEvent
  | ClusterSettingsSetEvent
  | AzAddedEvent
  | AzDeclaredEvent
  | AzFoundedEvent
  | AzRemovalStartedEvent
  | AzRefoundedEvent
  | AzRemovedEvent
  | CaCertificateInstalledEvent
  | CaKeyRewrappedEvent
  | RootRolledOverEvent
  | NodeRegisteredEvent
  | NodeRenewedEvent
  | NodeRemovedEvent
  | NodeActivityMarkedEvent
  | IssuedEvent
  | RevokedEvent
  | CrlPublishedEvent
  | ProfileSetEvent
  | ProfileRemovedEvent
  | ExpiredPrunedEvent
  | JoinTokenIssuedEvent
  | JoinTokenUsedEvent
  | OcspResponderKeyInstalledEvent
  | OcspResponderCertifiedEvent
  | DeltaCrlPublishedEvent
  | IndirectCrlPublishedEvent
  | PartitionCrlPublishedEvent
  | AcmeEvent
  | ProvisionerEvent
  | AuditCheckpointEvent;

export type PkiEventType = PkiEvent['type'];

export type EventOf<T extends PkiEventType> = Extract<PkiEvent, { type: T }>;
