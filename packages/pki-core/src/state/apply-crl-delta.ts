// Apply handler for delta CRLs (RFC 5280 §5.2.4): a delta updates the issuer's latest complete
// CRL only, and its number continues the sequence it shares with complete CRLs, so a stale
// owner's delta is rejected alike everywhere (as for CrlPublished, apply-certs.ts).
import type { EventOf } from './events.ts';
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
