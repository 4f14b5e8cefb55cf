import { expect } from 'chai';
import type { PkiErrorCode } from '../src/errors.ts';
import { encodeEvent, type ApplyOutcome, type EventOf, type PkiEvent, type PkiStateStore } from '../src/state/index.ts';
import {
  applyAll,
  AZ1,
  AZ1_ICA,
  azAdded,
  azCaInstalled,
  baseLog,
  clusterCreated,
  DAY_MS,
  dumpWithoutApplied,
  fakeDer,
  issued,
  NODE1,
  NODE1_ICA,
  nodeCaInstalled,
  nodeRegistered,
  openStore,
  removeTempDirs,
  ROOT_ID,
  T0,
} from './state-fixtures.ts';

interface Row {
  /** State before the event. */
  setup: PkiEvent[];
  event: PkiEvent;
  /** Checks the accepted event's outcome and the state it left. */
  check: (store: PkiStateStore, outcome: ApplyOutcome) => Promise<unknown>;
  /** A variant every replica must reject, leaving the state as it was. */
  rejected: { setup: PkiEvent[]; event: PkiEvent; code: PkiErrorCode };
  /** The setups go through the global log's audit chain (state/audit-chain.ts), as PkiApplication applies them. */
  auditedSetup?: true;
}

/** Applies `events` as commands of the global log: each extends its audit chain. */
async function applyAudited(store: PkiStateStore, events: PkiEvent[]): Promise<void> {
  for (const event of events) {
    const outcome = await store.applyCommand(event, { index: store.appliedIndex() + 1 }, { log: 'global', bytes: encodeEvent(event) });
    if (outcome === null || !outcome.ok) throw new Error(`fixture event ${event.type} not applied: ${JSON.stringify(outcome)}`);
  }
}

const setUp = (store: PkiStateStore, row: Row, events: PkiEvent[]): Promise<void> => (row.auditedSetup ? applyAudited(store, events) : applyAll(store, events));

// Audit checkpoints (state/audit-chain.ts): what a global leader signs after ClusterCreated.
const checkpoint = (position: number): PkiEvent => ({
  type: 'AuditCheckpoint',
  log: 'global',
  az: AZ1,
  position,
  head: new Uint8Array(32).fill(7),
  signerNodeId: 'n1',
  chainDer: [fakeDer('signer')],
  signature: new Uint8Array(64).fill(9),
  at: T0 + 30,
});

const token = (tokenId = 'tok-1', az = AZ1): PkiEvent => ({ type: 'JoinTokenIssued', tokenId, az, expiresAt: T0 + 3600_000, at: T0 + 5 });
const profile = (name = 'server'): PkiEvent => ({ type: 'ProfileSet', name, profile: { lifetimeMs: 30 * DAY_MS, keyUsage: ['digitalSignature'] } });
const revoke = (serialHex: string, issuerId = NODE1_ICA): EventOf<'Revoked'> => ({
  type: 'Revoked',
  issuerId,
  serialHex,
  reason: 'keyCompromise',
  revokedAt: T0 + 20,
  requestedBy: 'admin',
  notAfter: T0 + 30 * DAY_MS,
});
const crl = (crlNumber: number, issuerId = NODE1_ICA): PkiEvent => ({
  type: 'CrlPublished',
  issuerId,
  crlNumber,
  crlDer: fakeDer(`crl:${crlNumber}`),
  thisUpdate: T0 + 30,
  nextUpdate: T0 + 30 + DAY_MS,
});

const ocspKey = (az = AZ1, keyId = 'ocsp-key-1'): EventOf<'OcspResponderKeyInstalled'> => ({
  type: 'OcspResponderKeyInstalled',
  az,
  keyId,
  spkiDer: fakeDer(`spki:${keyId}`),
  wrappedKey: fakeDer(`wrapped:${keyId}`),
  at: T0 + 8,
});
const ocspCert = (serialHex: string, notAfter: number, keyId = 'ocsp-key-1'): EventOf<'OcspResponderCertified'> => ({
  type: 'OcspResponderCertified',
  issuerId: NODE1_ICA,
  az: AZ1,
  keyId,
  serialHex,
  certDer: fakeDer(`responder:${serialHex}`),
  notAfter,
  at: T0 + 9,
});

const rootRolledOver = (next = 'root-2', serial = '2b'): EventOf<'RootRolledOver'> => ({
  type: 'RootRolledOver',
  previousRootIssuerId: ROOT_ID,
  rootIssuerId: next,
  rootCertDer: fakeDer('root-2'),
  rootSerialHex: `${serial}01`,
  rootNotAfter: T0 + 3650 * DAY_MS,
  wrappedRootKey: fakeDer(`wrapped-${next}`),
  crossCertificates: [
    { signerIssuerId: ROOT_ID, subjectIssuerId: next, certDer: fakeDer('x12'), serialHex: `${serial}02`, notAfter: T0 + 365 * DAY_MS },
    { signerIssuerId: next, subjectIssuerId: ROOT_ID, certDer: fakeDer('x21'), serialHex: `${serial}03`, notAfter: T0 + 365 * DAY_MS },
  ],
  at: T0 + 9,
});
const delta = (crlNumber: number, baseCrlNumber: number): PkiEvent => ({
  type: 'DeltaCrlPublished',
  issuerId: NODE1_ICA,
  crlNumber,
  baseCrlNumber,
  crlDer: fakeDer(`delta:${crlNumber}`),
  thisUpdate: T0 + 40,
  nextUpdate: T0 + 40 + DAY_MS,
});

const partitionCrl = (crlNumber: number, partition = 3): PkiEvent => ({
  type: 'PartitionCrlPublished',
  issuerId: NODE1_ICA,
  partition,
  crlNumber,
  crlDer: fakeDer(`partition:${partition}:${crlNumber}`),
  thisUpdate: T0 + 40,
  nextUpdate: T0 + 40 + DAY_MS,
});
/** baseLog with the node ICA created with 4 partition CRLs (state/crl-partitions.ts). */
const partitionedLog = (): PkiEvent[] => baseLog().map((e) => (e.type === 'CaCertificateInstalled' && e.role === 'node' ? { ...e, crlPartitions: 4 } : e));

const indirect = (crlNumber: number, issuerId = AZ1_ICA): PkiEvent => ({
  type: 'IndirectCrlPublished',
  issuerId,
  crlNumber,
  crlDer: fakeDer(`indirect:${crlNumber}`),
  thisUpdate: T0 + 40,
  nextUpdate: T0 + 40 + DAY_MS,
  coversIndex: 0,
});

const declared = (name: string, subnet: string, localVip: string): PkiEvent => ({ type: 'AzDeclared', az: { name, subnets: [subnet], localVip }, requestedBy: 'admin', at: T0 + 2 });

// ACME (state/apply-acme.ts): an account, one order of one name, its validation and finalization.
const ACME_TOKEN = 'tok'.repeat(8);
const acmeAccount = (accountId = 'acct-1', keyThumbprint = 'thumb-1'): PkiEvent => ({
  type: 'AcmeAccountCreated',
  accountId,
  keyThumbprint,
  jwkJson: '{"kty":"EC"}',
  contact: ['mailto:ops@a.example'],
  at: T0 + 10,
});
const acmeEab = (keyId = 'eab-1'): PkiEvent => ({ type: 'AcmeEabKeyCreated', keyId, keySealed: new Uint8Array(60).fill(1), at: T0 + 9 });
const acmeBoundAccount = (accountId: string, keyThumbprint: string, eabKeyId: string): PkiEvent => ({ ...(acmeAccount(accountId, keyThumbprint) as Extract<PkiEvent, { type: 'AcmeAccountCreated' }>), eabKeyId });
const acmeOrder = (orderId = 'order-1', authzId = 'authz-1', expiresAt = T0 + DAY_MS): PkiEvent => ({
  type: 'AcmeOrderCreated',
  orderId,
  accountId: 'acct-1',
  identifiers: [{ type: 'dns', value: 'a.example' }],
  authzs: [{ authzId, identifier: { type: 'dns', value: 'a.example' }, wildcard: false, challenges: [{ type: 'http-01', token: ACME_TOKEN }] }],
  expiresAt,
  at: T0 + 11,
});
const acmeValidated = (at = T0 + 12): PkiEvent => ({ type: 'AcmeChallengeValidated', authzId: 'authz-1', challengeType: 'http-01', at });
const acmeFinalized = (serialHex = '01aa', accountId = 'acct-1'): PkiEvent => ({ type: 'AcmeOrderFinalized', orderId: 'order-1', accountId, issuerId: NODE1_ICA, serialHex, at: T0 + 13 });
const acmeGet = async (s: PkiStateStore, kind: string, id: string): Promise<Record<string, unknown> | undefined> =>
  (await s.getAcme(`${kind}\x00${id}`)) as Record<string, unknown> | undefined;

// Provisioners (state/apply-provisioners.ts): one added, a token of it spent.
const PROVISIONER_JWK = { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } as const;
const provisionerAdded = (name = 'deploy'): PkiEvent => ({
  type: 'ProvisionerAdded',
  provisioner: { name, publicKey: PROVISIONER_JWK, policy: { dnsSuffixes: ['.a.example'], ipCidrs: [], uriPrefixes: [], profiles: ['server'], maxLifetimeSeconds: 86_400 } },
  requestedBy: 'admin',
  at: T0 + 10,
});
const tokenUsed = (tokenId = 'jti-0123456789abcdef', provisioner = 'deploy', at = T0 + 11): PkiEvent => ({
  type: 'ProvisionerTokenUsed',
  provisioner,
  tokenId,
  subject: 'www.a.example',
  expiresAt: T0 + 300_000,
  at,
});

function ok(outcome: ApplyOutcome): asserts outcome is Extract<ApplyOutcome, { ok: true }> {
  expect(outcome.ok, JSON.stringify(outcome)).to.equal(true);
}

const ROWS: Record<PkiEvent['type'], Row> = {
  ClusterCreated: {
    setup: [],
    event: clusterCreated(),
    check: async (s) => {
      expect((await s.cluster())?.rootIssuerId).to.equal(ROOT_ID);
      expect((await s.getCa(ROOT_ID))?.role).to.equal('root');
      expect((await s.getCertificate(ROOT_ID, '1a2b'))?.kind).to.equal('ca');
      expect((await s.settings()).idempotencyWindowMs).to.equal(600_000);
    },
    rejected: { setup: [clusterCreated()], event: clusterCreated({ clusterId: 'another', rootIssuerId: 'root-2' }), code: 'ERR_ALREADY_EXISTS' },
  },
  ClusterSettingsSet: {
    setup: [clusterCreated()],
    event: { type: 'ClusterSettingsSet', settings: { idempotencyWindowMs: 5000 }, at: T0 + 1 },
    check: async (s) => expect((await s.settings()).idempotencyWindowMs).to.equal(5000),
    rejected: { setup: [], event: { type: 'ClusterSettingsSet', settings: { idempotencyWindowMs: 5000 }, at: T0 }, code: 'ERR_EVENT_REJECTED' },
  },
  AzAdded: {
    setup: [clusterCreated()],
    event: azAdded(),
    check: async (s) => {
      expect((await s.azs()).map((a) => a.name)).to.deep.equal([AZ1]);
      expect((await s.azForAddress('127.1.2.3'))?.name).to.equal(AZ1);
      expect((await s.azForAddress('::ffff:127.1.2.3'))?.name).to.equal(AZ1);
      expect(await s.azForAddress('127.2.0.1')).to.equal(undefined);
    },
    // docs/spec.md §2.2.2: requests route by REMOTE_ADDR, so AZ subnets must not overlap.
    rejected: { setup: [clusterCreated(), azAdded()], event: azAdded('az2', '127.1.128.0/17', '127.1.128.1'), code: 'ERR_EVENT_REJECTED' },
  },
  AzDeclared: {
    setup: [clusterCreated(), azAdded()],
    event: declared('az2', '127.2.0.0/16', '127.2.0.1'),
    check: async (s) => expect(await s.getAz('az2')).to.deep.include({ phase: 'declared', founderNodeId: null, localVip: '127.2.0.1' }),
    // Two AZs sharing a local VIP could not both route to their own leader.
    rejected: { setup: [clusterCreated(), azAdded()], event: declared('az2', '127.2.0.0/16', '127.1.0.1'), code: 'ERR_EVENT_REJECTED' },
  },
  AzFounded: {
    setup: [clusterCreated(), azAdded(), declared('az2', '127.2.0.0/16', '127.2.0.1')],
    event: { type: 'AzFounded', name: 'az2', founderNodeId: 'n-b1', at: T0 + 3 },
    check: async (s) => expect(await s.getAz('az2')).to.deep.include({ phase: 'active', founderNodeId: 'n-b1' }),
    // Exactly one founder: the first AzFounded in the log wins, a second is refused.
    rejected: {
      setup: [clusterCreated(), azAdded(), declared('az2', '127.2.0.0/16', '127.2.0.1'), { type: 'AzFounded', name: 'az2', founderNodeId: 'n-b1', at: T0 + 3 }],
      event: { type: 'AzFounded', name: 'az2', founderNodeId: 'n-b2', at: T0 + 4 },
      code: 'ERR_ALREADY_EXISTS',
    },
  },
  AzRemovalStarted: {
    setup: baseLog(),
    event: { type: 'AzRemovalStarted', name: AZ1, requestedBy: 'admin', at: T0 + 9 },
    check: async (s) => {
      expect((await s.getAz(AZ1))?.phase).to.equal('removing');
      // No node registers in an AZ being removed.
      const outcomes = await s.applyEvents([{ event: nodeRegistered('n-late', NODE1_ICA), meta: { index: s.appliedIndex() + 1, term: 1 } }]);
      expect(outcomes[0]).to.deep.include({ ok: false });
      expect((outcomes[0] as { error: { code: string } }).error.code).to.equal('ERR_AZ_REMOVING');
    },
    rejected: { setup: baseLog(), event: { type: 'AzRemovalStarted', name: 'az9', requestedBy: 'admin', at: T0 + 9 }, code: 'ERR_AZ_UNKNOWN' },
  },
  AzRefounded: {
    setup: [clusterCreated(), azAdded()],
    event: { type: 'AzRefounded', name: AZ1, requestedBy: 'admin', at: T0 + 9 },
    // Declared again: its next node founds it (AzFounded), as a declared AZ's first node does.
    check: async (s) => {
      expect(await s.getAz(AZ1)).to.deep.include({ phase: 'declared', founderNodeId: null });
      const outcomes = await s.applyEvents([{ event: { type: 'AzFounded', name: AZ1, founderNodeId: 'n-new', at: T0 + 10 }, meta: { index: s.appliedIndex() + 1, term: 1 } }]);
      expect(outcomes[0]).to.deep.include({ ok: true });
      expect(await s.getAz(AZ1)).to.deep.include({ phase: 'active', founderNodeId: 'n-new' });
    },
    // Its nodes must be withdrawn first: a registered node could still act for the old group.
    rejected: { setup: baseLog(), event: { type: 'AzRefounded', name: AZ1, requestedBy: 'admin', at: T0 + 9 }, code: 'ERR_EVENT_REJECTED' },
  },
  AzRemoved: {
    setup: [clusterCreated(), azAdded()],
    event: { type: 'AzRemoved', name: AZ1, at: T0 + 9 },
    check: async (s) => expect(await s.azs()).to.deep.equal([]),
    rejected: { setup: baseLog(), event: { type: 'AzRemoved', name: AZ1, at: T0 + 9 }, code: 'ERR_EVENT_REJECTED' },
  },
  CaCertificateInstalled: {
    setup: [clusterCreated(), azAdded()],
    event: azCaInstalled(),
    check: async (s) => {
      const ca = await s.getCa(AZ1_ICA);
      expect(ca?.parentIssuerId).to.equal(ROOT_ID);
      expect(ca?.az).to.equal(AZ1);
      expect((await s.findBySerial('0a01')).map((c) => c.issuerId)).to.deep.equal([ROOT_ID]);
    },
    // The root already used serial 1a2b for itself (RFC 5280 §4.1.2.2).
    rejected: { setup: [clusterCreated(), azAdded()], event: azCaInstalled(AZ1_ICA, AZ1, '1a2b'), code: 'ERR_SERIAL_REUSED' },
  },
  CaKeyRewrapped: {
    setup: [clusterCreated(), azAdded(), azCaInstalled(), ocspKey()],
    event: {
      type: 'CaKeyRewrapped',
      keys: [
        { kind: 'ca', issuerId: ROOT_ID, wrappedKey: fakeDer('kek-2:root') },
        { kind: 'ca', issuerId: AZ1_ICA, wrappedKey: fakeDer('kek-2') },
        { kind: 'ocspResponder', az: AZ1, wrappedKey: fakeDer('kek-2:ocsp') },
      ],
      at: T0 + 9,
    },
    check: async (s) => {
      expect((await s.getCa(AZ1_ICA))?.wrappedKey).to.deep.equal(fakeDer('kek-2'));
      expect((await s.getCa(ROOT_ID))?.wrappedKey).to.deep.equal(fakeDer('kek-2:root'));
      expect((await s.ocspResponderKey(AZ1))?.wrappedKey).to.deep.equal(fakeDer('kek-2:ocsp'));
    },
    // Atomic: a rotation that would leave one sealed key (the OCSP responder's) under the old KEK changes nothing.
    rejected: {
      setup: [clusterCreated(), azAdded(), azCaInstalled(), ocspKey()],
      event: { type: 'CaKeyRewrapped', keys: [{ kind: 'ca', issuerId: ROOT_ID, wrappedKey: fakeDer('k') }, { kind: 'ca', issuerId: AZ1_ICA, wrappedKey: fakeDer('k') }], at: T0 },
      code: 'ERR_EVENT_REJECTED',
    },
  },
  RootRolledOver: {
    setup: [clusterCreated(), azAdded(), azCaInstalled()],
    event: rootRolledOver(),
    check: async (s) => {
      expect((await s.cluster())?.rootIssuerId).to.equal('root-2');
      expect((await s.getCa('root-2'))).to.deep.include({ role: 'root', parentIssuerId: null, wrappedKey: fakeDer('wrapped-root-2') });
      expect((await s.getCa(ROOT_ID))?.revokedAt).to.equal(null);
      const cross = await s.crossCertificates();
      expect(cross.map((c) => `${c.issuerId}>${c.kind === 'ca' ? c.caIssuerId : ''}`).sort()).to.deep.equal([`${ROOT_ID}>root-2`, `root-2>${ROOT_ID}`]);
    },
    // A second rollover built from the replaced root loses (the first applied wins).
    rejected: { setup: [clusterCreated(), azAdded(), rootRolledOver()], event: rootRolledOver('root-3', '3c'), code: 'ERR_ALREADY_EXISTS' },
  },
  NodeRegistered: {
    setup: [clusterCreated(), azAdded(), azCaInstalled(), nodeCaInstalled()],
    event: nodeRegistered(),
    check: async (s) => expect((await s.getNode(NODE1))?.icaIssuerId).to.equal(NODE1_ICA),
    rejected: { setup: [clusterCreated(), azAdded(), azCaInstalled()], event: nodeRegistered(), code: 'ERR_ISSUER_UNKNOWN' },
  },
  NodeRenewed: {
    // A second node CA of node 1 (its renewal), then the node record moves to it with a new TLS certificate.
    setup: [...baseLog(), nodeCaInstalled('n1-ica-2', NODE1, '0b09')],
    event: { type: 'NodeRenewed', nodeId: NODE1, icaIssuerId: 'n1-ica-2', tlsCertDer: fakeDer('tls:n1:2'), at: T0 + 60 },
    check: async (s) => {
      expect(await s.getNode(NODE1)).to.deep.include({ icaIssuerId: 'n1-ica-2', tlsCertDer: fakeDer('tls:n1:2') });
      // The earlier node CA stays: its CRLs still answer for what it signed.
      expect((await s.getCa(NODE1_ICA))?.revokedAt).to.equal(null);
    },
    // Another node's CA is not this node's to sign with.
    rejected: {
      setup: [...baseLog(), nodeCaInstalled('n2-ica', 'n2', '0b02')],
      event: { type: 'NodeRenewed', nodeId: NODE1, icaIssuerId: 'n2-ica', tlsCertDer: fakeDer('tls:n1:2'), at: T0 + 60 },
      code: 'ERR_ISSUER_UNKNOWN',
    },
  },
  NodeRemoved: {
    setup: baseLog(),
    event: { type: 'NodeRemoved', nodeId: NODE1, reason: 'decommissioned', at: T0 + 50 },
    check: async (s) => expect(await s.nodes()).to.deep.equal([]),
    rejected: { setup: baseLog(), event: { type: 'NodeRemoved', nodeId: 'nobody', reason: 'x', at: T0 }, code: 'ERR_NODE_UNKNOWN' },
  },
  NodeActivityMarked: {
    setup: baseLog(),
    event: { type: 'NodeActivityMarked', nodeId: NODE1, activity: 'inactive', lastSeenAt: T0 + 10, at: T0 + 70 },
    check: async (s) => expect((await s.getNode(NODE1))?.inactiveSince).to.equal(T0 + 10),
    // Last seen after the mark is made: no leader's view.
    rejected: { setup: baseLog(), event: { type: 'NodeActivityMarked', nodeId: NODE1, activity: 'inactive', lastSeenAt: T0 + 71, at: T0 + 70 }, code: 'ERR_EVENT_REJECTED' },
  },
  Issued: {
    setup: baseLog(),
    event: issued('01aa'),
    check: async (s, o) => {
      ok(o);
      expect(o.result).to.include({ type: 'Issued', duplicate: false });
      expect((await s.getCertificate(NODE1_ICA, '01aa'))?.kind).to.equal('leaf');
      expect((await s.listExpiringBefore(T0 + 31 * DAY_MS)).map((c) => c.serialHex)).to.deep.equal(['01aa']);
      expect(await s.isSerialUsed(NODE1_ICA, '01aa')).to.equal(true);
    },
    rejected: {
      setup: [...baseLog(), issued('01aa')],
      event: issued('01aa', { requester: 'svc-b' }),
      code: 'ERR_SERIAL_REUSED',
    },
  },
  Revoked: {
    setup: [...baseLog(), issued('01aa')],
    event: revoke('01aa'),
    check: async (s) => {
      const revoked = await s.listRevoked(NODE1_ICA);
      expect(revoked.map((r) => [r.serialHex, r.reason])).to.deep.equal([['01aa', 'keyCompromise']]);
    },
    rejected: { setup: [...baseLog(), issued('01aa'), revoke('01aa')], event: revoke('01aa'), code: 'ERR_ALREADY_REVOKED' },
  },
  CrlPublished: {
    setup: baseLog(),
    event: crl(1),
    check: async (s) => {
      expect((await s.latestCrl(NODE1_ICA))?.crlNumber).to.equal(1);
      expect(await s.nextCrlNumber(NODE1_ICA)).to.equal(2);
    },
    // RFC 5280 §5.2.3: CRL numbers increase monotonically.
    rejected: { setup: [...baseLog(), crl(5)], event: crl(5), code: 'ERR_EVENT_REJECTED' },
  },
  ProfileSet: {
    setup: [clusterCreated()],
    event: profile(),
    check: async (s) => expect((await s.getProfile('server'))?.profile).to.deep.equal({ keyUsage: ['digitalSignature'], lifetimeMs: 30 * DAY_MS }),
    rejected: { setup: [], event: profile(), code: 'ERR_EVENT_REJECTED' },
  },
  ProfileRemoved: {
    setup: [clusterCreated(), profile()],
    event: { type: 'ProfileRemoved', name: 'server' },
    check: async (s) => expect(await s.profiles()).to.deep.equal([]),
    rejected: { setup: [clusterCreated(), profile()], event: { type: 'ProfileRemoved', name: 'client' }, code: 'ERR_PROFILE_UNKNOWN' },
  },
  ExpiredPruned: {
    setup: [...baseLog(), issued('01aa'), issued('01ab', { notAfter: T0 + 60 * DAY_MS, requester: 'svc-b' }), revoke('01aa')],
    event: { type: 'ExpiredPruned', before: T0 + 31 * DAY_MS, limit: 100 },
    check: async (s, o) => {
      ok(o);
      expect(o.result).to.deep.equal({ type: 'ExpiredPruned', prunedCertificates: 1, prunedRevocations: 1, prunedTokens: 0, more: false });
      expect(await s.getCertificate(NODE1_ICA, '01aa')).to.equal(undefined);
      expect(await s.listRevoked(NODE1_ICA)).to.deep.equal([]); // RFC 5280 §3.3
      expect((await s.getCertificate(NODE1_ICA, '01ab'))?.serialHex).to.equal('01ab');
      expect(await s.isSerialUsed(NODE1_ICA, '01aa')).to.equal(true); // stays reserved
    },
    rejected: {
      setup: [...baseLog(), { type: 'ExpiredPruned', before: T0 + 10 * DAY_MS, limit: 10 }],
      event: { type: 'ExpiredPruned', before: T0 + 9 * DAY_MS, limit: 10 },
      code: 'ERR_EVENT_REJECTED',
    },
  },
  JoinTokenIssued: {
    setup: [clusterCreated(), azAdded()],
    event: token(),
    check: async (s) => expect((await s.getJoinToken('tok-1'))?.usedAt).to.equal(null),
    rejected: { setup: [clusterCreated(), azAdded(), token()], event: token(), code: 'ERR_ALREADY_EXISTS' },
  },
  JoinTokenUsed: {
    setup: [clusterCreated(), azAdded(), token()],
    event: { type: 'JoinTokenUsed', tokenId: 'tok-1', az: AZ1, nodeId: NODE1, expiresAt: T0 + 3600_000, at: T0 + 6 },
    check: async (s) => expect((await s.getJoinToken('tok-1'))?.usedBy).to.equal(NODE1),
    rejected: {
      setup: [clusterCreated(), azAdded(), token(), { type: 'JoinTokenUsed', tokenId: 'tok-1', az: AZ1, nodeId: NODE1, expiresAt: T0 + 3600_000, at: T0 + 6 }],
      event: { type: 'JoinTokenUsed', tokenId: 'tok-1', az: AZ1, nodeId: 'another-node', expiresAt: T0 + 3600_000, at: T0 + 7 },
      code: 'ERR_AUTH_TOKEN_USED',
    },
  },
  IndirectCrlPublished: {
    setup: [...baseLog(), crl(1, AZ1_ICA)],
    event: indirect(1),
    check: async (s) => {
      expect((await s.latestIndirectCrl(AZ1_ICA))?.crlNumber).to.equal(1);
      // Its own scope: the AZ ICA's own CRL sequence is untouched (RFC 5280 §5.2.3).
      expect((await s.latestCrl(AZ1_ICA))?.crlNumber).to.equal(1);
    },
    // Only an AZ ICA signs one.
    rejected: { setup: [...baseLog()], event: indirect(1, NODE1_ICA), code: 'ERR_EVENT_REJECTED' },
  },
  DeltaCrlPublished: {
    setup: [...baseLog(), crl(1)],
    event: delta(2, 1),
    check: async (s) => {
      expect((await s.latestDeltaCrl(NODE1_ICA))?.baseCrlNumber).to.equal(1);
      // RFC 5280 §5.2.4: one number sequence for complete and delta CRLs.
      expect(await s.nextCrlNumber(NODE1_ICA)).to.equal(3);
    },
    // A delta only updates the latest complete CRL.
    rejected: { setup: [...baseLog(), crl(1), crl(2)], event: delta(3, 1), code: 'ERR_EVENT_REJECTED' },
  },
  PartitionCrlPublished: {
    setup: [...partitionedLog(), partitionCrl(1)],
    event: partitionCrl(2),
    check: async (s) => {
      expect((await s.getCa(NODE1_ICA))?.crlPartitions).to.equal(4);
      expect((await s.latestPartitionCrl(NODE1_ICA, 3))?.crlNumber).to.equal(2);
      // Its own scope per partition (RFC 5280 §5.2.3): the issuer's CRL sequence is untouched.
      expect(await s.latestCrl(NODE1_ICA)).to.equal(undefined);
      expect(await s.latestPartitionCrl(NODE1_ICA, 2)).to.equal(undefined);
    },
    // A partition the CA does not have (it has 0..3).
    rejected: { setup: [...partitionedLog()], event: partitionCrl(1, 4), code: 'ERR_EVENT_REJECTED' },
  },
  OcspResponderKeyInstalled: {
    setup: [clusterCreated(), azAdded()],
    event: ocspKey(),
    check: async (s) => expect((await s.ocspResponderKey(AZ1))?.keyId).to.equal('ocsp-key-1'),
    // One key per AZ: a racing second leader's key is refused.
    rejected: { setup: [clusterCreated(), azAdded(), ocspKey()], event: ocspKey(AZ1, 'ocsp-key-2'), code: 'ERR_ALREADY_EXISTS' },
  },
  OcspResponderCertified: {
    setup: [...baseLog(), ocspKey()],
    event: ocspCert('0c01', T0 + 7 * DAY_MS),
    check: async (s) => {
      expect((await s.ocspResponderCert(NODE1_ICA, AZ1))?.serialHex).to.equal('0c01');
      expect(await s.isSerialUsed(NODE1_ICA, '0c01')).to.equal(true);
    },
    // A late proposal never replaces a longer-lived renewal.
    rejected: { setup: [...baseLog(), ocspKey(), ocspCert('0c02', T0 + 8 * DAY_MS)], event: ocspCert('0c01', T0 + 7 * DAY_MS), code: 'ERR_EVENT_REJECTED' },
  },
  AcmeAccountCreated: {
    setup: baseLog(),
    event: acmeAccount(),
    check: async (s) => {
      expect(await acmeGet(s, 'key', 'thumb-1')).to.deep.equal({ kind: 'key', accountId: 'acct-1' });
      expect((await acmeGet(s, 'account', 'acct-1'))?.['status']).to.equal('valid');
    },
    rejected: { setup: [...baseLog(), acmeAccount()], event: acmeAccount('acct-2'), code: 'ERR_ALREADY_EXISTS' },
  },
  AcmeEabKeyCreated: {
    setup: baseLog(),
    event: acmeEab(),
    check: async (s) => expect((await acmeGet(s, 'eab', 'eab-1'))?.['accountId']).to.equal(null),
    rejected: { setup: [...baseLog(), acmeEab()], event: acmeEab(), code: 'ERR_ALREADY_EXISTS' },
  },
  AcmeAccountUpdated: {
    setup: [...baseLog(), acmeAccount()],
    event: { type: 'AcmeAccountUpdated', accountId: 'acct-1', contact: [], deactivate: true, at: T0 + 12 },
    check: async (s) => expect((await acmeGet(s, 'account', 'acct-1'))?.['status']).to.equal('deactivated'),
    rejected: { setup: [...baseLog(), acmeAccount()], event: { type: 'AcmeAccountUpdated', accountId: 'ghost', contact: [], deactivate: true, at: T0 + 12 }, code: 'ERR_NOT_FOUND' },
  },
  AcmeAccountKeyChanged: {
    setup: [...baseLog(), acmeAccount()],
    event: { type: 'AcmeAccountKeyChanged', accountId: 'acct-1', oldKeyThumbprint: 'thumb-1', keyThumbprint: 'thumb-2', jwkJson: '{"kty":"OKP"}', at: T0 + 12 },
    check: async (s) => {
      expect(await acmeGet(s, 'key', 'thumb-1')).to.equal(undefined);
      expect(await acmeGet(s, 'key', 'thumb-2')).to.deep.equal({ kind: 'key', accountId: 'acct-1' });
    },
    rejected: {
      setup: [...baseLog(), acmeAccount(), acmeAccount('acct-2', 'thumb-2')],
      event: { type: 'AcmeAccountKeyChanged', accountId: 'acct-1', oldKeyThumbprint: 'thumb-1', keyThumbprint: 'thumb-2', jwkJson: '{"kty":"OKP"}', at: T0 + 12 },
      code: 'ERR_ALREADY_EXISTS',
    },
  },
  AcmeOrderCreated: {
    setup: [...baseLog(), acmeAccount()],
    event: acmeOrder(),
    check: async (s) => {
      expect((await acmeGet(s, 'order', 'order-1'))?.['status']).to.equal('pending');
      expect((await acmeGet(s, 'authz', 'authz-1'))?.['status']).to.equal('pending');
    },
    rejected: { setup: [...baseLog(), acmeAccount(), acmeOrder()], event: acmeOrder('order-2'), code: 'ERR_ALREADY_EXISTS' },
  },
  AcmeChallengeValidated: {
    setup: [...baseLog(), acmeAccount(), acmeOrder()],
    event: acmeValidated(),
    check: async (s) => {
      expect((await acmeGet(s, 'authz', 'authz-1'))?.['status']).to.equal('valid');
      expect((await acmeGet(s, 'order', 'order-1'))?.['status'], 'RFC 8555 §7.1.6: every authorization valid').to.equal('ready');
    },
    // RFC 8555 §7.1.6: an expired authorization cannot become valid.
    rejected: { setup: [...baseLog(), acmeAccount(), acmeOrder()], event: acmeValidated(T0 + 2 * DAY_MS), code: 'ERR_EXPIRED' },
  },
  AcmeAuthzDeactivated: {
    setup: [...baseLog(), acmeAccount(), acmeOrder()],
    event: { type: 'AcmeAuthzDeactivated', authzId: 'authz-1', accountId: 'acct-1', at: T0 + 12 },
    check: async (s) => expect((await acmeGet(s, 'order', 'order-1'))?.['status']).to.equal('invalid'),
    rejected: { setup: [...baseLog(), acmeAccount(), acmeOrder()], event: { type: 'AcmeAuthzDeactivated', authzId: 'authz-1', accountId: 'acct-2', at: T0 + 12 }, code: 'ERR_EVENT_REJECTED' },
  },
  AcmeOrderFinalized: {
    setup: [...baseLog(), issued('01aa'), acmeAccount(), acmeOrder(), acmeValidated()],
    event: acmeFinalized(),
    check: async (s) => expect((await acmeGet(s, 'order', 'order-1'))?.['certificate']).to.deep.equal({ issuerId: NODE1_ICA, serialHex: '01aa' }),
    // The order is not ready: its authorization was never validated.
    rejected: { setup: [...baseLog(), issued('01aa'), acmeAccount(), acmeOrder()], event: acmeFinalized(), code: 'ERR_EVENT_REJECTED' },
  },
  ProvisionerAdded: {
    setup: [clusterCreated()],
    event: provisionerAdded(),
    check: async (s) => {
      expect((await s.getProvisioner('deploy'))?.policy.dnsSuffixes).to.deep.equal(['.a.example']);
      expect((await s.provisioners()).map((p) => p.name)).to.deep.equal(['deploy']);
    },
    rejected: { setup: [clusterCreated(), provisionerAdded()], event: provisionerAdded(), code: 'ERR_ALREADY_EXISTS' },
  },
  ProvisionerRemoved: {
    setup: [clusterCreated(), provisionerAdded()],
    event: { type: 'ProvisionerRemoved', name: 'deploy', requestedBy: 'admin', at: T0 + 12 },
    check: async (s) => expect(await s.getProvisioner('deploy')).to.equal(undefined),
    rejected: { setup: [clusterCreated()], event: { type: 'ProvisionerRemoved', name: 'deploy', requestedBy: 'admin', at: T0 + 12 }, code: 'ERR_NOT_FOUND' },
  },
  ProvisionerTokenUsed: {
    setup: [clusterCreated(), provisionerAdded()],
    event: tokenUsed(),
    check: async (s) => expect((await s.provisionerTokenSpend('deploy', 'jti-0123456789abcdef')) !== undefined).to.equal(true),
    // One use, cluster-wide: the second spend of the same jti is refused.
    rejected: { setup: [clusterCreated(), provisionerAdded(), tokenUsed()], event: tokenUsed(), code: 'ERR_AUTH_TOKEN_USED' },
  },
  AuditCheckpoint: {
    setup: [clusterCreated()],
    event: checkpoint(1),
    check: async (s) => expect(await s.auditCheckpoint('global')).to.deep.equal({ position: 1, eventPosition: 2, at: T0 + 30 }),
    // A checkpoint cannot attest a position the log does not hold yet.
    rejected: { setup: [clusterCreated()], event: checkpoint(2), code: 'ERR_INPUT_INVALID' },
    auditedSetup: true,
  },
};

/**
 * How much each row's accepted event raises the cluster map's replicated version
 * (state/map-version.ts): 1 when it changes what the map reads from the state, else 0. The row's
 * CaCertificateInstalled installs an AZ ICA; its Revoked revokes a leaf.
 */
const MAP_VERSION_STEP: Record<PkiEvent['type'], 0 | 1> = {
  ClusterCreated: 1,
  ClusterSettingsSet: 0,
  AzAdded: 1,
  AzDeclared: 1,
  AzFounded: 0,
  AzRemovalStarted: 0,
  IndirectCrlPublished: 0,
  PartitionCrlPublished: 0,
  AzRemoved: 1,
  AzRefounded: 0,
  CaCertificateInstalled: 1,
  CaKeyRewrapped: 0,
  RootRolledOver: 1,
  NodeRegistered: 1,
  NodeRenewed: 1,
  NodeRemoved: 1,
  NodeActivityMarked: 1,
  Issued: 0,
  Revoked: 0,
  CrlPublished: 0,
  ProfileSet: 0,
  ProfileRemoved: 0,
  ExpiredPruned: 0,
  JoinTokenIssued: 0,
  JoinTokenUsed: 0,
  OcspResponderKeyInstalled: 0,
  OcspResponderCertified: 0,
  DeltaCrlPublished: 0,
  AcmeAccountCreated: 0,
  AcmeAccountUpdated: 0,
  AcmeAccountKeyChanged: 0,
  AcmeEabKeyCreated: 0,
  AcmeOrderCreated: 0,
  AcmeChallengeValidated: 0,
  AcmeAuthzDeactivated: 0,
  AcmeOrderFinalized: 0,
  ProvisionerAdded: 0,
  ProvisionerRemoved: 0,
  ProvisionerTokenUsed: 0,
  AuditCheckpoint: 0,
};

describe('applyEvent: one row per event type (accepted, and a rejected variant that changes nothing)', () => {
  after(removeTempDirs);

  for (const [type, row] of Object.entries(ROWS)) {
    it(`${type}: applies and leaves the expected state`, async () => {
      const store = await openStore();
      try {
        await setUp(store, row, row.setup);
        const index = row.setup.length + 1;
        const mapVersion = await store.mapVersion();
        const outcome = await store.apply(row.event, { index, term: 2 });
        expect(outcome).to.not.equal(null);
        ok(outcome!);
        expect(outcome.result.type).to.equal(type);
        expect(store.appliedIndex()).to.equal(index);
        expect(await store.mapVersion(), 'the map version').to.equal(mapVersion + MAP_VERSION_STEP[row.event.type]);
        await row.check(store, outcome);
      } finally {
        await store.close();
      }
    });

    it(`${type}: rejected with ${row.rejected.code}, state unchanged, index advanced`, async () => {
      const store = await openStore();
      try {
        await setUp(store, row, row.rejected.setup);
        const before = await dumpWithoutApplied(store);
        const index = row.rejected.setup.length + 1;
        const outcome = await store.apply(row.rejected.event, { index, term: 2 });
        expect(outcome).to.deep.include({ ok: false });
        expect((outcome as Extract<ApplyOutcome, { ok: false }>).error.code).to.equal(row.rejected.code);
        expect(await dumpWithoutApplied(store)).to.deep.equal(before);
        expect(store.appliedIndex()).to.equal(index);
      } finally {
        await store.close();
      }
    });
  }
});

describe('applyEvent: preconditions every replica checks the same way', () => {
  let store: PkiStateStore;
  beforeEach(async () => {
    store = await openStore();
    await applyAll(store, [...baseLog(), issued('01aa')]);
  });
  afterEach(() => store.close());
  after(removeTempDirs);

  async function expectRejected(event: PkiEvent, code: PkiErrorCode): Promise<void> {
    const outcome = await store.apply(event, { index: store.appliedIndex() + 1 });
    expect(outcome).to.deep.equal({ ok: false, error: { code, message: (outcome as { error: { message: string } }).error.message } });
  }

  it('Issued by an unknown issuer: ERR_ISSUER_UNKNOWN', () => expectRejected(issued('02aa', { issuerId: 'ghost' }), 'ERR_ISSUER_UNKNOWN'));
  it('Issued with an idempotency key that does not match the request: ERR_EVENT_REJECTED', () =>
    expectRejected({ ...issued('02aa'), idempotencyKey: 'f'.repeat(64) }, 'ERR_EVENT_REJECTED'));
  it('Issued by a node CA whose certificate was revoked: ERR_EVENT_REJECTED', async () => {
    await applyAll(store, [revoke('0b01', AZ1_ICA)]);
    await expectRejected(issued('02aa'), 'ERR_EVENT_REJECTED');
  });
  it('Issued or CaCertificateInstalled outliving its issuer: ERR_LIFETIME_EXCEEDS_ISSUER', async () => {
    await expectRejected(issued('02aa', { notAfter: T0 + 91 * DAY_MS }), 'ERR_LIFETIME_EXCEEDS_ISSUER');
    await expectRejected({ ...nodeCaInstalled('n2-ica', 'n2', '0b02'), notAfter: T0 + 366 * DAY_MS }, 'ERR_LIFETIME_EXCEEDS_ISSUER');
  });
  it('a revoked node CA never signs again, even after the sweep drops its CRL entry', async () => {
    await applyAll(store, [{ ...revoke('0b01', AZ1_ICA), notAfter: T0 }]);
    expect((await store.getCa(NODE1_ICA))?.revokedAt).to.equal(T0 + 20);
    await applyAll(store, [{ type: 'ExpiredPruned', before: T0 + 91 * DAY_MS, limit: 10 }]);
    expect(await store.getRevocation(AZ1_ICA, '0b01')).to.equal(undefined);
    await expectRejected(issued('02aa', { at: T0 + 100 }), 'ERR_EVENT_REJECTED');
  });
  it('the map version: node CAs count only when revoked, once, also after the sweep dropped the revocation', async () => {
    const base = await store.mapVersion();
    expect(base, 'cluster, AZ, AZ ICA and node registration; not the node CA').to.equal(4);
    await applyAll(store, [nodeCaInstalled('n2-ica', 'n2', '0b02'), revoke('01aa')]);
    expect(await store.mapVersion(), 'a node CA installed, a leaf revoked').to.equal(base);
    await applyAll(store, [{ ...revoke('0b01', AZ1_ICA), notAfter: T0 }]);
    expect(await store.mapVersion(), 'node CA revoked').to.equal(base + 1);
    await applyAll(store, [{ type: 'ExpiredPruned', before: T0 + 91 * DAY_MS, limit: 10 }, { ...revoke('0b01', AZ1_ICA), notAfter: T0, revokedAt: T0 + 99 }]);
    expect(await store.mapVersion(), 'the CA record was revoked already').to.equal(base + 1);
    const copy = await openStore();
    try {
      await copy.restore(await store.snapshot());
      expect(await copy.mapVersion(), 'a snapshot carries it').to.equal(base + 1);
    } finally {
      await copy.close();
    }
  });
  it('an expired CA issues nothing: ERR_EVENT_REJECTED', () =>
    expectRejected(issued('02aa', { at: T0 + 90 * DAY_MS, notAfter: T0 + 90 * DAY_MS }), 'ERR_EVENT_REJECTED'));
  it('Revoked for a serial of a node CA known here but not held here is recorded (the issuing AZ checked it)', async () => {
    await applyAll(store, [revoke('7777')]);
    expect((await store.listRevoked(NODE1_ICA)).map((r) => r.serialHex)).to.include('7777');
  });
  it('Revoked for a certificate held in another AZ\'s log is recorded, so revocations reach every AZ', async () => {
    // A leaf of a node CA this state never saw, and a node TLS certificate signed by an AZ ICA.
    await applyAll(store, [revoke('7777', 'node-in-az2-ica'), { ...revoke('0c01', AZ1_ICA), notAfter: T0 + 5 * DAY_MS }]);
    expect((await store.listRevoked('node-in-az2-ica')).map((r) => [r.serialHex, r.notAfter])).to.deep.equal([['7777', T0 + 30 * DAY_MS]]);
    expect((await store.listRevoked(AZ1_ICA)).map((r) => r.serialHex)).to.deep.equal(['0c01']);
    await expectRejected(revoke('7777', 'node-in-az2-ica'), 'ERR_ALREADY_REVOKED');
    // They leave with the sweep once the certificates have expired (RFC 5280 §3.3).
    const sweep = await store.apply({ type: 'ExpiredPruned', before: T0 + 6 * DAY_MS, limit: 10 }, { index: store.appliedIndex() + 1 });
    expect(sweep).to.deep.equal({ ok: true, result: { type: 'ExpiredPruned', prunedCertificates: 0, prunedRevocations: 1, prunedTokens: 0, more: false } });
    expect(await store.listRevoked(AZ1_ICA)).to.deep.equal([]);
    expect((await store.listRevoked('node-in-az2-ica')).length).to.equal(1);
  });
  it('Revoked takes notAfter from the certificate when it holds it', async () => {
    await applyAll(store, [{ ...revoke('01aa'), notAfter: T0 + 999 * DAY_MS }]);
    expect((await store.getRevocation(NODE1_ICA, '01aa'))?.notAfter).to.equal(T0 + 30 * DAY_MS);
  });
  it('CaCertificateInstalled for a node CA under another AZ\'s ICA: ERR_EVENT_REJECTED', async () => {
    await applyAll(store, [azAdded('az2', '127.2.0.0/16', '127.2.0.1'), azCaInstalled('az2-ica', 'az2', '0a02')]);
    await expectRejected(nodeCaInstalled('n2-ica', 'n2', '0b02', AZ1, 'az2-ica'), 'ERR_EVENT_REJECTED');
  });
  it('CaCertificateInstalled in an unknown AZ: ERR_AZ_UNKNOWN', () => expectRejected(azCaInstalled('az9-ica', 'az9', '0a09'), 'ERR_AZ_UNKNOWN'));
  it('NodeRegistered twice: ERR_ALREADY_EXISTS', () => expectRejected(nodeRegistered(), 'ERR_ALREADY_EXISTS'));
  it('JoinTokenUsed after expiry or in the wrong AZ', async () => {
    await applyAll(store, [token('t2')]);
    const use = (over: Partial<EventOf<'JoinTokenUsed'>>): PkiEvent => ({ type: 'JoinTokenUsed', tokenId: 't2', az: AZ1, nodeId: 'n', expiresAt: T0 + 3600_000, at: T0 + 10, ...over });
    await expectRejected(use({ at: T0 + 3600_000 }), 'ERR_AUTH_TOKEN_EXPIRED');
    // The record issued through the log is authoritative over what the proposer claims.
    await expectRejected(use({ at: T0 + 3600_000, expiresAt: T0 + 9_999_999 }), 'ERR_AUTH_TOKEN_EXPIRED');
    await expectRejected(use({ az: 'az2' }), 'ERR_WRONG_AZ');
    await expectRejected(use({ tokenId: 'offline', at: T0 + 5000, expiresAt: T0 + 5000 }), 'ERR_AUTH_TOKEN_EXPIRED');
  });
  it('JoinTokenUsed for a token minted outside the log: recorded on first use, refused on the second', async () => {
    const use = (nodeId: string, at: number): PkiEvent => ({ type: 'JoinTokenUsed', tokenId: 'jwt-jti-1', az: AZ1, nodeId, expiresAt: T0 + DAY_MS, at });
    await applyAll(store, [use('n1', T0 + 10)]);
    expect(await store.getJoinToken('jwt-jti-1')).to.deep.equal({ tokenId: 'jwt-jti-1', az: AZ1, expiresAt: T0 + DAY_MS, issuedAt: null, usedAt: T0 + 10, usedBy: 'n1' });
    expect(await store.isJoinTokenUsed('jwt-jti-1')).to.equal(true);
    expect(await store.isJoinTokenUsed('jwt-jti-2')).to.equal(false);
    await expectRejected(use('n2', T0 + 11), 'ERR_AUTH_TOKEN_USED');
  });
  it('a batch with a rejected event in the middle keeps the accepted ones around it', async () => {
    const base = store.appliedIndex();
    const outcomes = await store.applyEvents([
      { event: issued('03aa', { requester: 'r1' }), meta: { index: base + 1 } },
      { event: issued('03aa', { requester: 'r2' }), meta: { index: base + 2 } },
      { event: issued('03ab', { requester: 'r3' }), meta: { index: base + 3 } },
    ]);
    expect(outcomes.map((o) => o?.ok)).to.deep.equal([true, false, true]);
    expect((await store.listCertificates(NODE1_ICA)).map((c) => c.serialHex)).to.deep.equal(['01aa', '03aa', '03ab']);
    expect(store.appliedIndex()).to.equal(base + 3);
  });
  it('entries at or below the applied index are skipped (redelivery after restart)', async () => {
    const before = await dumpWithoutApplied(store);
    const outcomes = await store.applyEvents([{ event: issued('09aa'), meta: { index: 2 } }]);
    expect(outcomes).to.deep.equal([null]);
    expect(await dumpWithoutApplied(store)).to.deep.equal(before);
  });
});

describe('Idempotent issuance: a retried request within the window gets the same certificate', () => {
  let store: PkiStateStore;
  beforeEach(async () => {
    store = await openStore();
    await applyAll(store, baseLog());
  });
  afterEach(() => store.close());
  after(removeTempDirs);

  const request = { requester: 'svc-a', publicKeyHash: 'ab'.repeat(32), sans: ['dns:b.example', 'DNS:A.example '], profile: 'server' };

  it('returns the first certificate for a retry with a fresh serial and reordered SANs, storing nothing', async () => {
    const first = await store.apply(issued('01aa', { ...request, at: T0 + 1000 }), { index: 6 });
    const before = await dumpWithoutApplied(store);
    const retry = await store.apply(issued('01bb', { ...request, sans: ['dns:a.example', 'dns:b.example'], at: T0 + 1000 + 599_999 }), { index: 7 });
    ok(first!);
    ok(retry!);
    expect(retry.result).to.deep.include({ duplicate: true });
    expect((retry.result as { certificate: { serialHex: string } }).certificate.serialHex).to.equal('01aa');
    expect(await dumpWithoutApplied(store)).to.deep.equal(before);
    expect((await store.findIdempotent((first.result as { certificate: { idempotencyKey: string } }).certificate.idempotencyKey, T0 + 2000))?.serialHex).to.equal('01aa');
  });

  it('issues a new certificate once the window has passed', async () => {
    await store.apply(issued('01aa', { ...request, at: T0 }), { index: 6 });
    const later = await store.apply(issued('01bb', { ...request, at: T0 + 600_000 }), { index: 7 });
    ok(later!);
    expect(later.result).to.deep.include({ duplicate: false });
    expect((await store.listCertificates(NODE1_ICA)).length).to.equal(2);
  });

  it('honours the window carried in the replicated settings', async () => {
    await applyAll(store, [{ type: 'ClusterSettingsSet', settings: { idempotencyWindowMs: 1000 }, at: T0 }]);
    await store.apply(issued('01aa', { ...request, at: T0 }), { index: 7 });
    const later = await store.apply(issued('01bb', { ...request, at: T0 + 1000 }), { index: 8 });
    ok(later!);
    expect(later.result).to.deep.include({ duplicate: false });
  });

  it('does not hand back a revoked certificate', async () => {
    await store.apply(issued('01aa', { ...request, at: T0 }), { index: 6 });
    await store.apply(revoke('01aa'), { index: 7 });
    const retry = await store.apply(issued('01bb', { ...request, at: T0 + 10 }), { index: 8 });
    ok(retry!);
    expect(retry.result).to.deep.include({ duplicate: false });
  });

  it('treats a different public key, profile or requester as a new request', async () => {
    await store.apply(issued('01aa', { ...request, at: T0 }), { index: 6 });
    const variants = [{ publicKeyHash: 'cd'.repeat(32) }, { profile: 'client' }, { requester: 'svc-b' }];
    for (const [i, v] of variants.entries()) {
      const o = await store.apply(issued(`02a${i}`, { ...request, ...v, at: T0 + 1 }), { index: 7 + i });
      ok(o!);
      expect(o.result, JSON.stringify(v)).to.deep.include({ duplicate: false });
    }
  });
});

describe('ExpiredPruned: the replicated expiry sweep is bounded by its limit', () => {
  after(removeTempDirs);

  it('prunes oldest first, reports more, and finishes on a second sweep with the same cut-off', async () => {
    const store = await openStore();
    try {
      const leaves = Array.from({ length: 5 }, (_, i) => issued(`05a${i}`, { requester: `r${i}`, notAfter: T0 + (i + 1) * DAY_MS }));
      await applyAll(store, [...baseLog(), ...leaves, token('old'), { type: 'JoinTokenIssued', tokenId: 'new', az: AZ1, expiresAt: T0 + 99 * DAY_MS, at: T0 }]);
      const sweep = { type: 'ExpiredPruned', before: T0 + 4 * DAY_MS + 1, limit: 3 } as const;
      const first = await store.apply(sweep, { index: store.appliedIndex() + 1 });
      expect(first).to.deep.equal({ ok: true, result: { type: 'ExpiredPruned', prunedCertificates: 3, prunedRevocations: 0, prunedTokens: 1, more: true } });
      expect((await store.listCertificates(NODE1_ICA)).map((c) => c.serialHex)).to.deep.equal(['05a3', '05a4']);
      const second = await store.apply(sweep, { index: store.appliedIndex() + 1 });
      expect(second).to.deep.equal({ ok: true, result: { type: 'ExpiredPruned', prunedCertificates: 1, prunedRevocations: 0, prunedTokens: 0, more: false } });
      expect((await store.listCertificates(NODE1_ICA)).map((c) => c.serialHex)).to.deep.equal(['05a4']);
      expect((await store.joinTokens()).map((t) => t.tokenId)).to.deep.equal(['new']);
      // RFC 5280 §4.1.2.2: a pruned serial is still never reissued.
      const reuse = await store.apply(issued('05a0', { requester: 'again' }), { index: store.appliedIndex() + 1 });
      expect(reuse).to.deep.include({ ok: false });
    } finally {
      await store.close();
    }
  });
});

describe('RFC 5280 §5.2.4 delta CRLs share the CRL number sequence', () => {
  after(removeTempDirs);

  it('a complete CRL numbered at or below the latest delta is refused; the next one is accepted', async () => {
    const store = await openStore();
    await applyAll(store, [...baseLog(), crl(1), delta(2, 1)]);
    const [stale] = await store.applyEvents([{ event: crl(2), meta: { index: store.appliedIndex() + 1 } }]);
    expect(stale?.ok === false ? stale.error.code : 'accepted').to.equal('ERR_EVENT_REJECTED');
    const [next] = await store.applyEvents([{ event: crl(3), meta: { index: store.appliedIndex() + 1 } }]);
    expect(next?.ok).to.equal(true);
    await store.close();
  });
});

describe('RFC 8555 §7.3.4 external account binding on apply (apply-acme.ts)', () => {
  after(removeTempDirs);

  it('an external account key binds one account: a second account naming it, or an unknown key id, is rejected', async () => {
    const store = await openStore();
    try {
      const log = [...baseLog(), acmeEab(), acmeBoundAccount('acct-1', 'thumb-1', 'eab-1')];
      await applyAll(store, log);
      expect((await acmeGet(store, 'eab', 'eab-1'))?.['accountId']).to.equal('acct-1');
      const second = await store.apply(acmeBoundAccount('acct-2', 'thumb-2', 'eab-1'), { index: log.length + 1, term: 2 });
      expect((second as Extract<ApplyOutcome, { ok: false }>).error.code).to.equal('ERR_ALREADY_EXISTS');
      const unknown = await store.apply(acmeBoundAccount('acct-3', 'thumb-3', 'eab-9'), { index: log.length + 2, term: 2 });
      expect((unknown as Extract<ApplyOutcome, { ok: false }>).error.code).to.equal('ERR_NOT_FOUND');
      expect(await acmeGet(store, 'account', 'acct-2')).to.equal(undefined);
      expect(await acmeGet(store, 'account', 'acct-3')).to.equal(undefined);
    } finally {
      await store.close();
    }
  });
});
