// What `adrestia-pki cluster restore` commits to found a new cluster from a backup (node/admin/
// backup-file.ts), as events built from each AZ's backed-up state. The state machine checks every
// one of them again, exactly as when they were first committed (state/apply-*.ts). Per AZ, in
// this order (docs/architecture.md "Backup, restore and rebuilding an AZ"):
//   1. global, by the global leader when the AZ is founded: its AZ ICAs (keys still wrapped under
//      the KEK) and the node ICAs of its former nodes (certificates only: their keys are gone);
//   2. local, by the AZ's first node: every leaf in original log order and the latest CRL of each
//      former node ICA, which no node can sign again;
//   3. global: the revocations of the AZ's CA certificates, last, so the leaves those CAs signed
//      before their revocation are accepted in step 2 (a revoked CA signs nothing: apply-certs.ts).
// The cluster founder commits first the cluster itself (the backed-up root, its AZ, the other AZs
// declared for their first nodes to found), the profiles and every other revocation.
import { decodeSnapshot } from '../../state/snapshot.ts';
import { PkiError } from '../../errors.ts';
import type { AzSpec, CaCertificateInstalledEvent, CrlPublishedEvent, IssuedEvent, PkiEvent, RevokedEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord, LeafCertificateRecord, RevocationRecord } from '../../state/records.ts';
import { PkiStateStore } from '../../state/store.ts';
import type { ClusterBackup } from '../admin/backup-file.ts';
import { clusterCreatedEvent } from './ca-found.ts';

/** Who the restored records say asked for what the restore commits anew. */
const RESTORED_BY = 'restore';

/** The backed-up state of AZ `az`, opened in memory (the backup was checked when decoded). */
export async function backupStateOf(backup: ClusterBackup, az: string): Promise<PkiStateQueries> {
  const part = backup.azs.find((a) => a.az === az);
  if (part === undefined) throw new PkiError('ERR_INPUT_INVALID', `the backup holds no AZ ${az} (it holds ${backup.azs.map((a) => a.az).join(', ')})`, { field: 'backup' });
  decodeSnapshot(part.snapshot);
  const store = await PkiStateStore.inMemory();
  await store.restore(part.snapshot);
  return store;
}

/** The cluster founder's global events: the cluster, the AZs, the profiles, the revocations of no AZ CA. */
export async function clusterRestoreEvents(state: PkiStateQueries, backup: ClusterBackup, founderAz: string, nowMs: number): Promise<PkiEvent[]> {
  const cluster = await state.cluster();
  const root = cluster === undefined ? undefined : await state.getCa(cluster.rootIssuerId);
  if (cluster === undefined || root === undefined) throw new PkiError('ERR_INPUT_INVALID', 'the backup holds no cluster', { field: 'backup' });
  const events: PkiEvent[] = [
    clusterCreatedEvent({ clusterId: cluster.clusterId, root: { cert: root.certDer, issuerId: root.issuerId }, wrappedRootKey: root.wrappedKey ?? undefined, settings: await state.settings(), nowMs: cluster.createdAt }),
  ];
  for (const az of await state.azs()) {
    if (az.phase === 'removing') continue;
    const spec: AzSpec = { name: az.name, subnets: [...az.subnets], localVip: az.localVip };
    events.push(az.name === founderAz ? { type: 'AzAdded', az: spec, at: az.addedAt } : { type: 'AzDeclared', az: spec, requestedBy: RESTORED_BY, at: nowMs });
  }
  for (const p of await state.profiles()) events.push({ type: 'ProfileSet', name: p.name, profile: p.profile });
  const restoredAzs = new Set(backup.azs.map((a) => a.az));
  for (const r of await state.revocations()) if (!restoredAzs.has((await revokedCaAz(state, r)) ?? '')) events.push(revokedEventOf(r));
  return events;
}

/** Step 1 for AZ `az`: its CA certificates in original log order (its AZ ICAs first by position). */
export async function azCaRestoreEvents(state: PkiStateQueries, az: string): Promise<CaCertificateInstalledEvent[]> {
  const cas = (await state.cas()).filter((ca) => ca.az === az && ca.role !== 'root' && ca.parentIssuerId !== null).sort((a, b) => a.index - b.index);
  return cas.map((ca) => caInstalledEventOf(ca));
}

/** Step 2 for AZ `az`: its leaves in original log order, then each former node ICA's latest CRL. */
export async function azLocalRestoreEvents(state: PkiStateQueries, az: string): Promise<(IssuedEvent | CrlPublishedEvent)[]> {
  const nodeCas = (await state.cas()).filter((ca) => ca.az === az && ca.role === 'node');
  const leaves: LeafCertificateRecord[] = [];
  for (const ca of nodeCas) for (const c of await state.listCertificates(ca.issuerId, Number.MAX_SAFE_INTEGER)) if (c.kind === 'leaf') leaves.push(c);
  const events: (IssuedEvent | CrlPublishedEvent)[] = leaves.sort((a, b) => a.index - b.index).map(issuedEventOf);
  for (const ca of nodeCas) {
    const crl = await state.latestCrl(ca.issuerId);
    if (crl !== undefined) events.push({ type: 'CrlPublished', issuerId: crl.issuerId, crlNumber: crl.crlNumber, crlDer: crl.crlDer, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate });
  }
  return events;
}

/** Step 3 for AZ `az`: the revocations of its CA certificates (AZ ICAs, former node ICAs). */
export async function azCaRevocationEvents(state: PkiStateQueries, az: string): Promise<RevokedEvent[]> {
  const out: RevokedEvent[] = [];
  for (const r of await state.revocations()) if ((await revokedCaAz(state, r)) === az) out.push(revokedEventOf(r));
  return out;
}

/** The AZ of the CA whose certificate `r` revokes; null when it revokes a leaf or a node TLS certificate. */
async function revokedCaAz(state: PkiStateQueries, r: RevocationRecord): Promise<string | null> {
  const cert = await state.getCertificate(r.issuerId, r.serialHex);
  if (cert?.kind !== 'ca') return null;
  return (await state.getCa(cert.caIssuerId))?.az ?? null;
}

function caInstalledEventOf(ca: CaRecord): CaCertificateInstalledEvent {
  return {
    type: 'CaCertificateInstalled',
    issuerId: ca.issuerId,
    parentIssuerId: ca.parentIssuerId!,
    role: ca.role,
    ...(ca.az === null ? {} : { az: ca.az }),
    ...(ca.nodeId === null ? {} : { nodeId: ca.nodeId }),
    certDer: ca.certDer,
    ...(ca.wrappedKey === null ? {} : { wrappedKey: ca.wrappedKey }),
    serialHex: ca.serialHex,
    notAfter: ca.notAfter,
    ...(ca.crlPartitions === undefined ? {} : { crlPartitions: ca.crlPartitions }),
    at: ca.installedAt,
  };
}

/** Without `renewalCharge`: a restored certificate is recorded, never refused by a rate limit (docs/architecture.md §16.1). */
function issuedEventOf(c: LeafCertificateRecord): IssuedEvent {
  return {
    type: 'Issued',
    issuerId: c.issuerId,
    serialHex: c.serialHex,
    certDer: c.certDer,
    notAfter: c.notAfter,
    subject: c.subject,
    sans: [...c.sans],
    profile: c.profile,
    requester: c.requester,
    publicKeyHash: c.publicKeyHash,
    idempotencyKey: c.idempotencyKey,
    at: c.issuedAt,
  };
}

function revokedEventOf(r: RevocationRecord): RevokedEvent {
  return { type: 'Revoked', issuerId: r.issuerId, serialHex: r.serialHex, reason: r.reason, revokedAt: r.revokedAt, requestedBy: r.requestedBy, notAfter: r.notAfter };
}
