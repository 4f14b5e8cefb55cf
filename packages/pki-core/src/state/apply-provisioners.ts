// Apply handlers of the provisioner events (provisioner-events.ts). Preconditions are checked
// against the state given, so every replica accepts or rejects alike; the proposers
// (node/provisioners/) check the same first and answer with the same codes.
import type { ProvisionerAddedEvent, ProvisionerRemovedEvent, ProvisionerTokenUsedEvent } from './provisioner-events.ts';
import { provisionerKey, provisionerTokenExpiryKey, provisionerTokenKey, provisionerTokensExpiredBefore } from './provisioner-records.ts';
import { reject, type ApplyResult } from './outcome.ts';
import type { StateTxn } from './txn.ts';

/**
 * Each spend forgets at most this many expired spends: the table stays bounded by the spends of
 * the last token lifetime, and one event stays bounded work.
 */
const EXPIRED_TOKENS_FORGOTTEN_PER_SPEND_MAX = 8;

export async function applyProvisionerAdded(tx: StateTxn, ev: ProvisionerAddedEvent): Promise<ApplyResult> {
  const { name } = ev.provisioner;
  if (await tx.has('provisioners', provisionerKey(name))) reject('ERR_ALREADY_EXISTS', `provisioner ${name} already exists: remove it first`);
  tx.put('provisioners', provisionerKey(name), { kind: 'provisioner', ...ev.provisioner, addedBy: ev.requestedBy, addedAt: ev.at });
  return { type: ev.type };
}

export async function applyProvisionerRemoved(tx: StateTxn, ev: ProvisionerRemovedEvent): Promise<ApplyResult> {
  if (!(await tx.has('provisioners', provisionerKey(ev.name)))) reject('ERR_NOT_FOUND', `provisioner ${ev.name} does not exist`);
  tx.del('provisioners', provisionerKey(ev.name));
  return { type: ev.type };
}

export async function applyProvisionerTokenUsed(tx: StateTxn, ev: ProvisionerTokenUsedEvent): Promise<ApplyResult> {
  if (!(await tx.has('provisioners', provisionerKey(ev.provisioner)))) reject('ERR_NOT_FOUND', `provisioner ${ev.provisioner} does not exist`);
  if (ev.expiresAt <= ev.at) reject('ERR_AUTH_TOKEN_EXPIRED', `the token of provisioner ${ev.provisioner} had expired when it was spent`);
  const key = provisionerTokenKey(ev.provisioner, ev.tokenId);
  if (await tx.has('provisioners', key)) reject('ERR_AUTH_TOKEN_USED', `token ${ev.tokenId} of provisioner ${ev.provisioner} was already used`);
  await forgetExpiredTokens(tx, ev.at);
  tx.put('provisioners', key, { kind: 'token', provisioner: ev.provisioner, tokenId: ev.tokenId, subject: ev.subject, expiresAt: ev.expiresAt, usedAt: ev.at });
  tx.put('provisioners', provisionerTokenExpiryKey(ev.expiresAt, ev.provisioner, ev.tokenId), { kind: 'tokenExpiry', provisioner: ev.provisioner, tokenId: ev.tokenId });
  return { type: ev.type };
}

/** A spend that expired before `nowMs` can never verify again (its `exp` is past): forget it. */
async function forgetExpiredTokens(tx: StateTxn, nowMs: number): Promise<void> {
  const expired = await tx.range('provisioners', { ...provisionerTokensExpiredBefore(nowMs), limit: EXPIRED_TOKENS_FORGOTTEN_PER_SPEND_MAX });
  for (const [expiryKey, record] of expired) {
    if (record.kind !== 'tokenExpiry') throw new Error(`assertion failed: ${JSON.stringify(expiryKey)} is not a token expiry record`);
    tx.del('provisioners', expiryKey);
    tx.del('provisioners', provisionerTokenKey(record.provisioner, record.tokenId));
  }
}
