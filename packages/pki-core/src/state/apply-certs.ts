// Apply handlers for certificates: CA installation, issuance (with idempotent retries),
// revocation, CRL publication and the replicated expiry sweep.
import { DEFAULT_CLUSTER_SETTINGS, type EventOf } from './events.ts';
import { idempotencyKey } from './idempotency.ts';
import { raiseMapVersion } from './map-version.ts';
import { reject, type ApplyMeta, type ApplyResult } from './outcome.ts';
import type { CaRecord, CrlRecord, LeafCertificateRecord } from './records.ts';
import { certKey, expiryKey, expiryPrefix, prefixRange, serialKey } from './tables.ts';
import { ACME_EAB_PREFIX, acmeEabKey } from './acme-records.ts';
import type { StateTxn } from './txn.ts';
import { chargeRenewal } from './apply-provisioners.ts';

/** RFC 5280 §4.1.2.2: a serial is unique per issuer, for good, so pruned serials stay reserved. */
export async function requireFreshSerial(tx: StateTxn, issuerId: string, serialHex: string): Promise<void> {
  if (await tx.has('serials', serialKey(serialHex, issuerId))) {
    reject('ERR_SERIAL_REUSED', `serial ${serialHex} was already used by issuer ${issuerId}`);
  }
}

/**
 * A CA that may sign at `at`: known, never revoked (the mark on its record outlives the CRL
 * entry, which the sweep removes after expiry), and not expired.
 */
export async function requireActiveCa(tx: StateTxn, issuerId: string, at: number): Promise<CaRecord> {
  const ca = await tx.get('cas', issuerId);
  if (ca === undefined) return reject('ERR_ISSUER_UNKNOWN', `issuer ${issuerId} is unknown`);
  if (ca.revokedAt !== null) reject('ERR_EVENT_REJECTED', `issuer ${issuerId} is revoked`);
  if (at >= ca.notAfter) reject('ERR_EVENT_REJECTED', `issuer ${issuerId} expired at ${ca.notAfter}`);
  return ca;
}

async function checkCaParent(tx: StateTxn, ev: EventOf<'CaCertificateInstalled'>): Promise<void> {
  if (ev.role === 'root') return;
  const az = await tx.get('azs', ev.az!);
  if (az === undefined) return reject('ERR_AZ_UNKNOWN', `AZ ${ev.az} is unknown`);
  // No CA for an AZ that no node founded yet, nor for one being removed (apply-cluster.ts).
  if (az.phase === 'declared') reject('ERR_EVENT_REJECTED', `AZ ${ev.az} is declared but not founded yet`);
  if (az.phase === 'removing') reject('ERR_AZ_REMOVING', `AZ ${ev.az} is being removed`);
  const parent = await requireActiveCa(tx, ev.parentIssuerId!, ev.at);
  // docs/architecture.md §4.2 hierarchy: root → AZ ICA → node ICA of a node in that AZ.
  const expected = ev.role === 'az' ? 'root' : 'az';
  if (parent.role !== expected || (ev.role === 'node' && parent.az !== ev.az)) {
    reject('ERR_EVENT_REJECTED', `a ${ev.role} CA must be signed by ${expected === 'root' ? 'a root' : 'its AZ'} CA`);
  }
  requireWithinIssuer(parent, ev.notAfter);
}

/** A renewal succeeds the newest unrevoked CA of its role, once (events.ts `replacesIssuerId`). */
async function checkReplaces(tx: StateTxn, ev: EventOf<'CaCertificateInstalled'>): Promise<void> {
  if (ev.replacesIssuerId === undefined) return;
  const sameRole = (ca: CaRecord): boolean => ca.role === ev.role && ca.az === (ev.az ?? null) && ca.nodeId === (ev.nodeId ?? null) && ca.revokedAt === null;
  const newest = (await tx.range('cas', {})).map(([, ca]) => ca).filter(sameRole).sort((a, b) => b.installedAt - a.installedAt || b.index - a.index)[0];
  if (newest?.issuerId !== ev.replacesIssuerId) {
    reject('ERR_ALREADY_EXISTS', `CA ${ev.replacesIssuerId} is not the newest ${ev.role} CA of its role: it was renewed already`);
  }
}

export async function applyCaCertificateInstalled(tx: StateTxn, ev: EventOf<'CaCertificateInstalled'>, meta: ApplyMeta): Promise<ApplyResult> {
  if (await tx.has('cas', ev.issuerId)) reject('ERR_ALREADY_EXISTS', `CA ${ev.issuerId} already exists`);
  await checkCaParent(tx, ev);
  await checkReplaces(tx, ev);
  const signer = ev.parentIssuerId ?? ev.issuerId;
  await requireFreshSerial(tx, signer, ev.serialHex);
  tx.put('cas', ev.issuerId, {
    issuerId: ev.issuerId,
    parentIssuerId: ev.parentIssuerId ?? null,
    role: ev.role,
    az: ev.az ?? null,
    nodeId: ev.nodeId ?? null,
    certDer: ev.certDer,
    wrappedKey: ev.wrappedKey ?? null,
    serialHex: ev.serialHex,
    notAfter: ev.notAfter,
    installedAt: ev.at,
    revokedAt: null,
    index: meta.index,
    // Only when set, so a CA created without partitions encodes as before.
    ...(ev.crlPartitions === undefined ? {} : { crlPartitions: ev.crlPartitions }),
  });
  tx.put('certs', certKey(signer, ev.serialHex), {
    kind: 'ca',
    issuerId: signer,
    serialHex: ev.serialHex,
    certDer: ev.certDer,
    notAfter: ev.notAfter,
    caIssuerId: ev.issuerId,
    role: ev.role,
    issuedAt: ev.at,
    index: meta.index,
  });
  tx.put('serials', serialKey(ev.serialHex, signer), { issuerId: signer, serialHex: ev.serialHex, pruned: false });
  // The map lists root and AZ CA certificates; a node CA shows only once revoked (map-version.ts).
  if (ev.role !== 'node') await raiseMapVersion(tx);
  return { type: 'CaCertificateInstalled' };
}

/**
 * KEK rotation: the event must name every sealed key the state holds — each root and AZ CA key,
 * each AZ's OCSP responder key — exactly once, so after it no key is left under the old KEK.
 */
export async function applyCaKeyRewrapped(tx: StateTxn, ev: EventOf<'CaKeyRewrapped'>): Promise<ApplyResult> {
  const named = new Set<string>();
  for (const key of ev.keys) {
    const id = key.kind === 'ca' ? `ca:${key.issuerId}` : key.kind === 'ocspResponder' ? `ocspResponder:${key.az}` : `acmeEab:${key.keyId}`;
    if (named.has(id)) reject('ERR_EVENT_REJECTED', `${id} is named twice`);
    named.add(id);
  }
  const sealedCas = (await tx.range('cas', {})).map(([, ca]) => ca).filter((ca) => ca.wrappedKey !== null);
  const ocspKeys = (await tx.range('ocspKeys', {})).map(([, k]) => k);
  const eabKeys = (await tx.range('acme', prefixRange(ACME_EAB_PREFIX))).flatMap(([, r]) => (r.kind === 'eab' ? [r] : []));
  const held = [...sealedCas.map((ca) => `ca:${ca.issuerId}`), ...ocspKeys.map((k) => `ocspResponder:${k.az}`), ...eabKeys.map((k) => `acmeEab:${k.keyId}`)];
  const missing = held.filter((id) => !named.has(id));
  if (missing.length > 0) reject('ERR_EVENT_REJECTED', `the rotation leaves ${missing.join(', ')} under the old KEK`);
  if (named.size !== held.length) reject('ERR_EVENT_REJECTED', 'the rotation names a key the state does not hold sealed (a node CA key never leaves its node)');
  for (const key of ev.keys) {
    if (key.kind === 'ca') {
      const ca = await tx.get('cas', key.issuerId);
      if (ca === undefined) throw new Error(`assertion failed: sealed CA ${key.issuerId} vanished`);
      tx.put('cas', key.issuerId, { ...ca, wrappedKey: key.wrappedKey });
    } else if (key.kind === 'ocspResponder') {
      const k = await tx.get('ocspKeys', key.az);
      if (k === undefined) throw new Error(`assertion failed: OCSP responder key of ${key.az} vanished`);
      tx.put('ocspKeys', key.az, { ...k, wrappedKey: key.wrappedKey });
    } else {
      const k = await tx.get('acme', acmeEabKey(key.keyId));
      if (k?.kind !== 'eab') throw new Error(`assertion failed: ACME EAB key ${key.keyId} vanished`);
      tx.put('acme', acmeEabKey(key.keyId), { ...k, keySealed: key.keySealed });
    }
  }
  return { type: 'CaKeyRewrapped' };
}

/** The certificate already issued for a retried request, if it is within the window and still good. */
async function findRetried(tx: StateTxn, ev: EventOf<'Issued'>): Promise<LeafCertificateRecord | undefined> {
  const prior = await tx.get('idem', ev.idempotencyKey);
  if (prior === undefined) return undefined;
  const windowMs = ((await tx.getMeta('settings')) ?? DEFAULT_CLUSTER_SETTINGS).idempotencyWindowMs;
  if (ev.at >= prior.at + windowMs) return undefined;
  const cert = await tx.get('certs', certKey(prior.issuerId, prior.serialHex));
  if (cert === undefined || cert.kind !== 'leaf') return undefined;
  if (await tx.has('revoked', certKey(prior.issuerId, prior.serialHex))) return undefined;
  return cert;
}

/** RFC 5280 §6.1.3: a certificate outliving its issuer fails path validation after the issuer expires. */
export function requireWithinIssuer(issuer: CaRecord, notAfter: number): void {
  if (notAfter > issuer.notAfter) reject('ERR_LIFETIME_EXCEEDS_ISSUER', `notAfter ${notAfter} is after issuer ${issuer.issuerId} expires`);
}

export async function applyIssued(tx: StateTxn, ev: EventOf<'Issued'>, meta: ApplyMeta): Promise<ApplyResult> {
  requireWithinIssuer(await requireActiveCa(tx, ev.issuerId, ev.at), ev.notAfter);
  if (ev.idempotencyKey !== idempotencyKey(ev.requester, ev.publicKeyHash, ev.sans, ev.profile)) {
    reject('ERR_EVENT_REJECTED', 'idempotencyKey does not match the request');
  }
  const retried = await findRetried(tx, ev);
  if (retried !== undefined) return { type: 'Issued', certificate: retried, duplicate: true };
  await requireFreshSerial(tx, ev.issuerId, ev.serialHex);
  // A retried renewal (above) answers with the certificate it got and is not charged again.
  if (ev.renewalCharge !== undefined) await chargeRenewal(tx, ev.renewalCharge, ev.at);
  const certificate: LeafCertificateRecord = {
    kind: 'leaf',
    issuerId: ev.issuerId,
    serialHex: ev.serialHex,
    certDer: ev.certDer,
    notAfter: ev.notAfter,
    subject: ev.subject,
    sans: ev.sans,
    profile: ev.profile,
    requester: ev.requester,
    publicKeyHash: ev.publicKeyHash,
    idempotencyKey: ev.idempotencyKey,
    issuedAt: ev.at,
    index: meta.index,
    ...(ev.renewalCharge === undefined ? {} : { provisioner: ev.renewalCharge.provisioner }),
  };
  tx.put('certs', certKey(ev.issuerId, ev.serialHex), certificate);
  tx.put('serials', serialKey(ev.serialHex, ev.issuerId), { issuerId: ev.issuerId, serialHex: ev.serialHex, pruned: false });
  tx.put('expiry', expiryKey(ev.notAfter, ev.issuerId, ev.serialHex), { issuerId: ev.issuerId, serialHex: ev.serialHex });
  tx.put('idem', ev.idempotencyKey, { issuerId: ev.issuerId, serialHex: ev.serialHex, at: ev.at });
  return { type: 'Issued', certificate, duplicate: false };
}

/**
 * Where the issuer is a node CA recorded here, every certificate it issued is recorded here too
 * (leaves are applied where their node CA was installed), so an unknown serial is ERR_NOT_FOUND.
 * Otherwise — an issuer whose certificates live in another AZ's log, or a root or AZ CA whose node
 * ICAs and TLS certificates are spread over the AZs — the revocation is recorded as given, so a
 * cluster-wide revocation reaches every AZ's state.
 */
export async function applyRevoked(tx: StateTxn, ev: EventOf<'Revoked'>, meta: ApplyMeta): Promise<ApplyResult> {
  const key = certKey(ev.issuerId, ev.serialHex);
  if (await tx.has('revoked', key)) reject('ERR_ALREADY_REVOKED', `certificate ${ev.serialHex} is already revoked`);
  const cert = await tx.get('certs', key);
  // Revocations are global and every AZ records them, but only the issuing AZ holds the
  // certificate (leaves are local), and node CAs are known in every AZ. Existence is therefore
  // checked by the proposer in the issuing AZ (node/ca/ca-revocation.ts buildRevocation), not here.
  // The certificate, when held here, is authoritative for notAfter.
  const notAfter = cert?.notAfter ?? ev.notAfter;
  tx.put('revoked', key, {
    issuerId: ev.issuerId,
    serialHex: ev.serialHex,
    reason: ev.reason,
    revokedAt: ev.revokedAt,
    requestedBy: ev.requestedBy,
    notAfter,
    index: meta.index,
  });
  tx.put('revokedExpiry', expiryKey(notAfter, ev.issuerId, ev.serialHex), { issuerId: ev.issuerId, serialHex: ev.serialHex });
  if (cert?.kind === 'ca') await markCaRevoked(tx, cert.caIssuerId, ev.revokedAt);
  return { type: 'Revoked' };
}

/**
 * The first revocation mark of an AZ or node CA changes the map (the AZ ICA leaves it, the node
 * shows as revoked). CA records are global and never pruned, so every AZ decides this alike even
 * where a local sweep removed an old revocation entry and a later `Revoked` marks the CA again.
 */
async function markCaRevoked(tx: StateTxn, caIssuerId: string, revokedAt: number): Promise<void> {
  const ca = await tx.get('cas', caIssuerId);
  if (ca === undefined) throw new Error(`assertion failed: CA certificate without CA record ${caIssuerId}`);
  tx.put('cas', caIssuerId, { ...ca, revokedAt });
  if (ca.revokedAt === null && ca.role !== 'root') await raiseMapVersion(tx);
}

export async function applyCrlPublished(tx: StateTxn, ev: EventOf<'CrlPublished'>, meta: ApplyMeta): Promise<ApplyResult> {
  if (!(await tx.has('cas', ev.issuerId))) reject('ERR_ISSUER_UNKNOWN', `issuer ${ev.issuerId} is unknown`);
  const latest = await tx.get('crls', ev.issuerId);
  // RFC 5280 §5.2.3: CRL numbers increase monotonically per issuer.
  if (latest !== undefined && ev.crlNumber <= latest.crlNumber) {
    reject('ERR_EVENT_REJECTED', `CRL number ${ev.crlNumber} does not exceed ${latest.crlNumber}`);
  }
  // RFC 5280 §5.2.4: complete and delta CRLs share the number sequence (apply-crl-delta.ts).
  const delta = await tx.get('deltaCrls', ev.issuerId);
  if (delta !== undefined && ev.crlNumber <= delta.crlNumber) reject('ERR_EVENT_REJECTED', `CRL number ${ev.crlNumber} does not exceed delta ${delta.crlNumber}`);
  tx.put('crls', ev.issuerId, crlRecordOf(ev, meta));
  return { type: 'CrlPublished' };
}

/** The `crls` record of a published CRL, complete or indirect (apply-crl-delta.ts). */
export function crlRecordOf(ev: Pick<CrlRecord, 'issuerId' | 'crlNumber' | 'crlDer' | 'thisUpdate' | 'nextUpdate'>, meta: ApplyMeta): CrlRecord {
  return { issuerId: ev.issuerId, crlNumber: ev.crlNumber, crlDer: ev.crlDer, thisUpdate: ev.thisUpdate, nextUpdate: ev.nextUpdate, index: meta.index };
}

/** Removes one expired leaf with its index entries; its serial stays reserved. */
async function pruneLeaf(tx: StateTxn, expiryIndexKey: string, issuerId: string, serialHex: string): Promise<void> {
  const ck = certKey(issuerId, serialHex);
  const cert = await tx.get('certs', ck);
  if (cert === undefined || cert.kind !== 'leaf') throw new Error(`assertion failed: expiry index entry ${ck} has no leaf`);
  const idem = await tx.get('idem', cert.idempotencyKey);
  if (idem !== undefined && idem.issuerId === issuerId && idem.serialHex === serialHex) tx.del('idem', cert.idempotencyKey);
  tx.del('expiry', expiryIndexKey);
  tx.del('certs', ck);
  tx.put('serials', serialKey(serialHex, issuerId), { issuerId, serialHex, pruned: true });
}

/**
 * Removes, oldest first and at most `limit` of each kind: expired leaves, revocations of expired
 * certificates (RFC 5280 §3.3: an entry may leave the CRL once the certificate has expired), and
 * expired join tokens.
 */
export async function applyExpiredPruned(tx: StateTxn, ev: EventOf<'ExpiredPruned'>): Promise<ApplyResult> {
  const prunedBefore = (await tx.getMeta('prunedBefore')) ?? 0;
  if (ev.before < prunedBefore) reject('ERR_EVENT_REJECTED', `already pruned up to ${prunedBefore}`);
  const cutoff = { lt: expiryPrefix(ev.before), limit: ev.limit + 1 };
  const leaves = await tx.range('expiry', cutoff);
  for (const [key, { issuerId, serialHex }] of leaves.slice(0, ev.limit)) await pruneLeaf(tx, key, issuerId, serialHex);
  const revocations = await tx.range('revokedExpiry', cutoff);
  for (const [key, { issuerId, serialHex }] of revocations.slice(0, ev.limit)) {
    tx.del('revokedExpiry', key);
    tx.del('revoked', certKey(issuerId, serialHex));
  }
  const tokens = (await tx.range('tokens', {})).filter(([, t]) => t.expiresAt < ev.before);
  for (const [tokenId] of tokens.slice(0, ev.limit)) tx.del('tokens', tokenId);
  tx.putMeta('prunedBefore', ev.before);
  return {
    type: 'ExpiredPruned',
    prunedCertificates: Math.min(leaves.length, ev.limit),
    prunedRevocations: Math.min(revocations.length, ev.limit),
    prunedTokens: Math.min(tokens.length, ev.limit),
    more: leaves.length > ev.limit || revocations.length > ev.limit || tokens.length > ev.limit,
  };
}
