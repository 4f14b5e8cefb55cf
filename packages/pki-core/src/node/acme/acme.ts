// The node's ACME objects (RFC 8555 §7.1) in the replicated state: accounts committed globally,
// orders, authorizations and validations committed in this AZ's local group, finalization through
// the node's issuance (docs/architecture.md §15). Preconditions are checked here against a
// linearizable read and again on apply, so a race between two nodes ends in one outcome.
import { parseCsr } from '../../ca/csr.ts';
import { attributeValues } from '../../ca/names.ts';
import { parseIpAddress } from '../../net/ip.ts';
import { toPem } from '../../ca/pem.ts';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { isPkiError, PkiError } from '../../errors.ts';
import type { AcmeChallengeType, AcmeIdentifier, AcmeNewAuthz, AcmeProblemData } from '../../state/acme-events.ts';
import { acmeAccountKey, acmeAccountOrdersPrefix, acmeAuthzKey, acmeEabKey, acmeKeyKey, acmeOrderKey, type AcmeAccountRecord } from '../../state/acme-records.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { issuerChainPem } from '../ca/ca-chain.ts';
import { checkClusterNames, profileFor } from '../issuance/ca-profiles.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { ReadView } from '../core/read-view.ts';
import type { IssuedLeaf, IssueRequest } from '../pki-node-api.ts';
import type { AcmeAuthzView, AcmeFinalized, AcmeNodeApi, AcmeOrderPage, AcmeOrderView, NewAcmeAccount, NewAcmeOrder } from './acme-api.ts';
import { directorySettings, type AcmeDirectorySettings, type AcmeOptions } from './acme-directories.ts';
import { canonicalIdentifier, identifierSetKey, OPEN_IDENTIFIER_POLICY } from './acme-identifiers.ts';
import { AcmeProblem } from './acme-problem.ts';
import { AcmeNonces, type NonceVerdict } from './acme-nonces.ts';
import { AcmeEabSealer } from './acme-eab.ts';
import { randomToken } from './acme-random.ts';
import { parseCertificateId, suggestedWindow, type RenewalWindow } from './acme-renewal-info.ts';
import type { PeerRequest, PeerResponse } from '../peer/protocol.ts';

export const DEFAULT_ACME_OPTIONS: AcmeOptions = Object.freeze({
  orderLifetimeMs: 24 * 3600 * 1000,
  certificateLifetimeSeconds: 90 * 24 * 3600,
  profile: 'serverLeaf',
  policy: OPEN_IDENTIFIER_POLICY,
  ordersPerHourMax: 300,
  directories: {},
});

const HOUR_MS = 3600 * 1000;
/** Orders per page of an account's order list (RFC 8555 §7.1.2.1 pagination). */
const ORDERS_PAGE_MAX = 100;
/** 128 bits for ids, tokens (RFC 8555 §8.1 asks at least 128 for tokens). */
const ID_BYTES = 16;

type Issue = (request: IssueRequest) => Promise<IssuedLeaf>;

export class Acme implements AcmeNodeApi {
  private readonly nonces: AcmeNonces;
  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'kek' | 'peers' | 'nowMs' | 'random'>,
    private readonly reads: ReadView,
    private readonly committer: Committer,
    private readonly issue: Issue,
    private readonly options: AcmeOptions = DEFAULT_ACME_OPTIONS,
  ) {
    this.nonces = new AcmeNonces(ctx.kek.wrapKek(), ctx.nodeId, ctx.nowMs);
  }

  newNonce(): string {
    return this.nonces.issue();
  }

  /**
   * Accepts a nonce once, wherever it was issued: a nonce of this node here, another node's by
   * asking that node (one peer call), which alone knows whether it was used.
   */
  async consumeNonce(nonce: string): Promise<NonceVerdict> {
    const opened = this.nonces.open(nonce);
    if (opened === null) return { ok: false, reason: 'the nonce was not issued by this server' };
    if (!this.nonces.fresh(opened)) return { ok: false, reason: 'the nonce has expired' };
    if (opened.issuer === this.ctx.nodeId) return this.nonces.consumeCounter(opened.counter);
    let answer;
    try {
      answer = await this.ctx.peers.call(opened.issuer, { kind: 'acmeNonce', counter: opened.counter.toString() });
    } catch {
      return { ok: false, reason: `the node that issued the nonce cannot be asked whether it was used` };
    }
    if (answer.kind === 'ok') return { ok: true };
    return { ok: false, reason: answer.kind === 'error' ? answer.message : 'the nonce was refused by the node that issued it' };
  }

  /** On the issuing node: a peer's `acmeNonce`. */
  answerNonce(request: Extract<PeerRequest, { kind: 'acmeNonce' }>): Promise<PeerResponse> {
    const verdict = this.nonces.consumeCounter(BigInt(request.counter));
    if (!verdict.ok) throw new PkiError('ERR_NOT_FOUND', verdict.reason);
    return Promise.resolve({ kind: 'ok' });
  }

  async accountByKey(keyThumbprint: string): Promise<AcmeAccountRecord | undefined> {
    const store = await this.reads.linearizable();
    return accountByKeyIn(store, keyThumbprint);
  }

  async account(accountId: string): Promise<AcmeAccountRecord | undefined> {
    return accountIn(await this.reads.linearizable(), accountId);
  }

  async createAccount(request: NewAcmeAccount): Promise<{ account: AcmeAccountRecord; created: boolean }> {
    const existing = await this.accountByKey(request.keyThumbprint);
    if (existing !== undefined) return { account: existing, created: false };
    const accountId = randomToken(this.ctx.random, ID_BYTES);
    const outcome = await this.committer.commitRetrying(
      { type: 'AcmeAccountCreated', accountId, keyThumbprint: request.keyThumbprint, jwkJson: request.jwkJson, contact: request.contact, ...(request.eabKeyId === undefined ? {} : { eabKeyId: request.eabKeyId }), at: this.ctx.nowMs() },
      'global',
    );
    // Two requests with one key raced: the global log bound the key once; the loser answers with it.
    if (!outcome.ok && outcome.error.code !== 'ERR_ALREADY_EXISTS' && outcome.error.code !== 'ERR_NOT_FOUND') throw new PkiError(outcome.error.code, outcome.error.message);
    const account = await this.accountByKey(request.keyThumbprint);
    // Else the external account key was unknown or bound to another account meanwhile (RFC 8555 §7.3.4).
    if (!outcome.ok && account === undefined && request.eabKeyId !== undefined) throw new AcmeProblem('unauthorized', `externalAccountBinding: ${outcome.error.message}`);
    if (account === undefined) throw new Error(`assertion failed: ACME account of a committed key is missing`);
    return { account, created: outcome.ok };
  }

  async createEabKey(): Promise<{ keyId: string; hmacKey: Uint8Array }> {
    const keyId = randomToken(this.ctx.random, ID_BYTES);
    // Sealed under the KEK the state is under now (a rotation may have moved it: kek-ring.ts).
    const { hmacKey, sealed } = new AcmeEabSealer(this.ctx.kek.wrapKek()).fresh();
    await this.commitOrProblem({ type: 'AcmeEabKeyCreated', keyId, keySealed: sealed, at: this.ctx.nowMs() }, 'global');
    return { keyId, hmacKey };
  }

  async eabKey(keyId: string): Promise<{ hmacKey: Uint8Array; accountId: string | null } | undefined> {
    const record = await (await this.reads.linearizable()).getAcme(acmeEabKey(keyId));
    return record?.kind === 'eab' ? { hmacKey: AcmeEabSealer.openWithAny(this.ctx.kek.candidates(), record.keySealed), accountId: record.accountId } : undefined;
  }

  async updateAccount(accountId: string, update: { contact?: string[]; deactivate: boolean }): Promise<AcmeAccountRecord> {
    const account = await this.validAccount(await this.reads.linearizable(), accountId);
    await this.commitOrProblem({ type: 'AcmeAccountUpdated', accountId, contact: update.contact ?? account.contact, deactivate: update.deactivate, at: this.ctx.nowMs() }, 'global');
    return (await this.account(accountId))!;
  }

  async changeAccountKey(accountId: string, oldKeyThumbprint: string, newKey: { keyThumbprint: string; jwkJson: string }): Promise<AcmeAccountRecord> {
    const store = await this.reads.linearizable();
    const account = await this.validAccount(store, accountId);
    if (account.keyThumbprint !== oldKeyThumbprint) throw new AcmeProblem('malformed', 'keyChange: oldKey is not the account\'s current key');
    const holder = await accountByKeyIn(store, newKey.keyThumbprint);
    // RFC 8555 §7.3.5: 409 Conflict naming the account that already holds the new key.
    if (holder !== undefined) throw new AcmeProblem('malformed', `keyChange: the new key already belongs to account ${holder.accountId}`, { status: 409 });
    await this.commitOrProblem({ type: 'AcmeAccountKeyChanged', accountId, oldKeyThumbprint, keyThumbprint: newKey.keyThumbprint, jwkJson: newKey.jwkJson, at: this.ctx.nowMs() }, 'global');
    return (await this.account(accountId))!;
  }

  async newOrder(request: NewAcmeOrder): Promise<AcmeOrderView> {
    const store = await this.reads.linearizable();
    await this.validAccount(store, request.accountId);
    const settings = directorySettings(this.options, request.directory);
    const identifiers = orderIdentifiers(request.identifiers, settings);
    await checkWildcards(store, identifiers, settings.profile);
    await checkOrderNames(store, identifiers, settings.profile);
    const now = this.ctx.nowMs();
    await this.checkRateLimit(store, request.accountId, now, settings.ordersPerHourMax);
    if (request.replaces !== undefined) await this.checkReplaces(store, request.accountId, request.replaces, identifiers);
    const orderId = randomToken(this.ctx.random, ID_BYTES);
    const authzs = identifiers.map((identifier) => this.newAuthz(identifier));
    await this.commitOrProblem(
      {
        type: 'AcmeOrderCreated',
        orderId,
        accountId: request.accountId,
        identifiers,
        authzs,
        expiresAt: now + settings.orderLifetimeMs,
        ...(request.replaces === undefined ? {} : { replaces: request.replaces }),
        ...(request.directory === undefined ? {} : { directory: request.directory }),
        at: now,
      },
      'local',
    );
    return this.order(request.accountId, orderId);
  }

  async order(accountId: string, orderId: string): Promise<AcmeOrderView> {
    return this.orderIn(await this.reads.linearizable(), accountId, orderId);
  }

  async accountOrders(accountId: string, cursor?: string): Promise<AcmeOrderPage> {
    const store = await this.reads.linearizable();
    await this.validAccount(store, accountId);
    const prefix = acmeAccountOrdersPrefix(accountId);
    // A cursor is `<created-at hex>.<order id>`: the first key of the next page (acme-records.ts acmeAccountOrderKey).
    const from = cursor === undefined ? undefined : prefix + '\x00' + cursor.replace('.', '\x00');
    const rows = await store.rangeAcme(prefix, { ...(from === undefined ? {} : { gte: from }), limit: ORDERS_PAGE_MAX + 1 });
    const orderIds: string[] = [];
    for (const [, row] of rows.slice(0, ORDERS_PAGE_MAX)) {
      if (row.kind !== 'accountOrder') continue;
      if ((await this.orderIn(store, accountId, row.orderId)).status !== 'invalid') orderIds.push(row.orderId);
    }
    const after = rows[ORDERS_PAGE_MAX];
    return { orderIds, next: after === undefined ? null : after[0].slice(prefix.length + 1).replace('\x00', '.') };
  }

  async authz(accountId: string, authzId: string): Promise<AcmeAuthzView> {
    const store = await this.reads.linearizable();
    const record = await store.getAcme(acmeAuthzKey(authzId));
    if (record?.kind !== 'authz') throw new AcmeProblem('malformed', `authorization ${authzId} does not exist in this AZ`, { status: 404 });
    if (record.accountId !== accountId) throw new AcmeProblem('unauthorized', `authorization ${authzId} belongs to another account`);
    const expired = (record.status === 'pending' || record.status === 'valid') && this.ctx.nowMs() >= record.expiresAt;
    return expired ? { ...record, status: 'expired' } : record;
  }

  async deactivateAuthz(accountId: string, authzId: string): Promise<AcmeAuthzView> {
    const current = await this.authz(accountId, authzId);
    if (current.status !== 'pending' && current.status !== 'valid') throw new AcmeProblem('malformed', `authorization ${authzId} is ${current.status}: only a pending or valid one can be deactivated`);
    await this.commitOrProblem({ type: 'AcmeAuthzDeactivated', authzId, accountId, at: this.ctx.nowMs() }, 'local');
    return this.authz(accountId, authzId);
  }

  async recordValidation(authzId: string, type: AcmeChallengeType, error?: AcmeProblemData): Promise<AcmeAuthzView> {
    const outcome = await this.committer.commitRetrying({ type: 'AcmeChallengeValidated', authzId, challengeType: type, ...(error === undefined ? {} : { error }), at: this.ctx.nowMs() }, 'local');
    const store = await this.reads.linearizable();
    const record = await store.getAcme(acmeAuthzKey(authzId));
    if (record?.kind !== 'authz') throw new AcmeProblem('malformed', `authorization ${authzId} does not exist in this AZ`, { status: 404 });
    // A rejected outcome means another attempt decided first (or the authorization expired): the state says how.
    if (!outcome.ok && record.status === 'pending' && outcome.error.code !== 'ERR_EXPIRED') throw new PkiError(outcome.error.code, outcome.error.message);
    return this.authz(record.accountId, authzId);
  }

  async finalize(accountId: string, orderId: string, csrDer: Uint8Array): Promise<AcmeFinalized> {
    const store = await this.reads.linearizable();
    const order = await this.orderIn(store, accountId, orderId);
    if (order.status === 'valid') return { order };
    if (order.status !== 'ready') throw new AcmeProblem('orderNotReady', `order ${orderId} is ${order.status}: finalize needs every authorization valid first`);
    checkCsrNames(csrDer, order.identifiers);
    const settings = directorySettings(this.options, order.directory);
    let leaf: IssuedLeaf;
    try {
      leaf = await this.issue({
        csr: csrDer,
        profile: settings.profile,
        sans: order.identifiers.map((i) => `${i.type}:${i.value}`),
        lifetimeSeconds: settings.certificateLifetimeSeconds,
        requester: `acme:${accountId}`,
      });
    } catch (e) {
      throw csrProblem(e);
    }
    await this.commitOrProblem({ type: 'AcmeOrderFinalized', orderId, accountId, issuerId: leaf.issuerId, serialHex: leaf.serialHex, at: this.ctx.nowMs() }, 'local');
    return { order: await this.order(accountId, orderId) };
  }

  async certificateChain(accountId: string, orderId: string): Promise<string> {
    const store = await this.reads.linearizable();
    const order = await this.orderIn(store, accountId, orderId);
    if (order.certificate === null) throw new AcmeProblem('orderNotReady', `order ${orderId} has no certificate yet (it is ${order.status})`, { status: 404 });
    const cert = await store.getCertificate(order.certificate.issuerId, order.certificate.serialHex);
    if (cert === undefined) throw new AcmeProblem('malformed', `the certificate of order ${orderId} was pruned after it expired`, { status: 404 });
    return toPem(cert.certDer) + (await issuerChainPem(store, cert.issuerId));
  }

  private async orderIn(store: PkiStateQueries, accountId: string, orderId: string): Promise<AcmeOrderView> {
    const record = await store.getAcme(acmeOrderKey(orderId));
    if (record?.kind !== 'order') throw new AcmeProblem('malformed', `order ${orderId} does not exist in this AZ`, { status: 404 });
    if (record.accountId !== accountId) throw new AcmeProblem('unauthorized', `order ${orderId} belongs to another account`);
    const expired = (record.status === 'pending' || record.status === 'ready') && this.ctx.nowMs() >= record.expiresAt;
    return expired ? { ...record, status: 'invalid', error: { type: 'malformed', detail: `order ${orderId} expired at ${new Date(record.expiresAt).toISOString()}` } } : record;
  }

  private async validAccount(store: PkiStateQueries, accountId: string): Promise<AcmeAccountRecord> {
    const account = await accountIn(store, accountId);
    if (account === undefined) throw new AcmeProblem('accountDoesNotExist', `account ${accountId} does not exist`);
    if (account.status !== 'valid') throw new AcmeProblem('unauthorized', `account ${accountId} is deactivated`);
    return account;
  }

  /** RFC 8555 §8.4: a wildcard is proven by dns-01 only; RFC 8738 §7: an IP address never by dns-01. */
  private newAuthz(identifier: AcmeIdentifier): AcmeNewAuthz {
    const wildcard = identifier.type === 'dns' && identifier.value.startsWith('*.');
    const types: AcmeChallengeType[] = wildcard ? ['dns-01'] : identifier.type === 'ip' ? ['http-01', 'tls-alpn-01'] : ['http-01', 'dns-01', 'tls-alpn-01'];
    return {
      authzId: randomToken(this.ctx.random, ID_BYTES),
      identifier: wildcard ? { type: 'dns', value: identifier.value.slice(2) } : identifier,
      wildcard,
      challenges: types.map((type) => ({ type, token: randomToken(this.ctx.random, ID_BYTES) })),
    };
  }

  async renewalInfo(certId: string): Promise<RenewalWindow> {
    const store = await this.reads.linearizable();
    const { issuerId, serialHex } = parseCertificateId(certId, 'renewalInfo');
    const cert = await store.getCertificate(issuerId, serialHex);
    if (cert?.kind !== 'leaf') throw new AcmeProblem('malformed', `certificate ${certId} was not issued in this AZ (or has expired and been pruned)`, { status: 404 });
    const notBeforeMs = readCertificateFields(cert.certDer).notBefore.getTime();
    const revoked = await store.getRevocation(issuerId, serialHex);
    return suggestedWindow(notBeforeMs, cert.notAfter, revoked?.revokedAt ?? null, this.ctx.nowMs());
  }

  /** RFC 9773 §5: `replaces` names a certificate ordered by the same account, sharing an identifier with the order. */
  private async checkReplaces(store: PkiStateQueries, accountId: string, replaces: string, identifiers: readonly AcmeIdentifier[]): Promise<void> {
    const { issuerId, serialHex } = parseCertificateId(replaces, 'replaces');
    const cert = await store.getCertificate(issuerId, serialHex);
    if (cert?.kind !== 'leaf') throw new AcmeProblem('malformed', `replaces: certificate ${replaces} was not issued in this AZ`, { status: 404 });
    if (cert.requester !== `acme:${accountId}`) throw new AcmeProblem('unauthorized', `replaces: certificate ${replaces} was not ordered by account ${accountId}`);
    if (!identifiers.some((i) => cert.sans.includes(`${i.type}:${i.value}`))) {
      throw new AcmeProblem('malformed', `replaces: certificate ${replaces} (${cert.sans.join(', ')}) shares no identifier with this order`);
    }
  }

  private async checkRateLimit(store: PkiStateQueries, accountId: string, now: number, ordersPerHourMax: number): Promise<void> {
    const since = now - HOUR_MS;
    const prefix = acmeAccountOrdersPrefix(accountId);
    const recent = await store.rangeAcme(prefix, { gte: `${prefix}\x00${since.toString(16).padStart(16, '0')}`, limit: ordersPerHourMax });
    if (recent.length < ordersPerHourMax) return;
    const oldest = Number.parseInt(recent[0]![0].split('\x00')[2]!, 16);
    const retryAfterSeconds = Math.max(1, Math.ceil((oldest + HOUR_MS - now) / 1000));
    throw new AcmeProblem('rateLimited', `account ${accountId} created ${ordersPerHourMax} orders in the last hour (the limit); retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  private async commitOrProblem(event: Parameters<Committer['commitRetrying']>[0], tier: 'local' | 'global'): Promise<void> {
    const outcome = await this.committer.commitRetrying(event, tier);
    if (outcome.ok) return;
    if (outcome.error.code === 'ERR_EXPIRED') throw new AcmeProblem('malformed', outcome.error.message);
    throw new AcmeProblem('malformed', `${event.type} was refused: ${outcome.error.message}`, { status: 409 });
  }
}

/** A wildcard the directory's profile cannot issue is refused at once, not at finalize after its dns-01 validation. */
async function checkWildcards(store: PkiStateQueries, identifiers: readonly AcmeIdentifier[], profileName: string): Promise<void> {
  const wildcard = identifiers.find((i) => i.type === 'dns' && i.value.startsWith('*.'));
  if (wildcard === undefined || (await profileFor(profileName, store)).san.dns.allowWildcard) return;
  throw new AcmeProblem('rejectedIdentifier', `identifiers: ${wildcard.value}: this directory issues under profile ${profileName}, which allows no wildcard names (san.dns.allowWildcard)`);
}

/**
 * The cluster's allowed names (`init`), checked at newOrder as finalize will check them
 * (issuance/ca-profiles.ts checkClusterNames), so no order is validated only to fail at finalize.
 */
async function checkOrderNames(store: PkiStateQueries, identifiers: readonly AcmeIdentifier[], profileName: string): Promise<void> {
  try {
    await checkClusterNames(await profileFor(profileName, store), identifiers, store, (i) => `identifiers[${i}]`);
  } catch (e) {
    if (isPkiError(e, 'ERR_NAME_NOT_ALLOWED')) throw new AcmeProblem('rejectedIdentifier', e.message);
    throw e;
  }
}

function orderIdentifiers(raw: unknown[], settings: AcmeDirectorySettings): AcmeIdentifier[] {
  if (raw.length === 0) throw new AcmeProblem('malformed', 'identifiers: an order needs at least one identifier');
  if (raw.length > 100) throw new AcmeProblem('rejectedIdentifier', `identifiers: at most 100 per order (got ${raw.length})`);
  const identifiers = raw.map((r, i) => canonicalIdentifier(r, `identifiers[${i}]`));
  identifiers.forEach((identifier, i) => settings.checkIdentifier(identifier, `identifiers[${i}]`));
  const seen = new Set<string>();
  return identifiers.filter((i) => !seen.has(`${i.type}:${i.value}`) && seen.add(`${i.type}:${i.value}`));
}

async function accountIn(store: PkiStateQueries, accountId: string): Promise<AcmeAccountRecord | undefined> {
  const record = await store.getAcme(acmeAccountKey(accountId));
  return record?.kind === 'account' ? record : undefined;
}

async function accountByKeyIn(store: PkiStateQueries, keyThumbprint: string): Promise<AcmeAccountRecord | undefined> {
  const key = await store.getAcme(acmeKeyKey(keyThumbprint));
  return key?.kind === 'key' ? accountIn(store, key.accountId) : undefined;
}

/** RFC 8555 §7.4: the CSR's names (SANs, and a CN if any) are exactly the order's identifiers. */
function checkCsrNames(csrDer: Uint8Array, identifiers: readonly AcmeIdentifier[]): void {
  let csr;
  try {
    csr = parseCsr(csrDer);
  } catch (e) {
    throw csrProblem(e);
  }
  const unsupported = csr.requestedSans.filter((s) => s.type !== 'dns' && s.type !== 'ip');
  if (unsupported.length > 0) throw new AcmeProblem('badCSR', `the CSR asks for ${unsupported.map((s) => `${s.type}:${s.value}`).join(', ')}, which no order identifies`);
  const requested = csr.requestedSans.map((s, i) => canonicalIdentifier({ type: s.type, value: s.value }, `csr.subjectAltName[${i}]`));
  for (const cn of attributeValues(csr.subjectRdns, 'CN')) {
    requested.push(canonicalIdentifier({ type: parseIpAddress(cn) === undefined ? 'dns' : 'ip', value: cn }, 'csr.subject.CN'));
  }
  const want = identifierSetKey(identifiers);
  const got = identifierSetKey(requested);
  if (want !== got) {
    const extra = requested.filter((r) => !identifiers.some((i) => i.type === r.type && i.value === r.value)).map((r) => r.value);
    const missing = identifiers.filter((i) => !requested.some((r) => r.type === i.type && r.value === i.value)).map((i) => i.value);
    throw new AcmeProblem('badCSR', `the CSR must name exactly the order's identifiers${extra.length > 0 ? `; not in the order: ${extra.join(', ')}` : ''}${missing.length > 0 ? `; missing: ${missing.join(', ')}` : ''}`);
  }
}

function csrProblem(e: unknown): unknown {
  if (!isPkiError(e)) return e;
  if (e.code.startsWith('ERR_CSR') || e.code.startsWith('ERR_KEY')) return new AcmeProblem('badCSR', e.message);
  if (e.code === 'ERR_SAN_FORBIDDEN' || e.code === 'ERR_SAN_INVALID' || e.code === 'ERR_SUBJECT_INVALID') return new AcmeProblem('rejectedIdentifier', e.message);
  return e;
}
