// Apply handlers for delta CRLs (RFC 5280 §5.2.4), indirect and partition CRLs (§5.2.5): a delta updates the issuer's latest complete
// CRL only, and its number continues the sequence it shares with complete CRLs, so a stale
// owner's delta is rejected alike everywhere (as for CrlPublished, apply-certs.ts).
import type { EventOf } from './events.ts';
import { partitionCrlKey } from './crl-partitions.ts';
import { indirectCrlKey } from './indirect-crl-key.ts';
import { crlRecordOf } from './apply-certs.ts';
import { reject, type ApplyMeta, type ApplyResult } from './outcome.ts';
import type { StateTxn } from './txn.ts';

export async function applyDeltaCrlPublished(tx: StateTxn, ev: EventOf<'DeltaCrlPublished'>, meta: ApplyMeta): Promise<ApplyResult> {
  if (!(await tx.has('cas', ev.issuerId))) reject('ERR_ISSUER_UNKNOWN', `issuer ${ev.issuerId} is unknown`);
  const base = await tx.get('crls', ev.issuerId);
  if (base === undefined) return reject('ERR_EVENT_REJECTED', `issuer ${ev.issuerId} has no complete CRL for a delta to update`);
  if (ev.baseCrlNumber !== base.crlNumber) reject('ERR_EVENT_REJECTED', `delta against CRL ${ev.baseCrlNumber}; the latest complete CRL is ${base.crlNumber}`);
  const prior = await tx.get('deltaCrls', ev.issuerId);
  const floor = Math.max(base.crlNumber, prior?.crlNumber ?? 0);
  if (ev.crlNumber <= floor) reject('ERR_EVENT_REJECTED', `CRL number ${ev.crlNumber} does not exceed ${floor}`);
  tx.put('deltaCrls', ev.issuerId, {
    issuerId: ev.issuerId,
    crlNumber: ev.crlNumber,
    baseCrlNumber: ev.baseCrlNumber,
    crlDer: ev.crlDer,
    thisUpdate: ev.thisUpdate,
    nextUpdate: ev.nextUpdate,
    index: meta.index,
  });
  return { type: 'DeltaCrlPublished' };
}

/** An AZ ICA's indirect CRL (RFC 5280 §5.2.5): its own number sequence, kept beside the AZ ICA's CRL. */
export async function applyIndirectCrlPublished(tx: StateTxn, ev: EventOf<'IndirectCrlPublished'>, meta: ApplyMeta): Promise<ApplyResult> {
  const ca = await tx.get('cas', ev.issuerId);
  if (ca === undefined) reject('ERR_ISSUER_UNKNOWN', `issuer ${ev.issuerId} is unknown`);
  if (ca.role !== 'az') reject('ERR_EVENT_REJECTED', `issuer ${ev.issuerId} is not an AZ ICA: only an AZ ICA signs an indirect CRL`);
  const key = indirectCrlKey(ev.issuerId, ev.partition);
  const latest = await tx.get('crls', key);
  if (latest !== undefined && ev.crlNumber <= latest.crlNumber) reject('ERR_EVENT_REJECTED', `indirect CRL number ${ev.crlNumber} does not exceed ${latest.crlNumber}`);
  tx.put('crls', key, { ...crlRecordOf(ev, meta), coversIndex: ev.coversIndex });
  return { type: 'IndirectCrlPublished' };
}

/** A node ICA's partition CRL (state/crl-partitions.ts): a partition its CA has, numbered after that partition's latest. */
export async function applyPartitionCrlPublished(tx: StateTxn, ev: EventOf<'PartitionCrlPublished'>, meta: ApplyMeta): Promise<ApplyResult> {
  const ca = await tx.get('cas', ev.issuerId);
  if (ca === undefined) reject('ERR_ISSUER_UNKNOWN', `issuer ${ev.issuerId} is unknown`);
  if (ca.crlPartitions === undefined) reject('ERR_EVENT_REJECTED', `issuer ${ev.issuerId} has no partition CRLs`);
  if (ev.partition >= ca.crlPartitions) reject('ERR_EVENT_REJECTED', `issuer ${ev.issuerId} has ${ca.crlPartitions} partitions, not ${ev.partition + 1}`);
  const key = partitionCrlKey(ev.issuerId, ev.partition);
  const latest = await tx.get('crls', key);
  if (latest !== undefined && ev.crlNumber <= latest.crlNumber) reject('ERR_EVENT_REJECTED', `partition CRL number ${ev.crlNumber} does not exceed ${latest.crlNumber}`);
  tx.put('crls', key, crlRecordOf(ev, meta));
  return { type: 'PartitionCrlPublished' };
}
