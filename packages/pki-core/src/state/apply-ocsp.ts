// Apply handlers for the OCSP responders (docs/architecture.md §14): each AZ's responder key and
// the responder certificates CAs issue to it (RFC 6960 §4.2.2.2 delegation).
import type { EventOf } from './events.ts';
import { reject, type ApplyMeta, type ApplyResult } from './outcome.ts';
import { requireActiveCa, requireFreshSerial, requireWithinIssuer } from './apply-certs.ts';
import { certKey, serialKey } from './tables.ts';
import type { StateTxn } from './txn.ts';

/** One responder key per AZ, installed once, for an AZ that was founded and is not being removed. */
export async function applyOcspResponderKeyInstalled(tx: StateTxn, ev: EventOf<'OcspResponderKeyInstalled'>, meta: ApplyMeta): Promise<ApplyResult> {
  const az = await tx.get('azs', ev.az);
  if (az === undefined) return reject('ERR_AZ_UNKNOWN', `AZ ${ev.az} is unknown`);
  if (az.phase !== 'active') reject('ERR_EVENT_REJECTED', `AZ ${ev.az} is ${az.phase}`);
  if (await tx.has('ocspKeys', ev.az)) reject('ERR_ALREADY_EXISTS', `AZ ${ev.az} already has an OCSP responder key`);
  tx.put('ocspKeys', ev.az, {
    az: ev.az,
    keyId: ev.keyId,
    spkiDer: ev.spkiDer,
    wrappedKey: ev.wrappedKey,
    installedAt: ev.at,
    index: meta.index,
  });
  return { type: 'OcspResponderKeyInstalled' };
}

/**
 * The CA must be able to sign at `at` (known, unrevoked, unexpired), the certificate must name the
 * AZ's current key and not outlive the CA, and it replaces an earlier one only if it lasts longer,
 * so a late proposal never takes back a renewal. Its serial is reserved like any other of the CA.
 */
export async function applyOcspResponderCertified(tx: StateTxn, ev: EventOf<'OcspResponderCertified'>, meta: ApplyMeta): Promise<ApplyResult> {
  requireWithinIssuer(await requireActiveCa(tx, ev.issuerId, ev.at), ev.notAfter);
  const key = await tx.get('ocspKeys', ev.az);
  if (key === undefined) return reject('ERR_NOT_FOUND', `AZ ${ev.az} has no OCSP responder key`);
  if (key.keyId !== ev.keyId) reject('ERR_EVENT_REJECTED', `AZ ${ev.az}'s responder key is ${key.keyId}, not ${ev.keyId}`);
  const recordKey = certKey(ev.issuerId, ev.az);
  const prior = await tx.get('ocspCerts', recordKey);
  if (prior !== undefined && prior.notAfter >= ev.notAfter) {
    reject('ERR_EVENT_REJECTED', `issuer ${ev.issuerId} already certified AZ ${ev.az}'s responder until ${prior.notAfter}`);
  }
  await requireFreshSerial(tx, ev.issuerId, ev.serialHex);
  tx.put('serials', serialKey(ev.serialHex, ev.issuerId), { issuerId: ev.issuerId, serialHex: ev.serialHex, pruned: false });
  tx.put('ocspCerts', recordKey, {
    issuerId: ev.issuerId,
    az: ev.az,
    keyId: ev.keyId,
    serialHex: ev.serialHex,
    certDer: ev.certDer,
    notAfter: ev.notAfter,
    issuedAt: ev.at,
    index: meta.index,
  });
  return { type: 'OcspResponderCertified' };
}
