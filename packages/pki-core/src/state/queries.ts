// Read-only queries over the committed PKI state. They read what LevelDB holds, i.e. the state
// through `appliedIndex()`; a linearizable read waits for its ReadIndex to be applied first
// (Raft §6.4), which is the caller's duty.
import { cidrContains, parseCidr, parseIpAddress, unmapIpv4 } from '../net/ip.ts';
import { DEFAULT_CLUSTER_SETTINGS, type ClusterSettings } from './events.ts';
import type {
  AzRecord,
  CaRecord,
  CertificateRecord,
  ClusterRecord,
  CrlRecord,
  DeltaCrlRecord,
  JoinTokenRecord,
  LeafCertificateRecord,
  NodeRecord,
  OcspResponderCertRecord,
  OcspResponderKeyRecord,
  ProfileRecord,
  RevocationRecord,
} from './records.ts';
import type { AcmeRecord } from './acme-records.ts';
import { PROVISIONER_PREFIX, provisionerBucketKey, provisionerKey, provisionerTokenKey, type BucketScope, type ProvisionerBucketRecord, type ProvisionerRecord, type ProvisionerTokenRecord } from './provisioner-records.ts';
import { AUDIT_GENESIS_HEAD, auditCheckpointKey, auditEntryKey, auditHeadKey, type AuditCheckpointRecord, type AuditEntryRecord, type AuditHeadRecord, type AuditLog } from './audit-chain.ts';
import { certKey, expiryPrefix, prefixRange } from './tables.ts';
import { partitionCrlKey } from './crl-partitions.ts';
import { indirectCrlKey } from './indirect-crl-key.ts';
import { Overlay, StateTxn, type KvReader } from './txn.ts';

/** Default bound on the certificate lists (callers page with their own limit). */
const MAX_LIST_ITEMS = 100_000;

export class PkiStateQueries {
  constructor(private readonly reader: KvReader) {}

  /** An ACME record by its key (acme-records.ts builds the keys). */
  async getAcme(key: string): Promise<AcmeRecord | undefined> {
    return this.view().get('acme', key);
  }

  /** ACME records whose keys start with `prefix` + NUL, in key order, at most `limit`. */
  async rangeAcme(prefix: string, range: { gte?: string; limit: number }): Promise<[string, AcmeRecord][]> {
    const whole = prefixRange(prefix);
    return this.view().range('acme', { gte: range.gte ?? whole.gte, lt: whole.lt, limit: range.limit });
  }

  /** The provisioner `name`, if one was added and not removed. */
  async getProvisioner(name: string): Promise<ProvisionerRecord | undefined> {
    const record = await this.view().get('provisioners', provisionerKey(name));
    return record?.kind === 'provisioner' ? record : undefined;
  }

  /** Every provisioner, by name. */
  async provisioners(): Promise<ProvisionerRecord[]> {
    const records = await this.values('provisioners', prefixRange(PROVISIONER_PREFIX));
    return records.filter((r): r is ProvisionerRecord => r.kind === 'provisioner');
  }

  /** The rate-limit bucket of `provisioner`, or of its `identity` (node/provisioners/rate-limit.ts), if one is held. */
  async provisionerBucket(provisioner: string, identity?: string, scope: BucketScope = 'global'): Promise<ProvisionerBucketRecord | undefined> {
    const record = await this.view().get('provisioners', provisionerBucketKey(provisioner, identity, scope));
    return record?.kind === 'bucket' ? record : undefined;
  }

  /** The spend of the one-time token `tokenId` of `provisioner`, if it was spent (and not yet forgotten after its expiry). */
  async provisionerTokenSpend(provisioner: string, tokenId: string): Promise<ProvisionerTokenRecord | undefined> {
    const record = await this.view().get('provisioners', provisionerTokenKey(provisioner, tokenId));
    return record?.kind === 'token' ? record : undefined;
  }

  /** The head of a log's audit chain (position 0 and the genesis head before any command). */
  async auditHead(log: AuditLog): Promise<AuditHeadRecord> {
    return (await this.view().getMeta(auditHeadKey(log))) ?? { position: 0, head: AUDIT_GENESIS_HEAD };
  }

  /** The latest signed checkpoint of a log accepted here (state/audit-events.ts); undefined before the first. */
  auditCheckpoint(log: AuditLog): Promise<AuditCheckpointRecord | undefined> {
    return this.view().getMeta(auditCheckpointKey(log));
  }

  /** This node's history of a log from `fromPosition` on, in position order, at most `limit`. */
  async auditEntries(log: AuditLog, fromPosition: number, limit: number): Promise<AuditEntryRecord[]> {
    return this.values('audit', { gte: auditEntryKey(log, fromPosition), lt: `${log}\x01`, limit });
  }

  /** A fresh view of the committed state (no pending writes). */
  protected view(): StateTxn {
    return new StateTxn(new Overlay(this.reader));
  }

  private async values<T extends Parameters<StateTxn['range']>[0]>(table: T, range: { gte?: string; lt?: string; limit?: number } = {}) {
    const entries = await this.view().range(table, range);
    return entries.map(([, v]) => v);
  }

  async cluster(): Promise<ClusterRecord | undefined> {
    return this.view().getMeta('cluster');
  }

  /** The cluster map's replicated version (map-version.ts); 0 before the cluster exists. */
  async mapVersion(): Promise<number> {
    return (await this.view().getMeta('mapVersion')) ?? 0;
  }

  async settings(): Promise<ClusterSettings> {
    return (await this.view().getMeta('settings')) ?? { ...DEFAULT_CLUSTER_SETTINGS };
  }

  async getCertificate(issuerId: string, serialHex: string): Promise<CertificateRecord | undefined> {
    return this.view().get('certs', certKey(issuerId, serialHex));
  }

  /** Whether the issuer's certificate `serialHex` is held, without decoding its record (an OCSP answer's `good`). */
  async hasCertificate(issuerId: string, serialHex: string): Promise<boolean> {
    return this.view().has('certs', certKey(issuerId, serialHex));
  }

  /** Every certificate with this serial, whatever its issuer (serials are unique only per issuer). */
  async findBySerial(serialHex: string): Promise<CertificateRecord[]> {
    const found: CertificateRecord[] = [];
    for (const s of await this.values('serials', prefixRange(serialHex))) {
      const cert = await this.getCertificate(s.issuerId, s.serialHex);
      if (cert !== undefined) found.push(cert);
    }
    return found;
  }

  /** True if the issuer ever used this serial, even for a certificate since pruned. */
  async isSerialUsed(issuerId: string, serialHex: string): Promise<boolean> {
    return (await this.values('serials', prefixRange(serialHex))).some((s) => s.issuerId === issuerId);
  }

  async listCertificates(issuerId: string, limit = MAX_LIST_ITEMS): Promise<CertificateRecord[]> {
    return this.values('certs', { ...prefixRange(issuerId), limit });
  }

  async getRevocation(issuerId: string, serialHex: string): Promise<RevocationRecord | undefined> {
    return this.view().get('revoked', certKey(issuerId, serialHex));
  }

  /**
   * The issuer's revoked certificates not yet pruned, by serial: what its next CRL lists. Never
   * truncated — a CRL missing an entry would let a revoked certificate pass.
   */
  async listRevoked(issuerId: string): Promise<RevocationRecord[]> {
    return this.values('revoked', prefixRange(issuerId));
  }

  /** Every revocation held, by issuer then serial (invariant checks: revocations reach every AZ). */
  async revocations(): Promise<RevocationRecord[]> {
    return this.values('revoked');
  }

  async latestCrl(issuerId: string): Promise<CrlRecord | undefined> {
    return this.view().get('crls', issuerId);
  }

  /** RFC 5280 §5.2.3: the number the issuer's next CRL must carry (complete and delta CRLs share the sequence, §5.2.4). */
  async nextCrlNumber(issuerId: string): Promise<number> {
    const latest = await this.latestCrl(issuerId);
    const delta = await this.latestDeltaCrl(issuerId);
    return Math.max(latest?.crlNumber ?? 0, delta?.crlNumber ?? 0) + 1;
  }

  /** The latest CRL of one partition of a node ICA's CRL (state/crl-partitions.ts; PartitionCrlPublished). */
  async latestPartitionCrl(issuerId: string, partition: number): Promise<CrlRecord | undefined> {
    return this.view().get('crls', partitionCrlKey(issuerId, partition));
  }

  /** An AZ ICA's latest indirect CRL (RFC 5280 §5.2.5; IndirectCrlPublished), or of one partition of it. */
  async latestIndirectCrl(azIcaIssuerId: string, partition?: number): Promise<CrlRecord | undefined> {
    return this.view().get('crls', indirectCrlKey(azIcaIssuerId, partition));
  }

  /** The issuer's latest delta CRL (RFC 5280 §5.2.4), whatever complete CRL it updates. */
  async latestDeltaCrl(issuerId: string): Promise<DeltaCrlRecord | undefined> {
    return this.view().get('deltaCrls', issuerId);
  }

  /** Leaves with notAfter < t, soonest first (renewal and the expiry sweep). */
  async listExpiringBefore(t: number, limit = MAX_LIST_ITEMS): Promise<LeafCertificateRecord[]> {
    const found: LeafCertificateRecord[] = [];
    for (const e of await this.values('expiry', { lt: expiryPrefix(t), limit })) {
      const cert = await this.getCertificate(e.issuerId, e.serialHex);
      if (cert?.kind !== 'leaf') throw new Error(`assertion failed: expiry index names a missing leaf ${e.serialHex}`);
      found.push(cert);
    }
    return found;
  }

  /**
   * The certificate a retried request would get back at time `at`, if any: lets the proposer
   * answer a retry without signing again. `applyEvent` makes the same decision authoritatively.
   */
  async findIdempotent(idempotencyKey: string, at: number): Promise<LeafCertificateRecord | undefined> {
    const prior = await this.view().get('idem', idempotencyKey);
    if (prior === undefined || at >= prior.at + (await this.settings()).idempotencyWindowMs) return undefined;
    const cert = await this.getCertificate(prior.issuerId, prior.serialHex);
    if (cert?.kind !== 'leaf' || (await this.getRevocation(prior.issuerId, prior.serialHex)) !== undefined) return undefined;
    return cert;
  }

  async getCa(issuerId: string): Promise<CaRecord | undefined> {
    return this.view().get('cas', issuerId);
  }

  async cas(): Promise<CaRecord[]> {
    return this.values('cas');
  }

  /**
   * The cross certificates between the cluster's roots (events.ts RootRolledOverEvent): CA
   * certificates of role root filed under another root, oldest rollover first.
   */
  async crossCertificates(): Promise<CertificateRecord[]> {
    const roots = (await this.cas()).filter((ca) => ca.role === 'root');
    const found: CertificateRecord[] = [];
    for (const root of roots) {
      for (const cert of await this.listCertificates(root.issuerId)) {
        if (cert.kind === 'ca' && cert.role === 'root' && cert.caIssuerId !== root.issuerId) found.push(cert);
      }
    }
    return found.sort((a, b) => a.index - b.index || (a.issuerId < b.issuerId ? -1 : 1));
  }

  async getProfile(name: string): Promise<ProfileRecord | undefined> {
    return this.view().get('profiles', name);
  }

  async profiles(): Promise<ProfileRecord[]> {
    return this.values('profiles');
  }

  async getAz(name: string): Promise<AzRecord | undefined> {
    return this.view().get('azs', name);
  }

  async azs(): Promise<AzRecord[]> {
    return this.values('azs');
  }

  /** The AZ whose client subnets contain `address` (request routing by REMOTE_ADDR, docs/spec.md §4.1). */
  async azForAddress(address: string): Promise<AzRecord | undefined> {
    const parsed = parseIpAddress(address);
    if (parsed === undefined) return undefined;
    const ip = unmapIpv4(parsed);
    return (await this.azs()).find((az) => az.subnets.some((s) => {
      const block = parseCidr(s);
      return block !== undefined && cidrContains(block, ip);
    }));
  }

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    return this.view().get('nodes', nodeId);
  }

  async nodes(): Promise<NodeRecord[]> {
    return this.values('nodes');
  }

  async getJoinToken(tokenId: string): Promise<JoinTokenRecord | undefined> {
    return this.view().get('tokens', tokenId);
  }

  /** For `assertJoinTokenUnused` (cluster/join-token.ts): has this token id been spent? */
  async isJoinTokenUsed(tokenId: string): Promise<boolean> {
    return ((await this.getJoinToken(tokenId))?.usedAt ?? null) !== null;
  }

  async joinTokens(): Promise<JoinTokenRecord[]> {
    return this.values('tokens');
  }

  /** AZ `az`'s OCSP responder key (docs/architecture.md §14), once installed. */
  async ocspResponderKey(az: string): Promise<OcspResponderKeyRecord | undefined> {
    return this.view().get('ocspKeys', az);
  }

  /** Every AZ's OCSP responder key, by AZ. */
  async ocspResponderKeys(): Promise<OcspResponderKeyRecord[]> {
    return this.values('ocspKeys');
  }

  /** The latest responder certificate issuer `issuerId` gave AZ `az`'s responder key. */
  async ocspResponderCert(issuerId: string, az: string): Promise<OcspResponderCertRecord | undefined> {
    return this.view().get('ocspCerts', certKey(issuerId, az));
  }
}
