// Apply handler of a root rollover (events.ts RootRolledOverEvent): the new root and its two
// cross certificates are recorded, and the cluster's root becomes the new one. The previous
// root's record and key stay: what it signed keeps a current CRL (node/revocation/crl-refresh.ts).
import type { CrossCertificate, EventOf } from './events.ts';
import { requireActiveCa, requireFreshSerial } from './apply-certs.ts';
import { raiseMapVersion } from './map-version.ts';
import { reject, type ApplyMeta, type ApplyResult } from './outcome.ts';
import { certKey, serialKey } from './tables.ts';
import type { StateTxn } from './txn.ts';

export async function applyRootRolledOver(tx: StateTxn, ev: EventOf<'RootRolledOver'>, meta: ApplyMeta): Promise<ApplyResult> {
  const cluster = await tx.getMeta('cluster');
  if (cluster === undefined) return reject('ERR_EVENT_REJECTED', 'the cluster has not been created');
  // Two rollovers built from one root: the first applied wins (the second names a replaced root).
  if (cluster.rootIssuerId !== ev.previousRootIssuerId) {
    reject('ERR_ALREADY_EXISTS', `root ${ev.previousRootIssuerId} is not the cluster's root any more: it was rolled over already`);
  }
  const previous = await requireActiveCa(tx, ev.previousRootIssuerId, ev.at);
  if (previous.role !== 'root') throw new Error(`assertion failed: the cluster's root ${previous.issuerId} has role ${previous.role}`);
  if (await tx.has('cas', ev.rootIssuerId)) reject('ERR_ALREADY_EXISTS', `CA ${ev.rootIssuerId} already exists`);
  await requireFreshSerial(tx, ev.rootIssuerId, ev.rootSerialHex);
  for (const cross of ev.crossCertificates) await requireFreshSerial(tx, cross.signerIssuerId, cross.serialHex);
  tx.put('cas', ev.rootIssuerId, {
    issuerId: ev.rootIssuerId,
    parentIssuerId: null,
    role: 'root',
    az: null,
    nodeId: null,
    certDer: ev.rootCertDer,
    wrappedKey: ev.wrappedRootKey ?? null,
    serialHex: ev.rootSerialHex,
    notAfter: ev.rootNotAfter,
    installedAt: ev.at,
    revokedAt: null,
    index: meta.index,
  });
  // A self-signed root is filed under itself (RFC 5280 §6.1), as ClusterCreated files the first.
  putRootCertificate(tx, { signerIssuerId: ev.rootIssuerId, subjectIssuerId: ev.rootIssuerId, certDer: ev.rootCertDer, serialHex: ev.rootSerialHex, notAfter: ev.rootNotAfter }, ev.at, meta);
  // A cross certificate is filed under the root that signed it, naming the root it certifies.
  for (const cross of ev.crossCertificates) putRootCertificate(tx, cross, ev.at, meta);
  tx.putMeta('cluster', { ...cluster, rootIssuerId: ev.rootIssuerId });
  await raiseMapVersion(tx);
  return { type: 'RootRolledOver' };
}

function putRootCertificate(tx: StateTxn, cert: CrossCertificate, at: number, meta: ApplyMeta): void {
  tx.put('certs', certKey(cert.signerIssuerId, cert.serialHex), {
    kind: 'ca',
    issuerId: cert.signerIssuerId,
    serialHex: cert.serialHex,
    certDer: cert.certDer,
    notAfter: cert.notAfter,
    caIssuerId: cert.subjectIssuerId,
    role: 'root',
    issuedAt: at,
    index: meta.index,
  });
  tx.put('serials', serialKey(cert.serialHex, cert.signerIssuerId), { issuerId: cert.signerIssuerId, serialHex: cert.serialHex, pruned: false });
}
