// The tables (LevelDB sublevels) of the PKI state and how their keys are built. Keys are ASCII
// strings: ids and hex are printable ASCII by the decoder's rules, and NUL separates the parts of
// a compound key, so prefix ranges (all serials of one issuer, all issuers of one serial) are
// exact and string order equals LevelDB byte order.
import { plainMessagePack } from '@adrestia/consensus';
import type {
  AppliedRecord,
  AuditCheckpointRecord,
  AuditEntryRecord,
  AuditHeadRecord,
  AzRecord,
  CaRecord,
  CertificateRecord,
  ClusterRecord,
  ClusterSettings,
  CrlRecord,
  DeltaCrlRecord,
  IdempotencyRecord,
  JoinTokenRecord,
  NodeRecord,
  OcspResponderCertRecord,
  OcspResponderKeyRecord,
  ProfileRecord,
  RevocationRecord,
  SerialRecord,
} from './records.ts';
import type { AcmeRecord } from './acme-records.ts';
import type { ProvisionerTableRecord } from './provisioner-records.ts';

interface ExpiryRecord {
  issuerId: string;
  serialHex: string;
}

export interface MetaRecords {
  applied: AppliedRecord;
  cluster: ClusterRecord;
  settings: ClusterSettings;
  /** The highest `before` of an applied `ExpiredPruned`. */
  prunedBefore: number;
  /** Accepted events that changed the cluster map's replicated inputs (map-version.ts). */
  mapVersion: number;
  /** The heads of the logs' audit chains (audit-chain.ts). */
  auditGlobal: AuditHeadRecord;
  auditLocal: AuditHeadRecord;
  /** The latest signed checkpoint of each log (state/audit-events.ts). */
  auditCheckpointGlobal: AuditCheckpointRecord;
  auditCheckpointLocal: AuditCheckpointRecord;
}

export interface TableRecords {
  meta: MetaRecords[keyof MetaRecords];
  certs: CertificateRecord;
  serials: SerialRecord;
  expiry: ExpiryRecord;
  revoked: RevocationRecord;
  /** Every revocation by the certificate's notAfter, so the sweep finds them without the certificate. */
  revokedExpiry: ExpiryRecord;
  crls: CrlRecord;
  profiles: ProfileRecord;
  azs: AzRecord;
  nodes: NodeRecord;
  cas: CaRecord;
  tokens: JoinTokenRecord;
  idem: IdempotencyRecord;
  /** By AZ: its OCSP responder key. */
  ocspKeys: OcspResponderKeyRecord;
  /** By issuer + AZ: the responder certificate the issuer gave that AZ's key. */
  ocspCerts: OcspResponderCertRecord;
  /** By issuer: its latest delta CRL. */
  deltaCrls: DeltaCrlRecord;
  /** ACME accounts, keys, orders and authorizations (acme-records.ts). */
  acme: AcmeRecord;
  /** Provisioners and their spent one-time tokens (provisioner-records.ts). */
  provisioners: ProvisionerTableRecord;
  /** By log + position: this node's history of applied commands (audit-chain.ts); never in a snapshot. */
  audit: AuditEntryRecord;
}

export type TableName = keyof TableRecords;

/** In snapshot order; changing it changes the snapshot format (bump SNAPSHOT_FORMAT_VERSION). */
export const TABLE_NAMES: readonly TableName[] = Object.freeze([
  'meta',
  'certs',
  'serials',
  'expiry',
  'revoked',
  'revokedExpiry',
  'crls',
  'profiles',
  'azs',
  'nodes',
  'cas',
  'tokens',
  'idem',
  'ocspKeys',
  'ocspCerts',
  'deltaCrls',
  'acme',
  'provisioners',
  'audit',
] as const);

/**
 * Tables a snapshot leaves out while empty, so a state that never used them snapshots to the
 * bytes it did before they existed (snapshot.ts).
 */
export const TABLES_OMITTED_WHEN_EMPTY: ReadonlySet<TableName> = new Set<TableName>(['acme', 'provisioners', 'audit']);

/**
 * Tables that are this node's own record, not replicated state: a snapshot leaves them out (so
 * they are empty after a restore) and they grow with every applied command (audit-chain.ts).
 */
export const TABLES_NOT_IN_SNAPSHOT: ReadonlySet<TableName> = new Set<TableName>(['audit']);

const SEP = '\x00';

/** certs, revoked: one certificate of one issuer. */
export function certKey(issuerId: string, serialHex: string): string {
  return issuerId + SEP + serialHex;
}

/** serials: lets findBySerial search across issuers; entries outlive pruning. */
export function serialKey(serialHex: string, issuerId: string): string {
  return serialHex + SEP + issuerId;
}

/** expiry: notAfter as 16 hex digits (big-endian, so string order is time order), issuer, serial. */
export function expiryKey(notAfter: number, issuerId: string, serialHex: string): string {
  return expiryPrefix(notAfter) + SEP + issuerId + SEP + serialHex;
}

export function expiryPrefix(notAfter: number): string {
  return notAfter.toString(16).padStart(16, '0');
}

/** The half-open key range [gte, lt) of keys starting with `prefix` + SEP. */
export function prefixRange(prefix: string): { gte: string; lt: string } {
  return { gte: prefix + SEP, lt: prefix + '\x01' };
}

export function encodeRecord(value: unknown): Uint8Array {
  // Copy: msgpackr may reuse the memory behind what it returned on a later pack.
  return new Uint8Array(plainMessagePack.pack(value));
}

export function decodeRecord<T>(bytes: Uint8Array): T {
  return plainBytes(plainMessagePack.unpack(bytes)) as T;
}

/** msgpackr returns Buffers; callers get plain Uint8Arrays, as the events carried them. */
function plainBytes(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(plainBytes);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) obj[key] = plainBytes(obj[key]);
  }
  return value;
}
