// Apply handlers of the ACME events (acme-events.ts). Each checks its preconditions against the
// state it is given, so every replica accepts or rejects alike; the proposer (node/acme/) checks
// the same first and turns a failure into the RFC 8555 problem its client needs.
import type {
  AcmeAccountCreatedEvent,
  AcmeAccountKeyChangedEvent,
  AcmeAccountUpdatedEvent,
  AcmeAuthzDeactivatedEvent,
  AcmeChallengeValidatedEvent,
  AcmeEabKeyCreatedEvent,
  AcmeOrderCreatedEvent,
  AcmeOrderFinalizedEvent,
} from './acme-events.ts';
import {
  acmeAccountKey,
  acmeAccountOrderKey,
  acmeAuthzKey,
  acmeEabKey,
  acmeKeyKey,
  acmeOrderKey,
  type AcmeAccountRecord,
  type AcmeAuthzRecord,
  type AcmeOrderRecord,
} from './acme-records.ts';
import { reject, type ApplyResult } from './outcome.ts';
import { certKey } from './tables.ts';
import type { StateTxn } from './txn.ts';

async function account(tx: StateTxn, accountId: string): Promise<AcmeAccountRecord> {
  const record = await tx.get('acme', acmeAccountKey(accountId));
  if (record?.kind !== 'account') reject('ERR_NOT_FOUND', `ACME account ${accountId} does not exist`);
  return record;
}

async function validAccount(tx: StateTxn, accountId: string): Promise<AcmeAccountRecord> {
  const record = await account(tx, accountId);
  if (record.status !== 'valid') reject('ERR_EVENT_REJECTED', `ACME account ${accountId} is deactivated`);
  return record;
}

async function order(tx: StateTxn, orderId: string): Promise<AcmeOrderRecord> {
  const record = await tx.get('acme', acmeOrderKey(orderId));
  if (record?.kind !== 'order') reject('ERR_NOT_FOUND', `ACME order ${orderId} does not exist here`);
  return record;
}

async function authz(tx: StateTxn, authzId: string): Promise<AcmeAuthzRecord> {
  const record = await tx.get('acme', acmeAuthzKey(authzId));
  if (record?.kind !== 'authz') reject('ERR_NOT_FOUND', `ACME authorization ${authzId} does not exist here`);
  return record;
}

export async function applyAcmeEabKeyCreated(tx: StateTxn, ev: AcmeEabKeyCreatedEvent): Promise<ApplyResult> {
  if (await tx.has('acme', acmeEabKey(ev.keyId))) reject('ERR_ALREADY_EXISTS', `ACME external account key ${ev.keyId} already exists`);
  tx.put('acme', acmeEabKey(ev.keyId), { kind: 'eab', keyId: ev.keyId, keySealed: ev.keySealed, accountId: null, createdAt: ev.at });
  return { type: ev.type };
}

export async function applyAcmeAccountCreated(tx: StateTxn, ev: AcmeAccountCreatedEvent): Promise<ApplyResult> {
  if (await tx.has('acme', acmeKeyKey(ev.keyThumbprint))) reject('ERR_ALREADY_EXISTS', 'this key already has an ACME account');
  if (await tx.has('acme', acmeAccountKey(ev.accountId))) reject('ERR_ALREADY_EXISTS', `ACME account ${ev.accountId} already exists`);
  if (ev.eabKeyId !== undefined) {
    // RFC 8555 §7.3.4: an external account key binds one account.
    const eab = await tx.get('acme', acmeEabKey(ev.eabKeyId));
    if (eab?.kind !== 'eab') reject('ERR_NOT_FOUND', `ACME external account key ${ev.eabKeyId} does not exist`);
    if (eab.accountId !== null) reject('ERR_ALREADY_EXISTS', `ACME external account key ${ev.eabKeyId} is bound to account ${eab.accountId}`);
    tx.put('acme', acmeEabKey(ev.eabKeyId), { ...eab, accountId: ev.accountId });
  }
  tx.put('acme', acmeAccountKey(ev.accountId), {
    kind: 'account',
    accountId: ev.accountId,
    keyThumbprint: ev.keyThumbprint,
    jwkJson: ev.jwkJson,
    contact: ev.contact,
    status: 'valid',
    eabKeyId: ev.eabKeyId ?? null,
    createdAt: ev.at,
  });
  tx.put('acme', acmeKeyKey(ev.keyThumbprint), { kind: 'key', accountId: ev.accountId });
  return { type: ev.type };
}

export async function applyAcmeAccountUpdated(tx: StateTxn, ev: AcmeAccountUpdatedEvent): Promise<ApplyResult> {
  const record = await validAccount(tx, ev.accountId);
  tx.put('acme', acmeAccountKey(ev.accountId), { ...record, contact: ev.contact, status: ev.deactivate ? 'deactivated' : 'valid' });
  return { type: ev.type };
}

export async function applyAcmeAccountKeyChanged(tx: StateTxn, ev: AcmeAccountKeyChangedEvent): Promise<ApplyResult> {
  const record = await validAccount(tx, ev.accountId);
  if (record.keyThumbprint !== ev.oldKeyThumbprint) reject('ERR_EVENT_REJECTED', `ACME account ${ev.accountId} no longer has that key`);
  if (await tx.has('acme', acmeKeyKey(ev.keyThumbprint))) reject('ERR_ALREADY_EXISTS', 'the new key already has an ACME account');
  tx.del('acme', acmeKeyKey(record.keyThumbprint));
  tx.put('acme', acmeKeyKey(ev.keyThumbprint), { kind: 'key', accountId: ev.accountId });
  tx.put('acme', acmeAccountKey(ev.accountId), { ...record, keyThumbprint: ev.keyThumbprint, jwkJson: ev.jwkJson });
  return { type: ev.type };
}

export async function applyAcmeOrderCreated(tx: StateTxn, ev: AcmeOrderCreatedEvent): Promise<ApplyResult> {
  await validAccount(tx, ev.accountId);
  if (ev.expiresAt <= ev.at) reject('ERR_EVENT_REJECTED', 'an ACME order must expire after it is created');
  if (await tx.has('acme', acmeOrderKey(ev.orderId))) reject('ERR_ALREADY_EXISTS', `ACME order ${ev.orderId} already exists`);
  for (const a of ev.authzs) {
    if (await tx.has('acme', acmeAuthzKey(a.authzId))) reject('ERR_ALREADY_EXISTS', `ACME authorization ${a.authzId} already exists`);
  }
  for (const a of ev.authzs) {
    tx.put('acme', acmeAuthzKey(a.authzId), {
      kind: 'authz',
      authzId: a.authzId,
      orderId: ev.orderId,
      accountId: ev.accountId,
      identifier: a.identifier,
      wildcard: a.wildcard,
      status: 'pending',
      expiresAt: ev.expiresAt,
      challenges: a.challenges.map((c) => ({ type: c.type, token: c.token, status: 'pending', validatedAt: null, error: null })),
    });
  }
  tx.put('acme', acmeOrderKey(ev.orderId), {
    kind: 'order',
    orderId: ev.orderId,
    accountId: ev.accountId,
    identifiers: ev.identifiers,
    authzIds: ev.authzs.map((a) => a.authzId),
    status: 'pending',
    expiresAt: ev.expiresAt,
    error: null,
    certificate: null,
    replaces: ev.replaces ?? null,
    ...(ev.directory === undefined ? {} : { directory: ev.directory }),
    createdAt: ev.at,
  });
  tx.put('acme', acmeAccountOrderKey(ev.accountId, ev.at, ev.orderId), { kind: 'accountOrder', orderId: ev.orderId });
  return { type: ev.type };
}

export async function applyAcmeChallengeValidated(tx: StateTxn, ev: AcmeChallengeValidatedEvent): Promise<ApplyResult> {
  const record = await authz(tx, ev.authzId);
  if (record.status !== 'pending') reject('ERR_EVENT_REJECTED', `ACME authorization ${ev.authzId} is ${record.status}, not pending`);
  if (ev.at >= record.expiresAt) reject('ERR_EXPIRED', `ACME authorization ${ev.authzId} has expired`);
  const index = record.challenges.findIndex((c) => c.type === ev.challengeType);
  const challenge = record.challenges[index];
  if (challenge === undefined) reject('ERR_NOT_FOUND', `ACME authorization ${ev.authzId} offers no ${ev.challengeType} challenge`);
  const valid = ev.error === undefined;
  const challenges = record.challenges.slice();
  challenges[index] = { ...challenge, status: valid ? 'valid' : 'invalid', validatedAt: ev.at, error: ev.error ?? null };
  tx.put('acme', acmeAuthzKey(ev.authzId), { ...record, status: valid ? 'valid' : 'invalid', challenges });
  const parent = await order(tx, record.orderId);
  if (parent.status !== 'pending') return { type: ev.type };
  if (!valid) {
    tx.put('acme', acmeOrderKey(parent.orderId), { ...parent, status: 'invalid', error: ev.error ?? null });
    return { type: ev.type };
  }
  // RFC 8555 §7.1.6: the order is ready once every one of its authorizations is valid.
  for (const id of parent.authzIds) {
    if (id !== ev.authzId && (await authz(tx, id)).status !== 'valid') return { type: ev.type };
  }
  tx.put('acme', acmeOrderKey(parent.orderId), { ...parent, status: 'ready' });
  return { type: ev.type };
}

export async function applyAcmeAuthzDeactivated(tx: StateTxn, ev: AcmeAuthzDeactivatedEvent): Promise<ApplyResult> {
  const record = await authz(tx, ev.authzId);
  if (record.accountId !== ev.accountId) reject('ERR_EVENT_REJECTED', `ACME authorization ${ev.authzId} belongs to another account`);
  if (record.status !== 'pending' && record.status !== 'valid') reject('ERR_EVENT_REJECTED', `ACME authorization ${ev.authzId} is ${record.status}`);
  tx.put('acme', acmeAuthzKey(ev.authzId), { ...record, status: 'deactivated' });
  // RFC 8555 §7.1.6: an order whose authorization is deactivated can never be finalized.
  const parent = await order(tx, record.orderId);
  if (parent.status === 'pending' || parent.status === 'ready') tx.put('acme', acmeOrderKey(parent.orderId), { ...parent, status: 'invalid' });
  return { type: ev.type };
}

export async function applyAcmeOrderFinalized(tx: StateTxn, ev: AcmeOrderFinalizedEvent): Promise<ApplyResult> {
  const record = await order(tx, ev.orderId);
  if (record.accountId !== ev.accountId) reject('ERR_EVENT_REJECTED', `ACME order ${ev.orderId} belongs to another account`);
  if (record.status !== 'ready') reject('ERR_EVENT_REJECTED', `ACME order ${ev.orderId} is ${record.status}, not ready`);
  if (ev.at >= record.expiresAt) reject('ERR_EXPIRED', `ACME order ${ev.orderId} has expired`);
  const cert = await tx.get('certs', certKey(ev.issuerId, ev.serialHex));
  if (cert?.kind !== 'leaf') reject('ERR_NOT_FOUND', `certificate ${ev.serialHex} of ${ev.issuerId} is not a leaf of this AZ`);
  tx.put('acme', acmeOrderKey(ev.orderId), { ...record, status: 'valid', certificate: { issuerId: ev.issuerId, serialHex: ev.serialHex } });
  return { type: ev.type };
}
