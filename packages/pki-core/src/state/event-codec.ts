// Event encoding: plain MessagePack (msgpackr without records, TOOLCHAIN.md) of
// `{ v, type, ...fields }`. `decodeEvent` is the strict gate between the replicated log and
// `applyEvent`: any bytes at all yield either a well-formed event or ERR_EVENT_MALFORMED, never a
// crash. `encodeEvent` runs the same checks first, so nothing malformed enters the log from us.
import { plainMessagePack } from '@adrestia/consensus';
import { validateAllowedNames, type AllowedNames } from '../ca/allowed-names.ts';
import { isPkiError, PkiError } from '../errors.ts';
import {
  EVENT_FORMAT_VERSION,
  type AzSpec,
  type CaRole,
  type ClusterSettings,
  type RenewalCharge,
  type CrossCertificate,
  type RewrappedKey,
  type NodeActivity,
  type NodeAddresses,
  type PkiEvent,
  type PkiEventType,
} from './events.ts';
import { ACME_READERS } from './acme-codec.ts';
import { PROVISIONER_READERS } from './provisioner-codec.ts';
import { AUDIT_READERS } from './audit-codec.ts';
import { checkCidr, checkEndpoint, checkIp, checkPlainData, checkText, FieldError, FieldReader, LIMITS } from './fields.ts';
import { CRL_PARTITION_BYTES_MAX, CRL_PARTITIONS_MAX, isCrlPartitionCount } from './crl-partitions.ts';

/** Upper bound on one encoded event; a CRL is the largest thing an event carries. */
const MAX_EVENT_BYTES = LIMITS.maxCrlDerBytes + 64 * 1024;

type Reader = (r: FieldReader) => PkiEvent;

function readSettings(r: FieldReader): ClusterSettings {
  const allowedNames = r.optional('allowedNames', () => checkedAllowedNames(r.raw('allowedNames')));
  const settings = { idempotencyWindowMs: r.int('idempotencyWindowMs', 0, LIMITS.maxIdempotencyWindowMs), ...(allowedNames === undefined ? {} : { allowedNames }) };
  r.done();
  return settings;
}

/** Allowed names as `init` could have set them (the validator the configuration uses). */
function checkedAllowedNames(data: unknown): AllowedNames {
  try {
    return validateAllowedNames(data, 'settings.allowedNames');
  } catch (e) {
    if (isPkiError(e)) throw new FieldError(e.field ?? 'settings.allowedNames', e.message.replace(/^[^:]*: /, ''));
    throw e;
  }
}

function readAz(r: FieldReader): AzSpec {
  const az: AzSpec = {
    name: r.id('name'),
    subnets: r.list('subnets', LIMITS.maxSubnets, checkCidr),
    localVip: checkIp(r.raw('localVip'), 'az.localVip'),
  };
  r.done();
  if (az.subnets.length === 0) throw new FieldError('az.subnets', 'expected at least one subnet');
  return az;
}

function readAddresses(r: FieldReader): NodeAddresses {
  const addresses = { api: checkEndpoint(r.raw('api'), 'addresses.api'), raft: checkEndpoint(r.raw('raft'), 'addresses.raft') };
  r.done();
  return addresses;
}

function readCaCertificateInstalled(r: FieldReader): PkiEvent {
  const ev = {
    type: 'CaCertificateInstalled' as const,
    issuerId: r.id('issuerId'),
    parentIssuerId: r.optional('parentIssuerId', () => r.id('parentIssuerId')),
    role: r.oneOf<CaRole>('role', ['root', 'az', 'node']),
    az: r.optional('az', () => r.id('az')),
    nodeId: r.optional('nodeId', () => r.id('nodeId')),
    certDer: r.bytes('certDer', LIMITS.maxDerBytes),
    wrappedKey: r.optional('wrappedKey', () => r.bytes('wrappedKey', LIMITS.maxWrappedKeyBytes)),
    serialHex: r.serialHex('serialHex'),
    notAfter: r.time('notAfter'),
    replacesIssuerId: r.optional('replacesIssuerId', () => r.id('replacesIssuerId')),
    crlPartitions: r.optional('crlPartitions', () => r.int('crlPartitions', 1, CRL_PARTITIONS_MAX)),
    at: r.time('at'),
  };
  if (ev.crlPartitions !== undefined && !isCrlPartitionCount(ev.crlPartitions)) throw new FieldError('crlPartitions', 'must be a power of two');
  if (ev.crlPartitions !== undefined && ev.role !== 'node') throw new FieldError('crlPartitions', 'only a node CA has partition CRLs');
  if (ev.role === 'root' && ev.replacesIssuerId !== undefined) throw new FieldError('replacesIssuerId', 'a root is not renewed by replacement');
  // The shape each role must have (docs/architecture.md §4.2 hierarchy: root → AZ ICA → node ICA).
  const isRoot = ev.role === 'root';
  if (isRoot !== (ev.parentIssuerId === undefined)) throw new FieldError('parentIssuerId', 'required exactly for non-root CAs');
  if (isRoot !== (ev.az === undefined)) throw new FieldError('az', 'required exactly for AZ and node CAs');
  if ((ev.role === 'node') !== (ev.nodeId !== undefined)) throw new FieldError('nodeId', 'required exactly for node CAs');
  // A node ICA key is generated on its node and never leaves it.
  if (ev.role === 'node' && ev.wrappedKey !== undefined) throw new FieldError('wrappedKey', 'a node CA key never leaves its node');
  return dropUndefined(ev);
}

function readRewrappedKey(value: unknown, path: string): RewrappedKey {
  const r = FieldReader.of(value, path);
  const kind = r.oneOf<RewrappedKey['kind']>('kind', ['ca', 'ocspResponder', 'acmeEab']);
  const key: RewrappedKey =
    kind === 'ca'
      ? { kind, issuerId: r.id('issuerId'), wrappedKey: r.bytes('wrappedKey', LIMITS.maxWrappedKeyBytes) }
      : kind === 'ocspResponder'
        ? { kind, az: r.id('az'), wrappedKey: r.bytes('wrappedKey', LIMITS.maxWrappedKeyBytes) }
        : { kind, keyId: r.id('keyId'), keySealed: r.bytes('keySealed', LIMITS.maxWrappedKeyBytes) };
  r.done();
  return key;
}

function readCrossCertificate(value: unknown, path: string): CrossCertificate {
  const r = FieldReader.of(value, path);
  const cross = {
    signerIssuerId: r.id('signerIssuerId'),
    subjectIssuerId: r.id('subjectIssuerId'),
    certDer: r.bytes('certDer', LIMITS.maxDerBytes),
    serialHex: r.serialHex('serialHex'),
    notAfter: r.time('notAfter'),
  };
  r.done();
  if (cross.signerIssuerId === cross.subjectIssuerId) throw new FieldError(`${path}.subjectIssuerId`, 'a cross certificate joins two different roots');
  return cross;
}

/** Exactly the two cross certificates between the previous root and the new one, one each way. */
function readRootRolledOver(r: FieldReader): PkiEvent {
  const ev = dropUndefined({
    type: 'RootRolledOver' as const,
    previousRootIssuerId: r.id('previousRootIssuerId'),
    rootIssuerId: r.id('rootIssuerId'),
    rootCertDer: r.bytes('rootCertDer', LIMITS.maxDerBytes),
    rootSerialHex: r.serialHex('rootSerialHex'),
    rootNotAfter: r.time('rootNotAfter'),
    wrappedRootKey: r.optional('wrappedRootKey', () => r.bytes('wrappedRootKey', LIMITS.maxWrappedKeyBytes)),
    crossCertificates: r.list('crossCertificates', 2, readCrossCertificate),
    at: r.time('at'),
  });
  if (ev.previousRootIssuerId === ev.rootIssuerId) throw new FieldError('rootIssuerId', 'the new root must differ from the previous one');
  const pairs = ev.crossCertificates.map((c) => `${c.signerIssuerId}>${c.subjectIssuerId}`).sort();
  const expected = [`${ev.previousRootIssuerId}>${ev.rootIssuerId}`, `${ev.rootIssuerId}>${ev.previousRootIssuerId}`].sort();
  if (pairs.join() !== expected.join()) throw new FieldError('crossCertificates', 'expected one cross certificate each way between the previous and the new root');
  return ev;
}

function readRenewalCharge(r: FieldReader): RenewalCharge {
  const charge = { provisioner: r.id('provisioner'), identity: r.text('identity', 1, 255) };
  r.done();
  return charge;
}

function readIssued(r: FieldReader): PkiEvent {
  const renewalCharge = r.optional('renewalCharge', () => readRenewalCharge(r.map('renewalCharge')));
  return {
    type: 'Issued',
    issuerId: r.id('issuerId'),
    serialHex: r.serialHex('serialHex'),
    certDer: r.bytes('certDer', LIMITS.maxDerBytes),
    notAfter: r.time('notAfter'),
    subject: r.text('subject', 0),
    sans: r.list('sans', LIMITS.maxSans, (v, p) => checkText(v, p, 1, LIMITS.maxSanChars)),
    profile: r.id('profile'),
    requester: r.text('requester'),
    publicKeyHash: r.sha256Hex('publicKeyHash'),
    idempotencyKey: r.sha256Hex('idempotencyKey'),
    ...(renewalCharge === undefined ? {} : { renewalCharge }),
    at: r.time('at'),
  };
}

function readDeltaCrlPublished(r: FieldReader): PkiEvent {
  const ev = {
    type: 'DeltaCrlPublished' as const,
    issuerId: r.id('issuerId'),
    crlNumber: r.int('crlNumber', 1, Number.MAX_SAFE_INTEGER),
    baseCrlNumber: r.int('baseCrlNumber', 0, Number.MAX_SAFE_INTEGER),
    crlDer: r.bytes('crlDer', LIMITS.maxCrlDerBytes),
    thisUpdate: r.time('thisUpdate'),
    nextUpdate: r.time('nextUpdate'),
  };
  // RFC 5280 §5.2.4: a delta is numbered after its base.
  if (ev.crlNumber <= ev.baseCrlNumber) throw new FieldError('crlNumber', 'must exceed baseCrlNumber');
  if (ev.nextUpdate <= ev.thisUpdate) throw new FieldError('nextUpdate', 'must be later than thisUpdate');
  return ev;
}

function readPartitionCrlPublished(r: FieldReader): PkiEvent {
  const ev = {
    type: 'PartitionCrlPublished' as const,
    issuerId: r.id('issuerId'),
    partition: r.int('partition', 0, CRL_PARTITIONS_MAX - 1),
    crlNumber: r.int('crlNumber', 1, Number.MAX_SAFE_INTEGER),
    // The budget holds in the log too: an entry over it is malformed (node/revocation/crl-partitions.ts refuses to build one).
    crlDer: r.bytes('crlDer', CRL_PARTITION_BYTES_MAX),
    thisUpdate: r.time('thisUpdate'),
    nextUpdate: r.time('nextUpdate'),
  };
  if (ev.nextUpdate <= ev.thisUpdate) throw new FieldError('nextUpdate', 'must be later than thisUpdate');
  return ev;
}

function readCrlPublished(r: FieldReader): PkiEvent {
  const ev = {
    type: 'CrlPublished' as const,
    issuerId: r.id('issuerId'),
    crlNumber: r.int('crlNumber', 0, Number.MAX_SAFE_INTEGER),
    crlDer: r.bytes('crlDer', LIMITS.maxCrlDerBytes),
    thisUpdate: r.time('thisUpdate'),
    nextUpdate: r.time('nextUpdate'),
  };
  // RFC 5280 §5.1.2.5: nextUpdate is later than thisUpdate.
  if (ev.nextUpdate <= ev.thisUpdate) throw new FieldError('nextUpdate', 'must be later than thisUpdate');
  return ev;
}

const READERS: { [T in PkiEventType]: Reader } = {
  ClusterCreated: (r) =>
    dropUndefined({
      type: 'ClusterCreated' as const,
      clusterId: r.id('clusterId'),
      rootIssuerId: r.id('rootIssuerId'),
      rootCertDer: r.bytes('rootCertDer', LIMITS.maxDerBytes),
      rootSerialHex: r.serialHex('rootSerialHex'),
      rootNotAfter: r.time('rootNotAfter'),
      wrappedRootKey: r.optional('wrappedRootKey', () => r.bytes('wrappedRootKey', LIMITS.maxWrappedKeyBytes)),
      settings: readSettings(r.map('settings')),
      createdAt: r.time('createdAt'),
    }),
  ClusterSettingsSet: (r) => ({ type: 'ClusterSettingsSet', settings: readSettings(r.map('settings')), at: r.time('at') }),
  AzAdded: (r) => {
    const founderNodeId = r.optional('founderNodeId', () => r.id('founderNodeId'));
    return { type: 'AzAdded', az: readAz(r.map('az')), ...(founderNodeId === undefined ? {} : { founderNodeId }), at: r.time('at') };
  },
  AzDeclared: (r) => ({ type: 'AzDeclared', az: readAz(r.map('az')), requestedBy: r.text('requestedBy'), at: r.time('at') }),
  AzFounded: (r) => ({ type: 'AzFounded', name: r.id('name'), founderNodeId: r.id('founderNodeId'), at: r.time('at') }),
  AzRemovalStarted: (r) => ({ type: 'AzRemovalStarted', name: r.id('name'), requestedBy: r.text('requestedBy'), at: r.time('at') }),
  AzRemoved: (r) => ({ type: 'AzRemoved', name: r.id('name'), at: r.time('at') }),
  AzRefounded: (r) => ({ type: 'AzRefounded', name: r.id('name'), requestedBy: r.text('requestedBy'), at: r.time('at') }),
  CaCertificateInstalled: readCaCertificateInstalled,
  CaKeyRewrapped: (r) => ({
    type: 'CaKeyRewrapped',
    keys: r.list('keys', LIMITS.maxRewrappedKeys, readRewrappedKey),
    at: r.time('at'),
  }),
  RootRolledOver: readRootRolledOver,
  NodeRegistered: (r) => ({
    type: 'NodeRegistered',
    nodeId: r.id('nodeId'),
    az: r.id('az'),
    addresses: readAddresses(r.map('addresses')),
    tlsCertDer: r.bytes('tlsCertDer', LIMITS.maxDerBytes),
    icaIssuerId: r.id('icaIssuerId'),
    at: r.time('at'),
  }),
  NodeRenewed: (r) => ({
    type: 'NodeRenewed',
    nodeId: r.id('nodeId'),
    icaIssuerId: r.id('icaIssuerId'),
    tlsCertDer: r.bytes('tlsCertDer', LIMITS.maxDerBytes),
    at: r.time('at'),
  }),
  NodeRemoved: (r) => ({ type: 'NodeRemoved', nodeId: r.id('nodeId'), reason: r.text('reason'), at: r.time('at') }),
  NodeActivityMarked: (r) => ({
    type: 'NodeActivityMarked',
    nodeId: r.id('nodeId'),
    activity: r.oneOf<NodeActivity>('activity', ['active', 'inactive']),
    lastSeenAt: r.time('lastSeenAt'),
    at: r.time('at'),
  }),
  Issued: readIssued,
  Revoked: (r) => ({
    type: 'Revoked',
    issuerId: r.id('issuerId'),
    serialHex: r.serialHex('serialHex'),
    reason: r.crlReason('reason'),
    revokedAt: r.time('revokedAt'),
    requestedBy: r.text('requestedBy'),
    notAfter: r.time('notAfter'),
  }),
  CrlPublished: readCrlPublished,
  ProfileSet: (r) => {
    const profile = checkPlainData(r.raw('profile'), 'profile');
    if (profile === null || typeof profile !== 'object' || Array.isArray(profile) || profile instanceof Uint8Array) {
      throw new FieldError('profile', 'expected a map');
    }
    return { type: 'ProfileSet', name: r.id('name'), profile };
  },
  ProfileRemoved: (r) => ({ type: 'ProfileRemoved', name: r.id('name') }),
  ExpiredPruned: (r) => ({
    type: 'ExpiredPruned',
    before: r.time('before'),
    limit: r.int('limit', 1, LIMITS.maxPruneLimit),
  }),
  JoinTokenIssued: (r) => ({
    type: 'JoinTokenIssued',
    tokenId: r.id('tokenId'),
    az: r.id('az'),
    expiresAt: r.time('expiresAt'),
    at: r.time('at'),
  }),
  JoinTokenUsed: (r) => ({
    type: 'JoinTokenUsed',
    tokenId: r.id('tokenId'),
    az: r.id('az'),
    nodeId: r.id('nodeId'),
    expiresAt: r.time('expiresAt'),
    at: r.time('at'),
  }),
  OcspResponderKeyInstalled: (r) => ({
    type: 'OcspResponderKeyInstalled',
    az: r.id('az'),
    keyId: r.id('keyId'),
    spkiDer: r.bytes('spkiDer', LIMITS.maxDerBytes),
    wrappedKey: r.bytes('wrappedKey', LIMITS.maxWrappedKeyBytes),
    at: r.time('at'),
  }),
  DeltaCrlPublished: readDeltaCrlPublished,
  PartitionCrlPublished: readPartitionCrlPublished,
  IndirectCrlPublished: (r) => {
    const partition = r.optional('partition', () => r.int('partition', 0, CRL_PARTITIONS_MAX - 1));
    const ev = {
      type: 'IndirectCrlPublished' as const,
      issuerId: r.id('issuerId'),
      crlNumber: r.int('crlNumber', 1, Number.MAX_SAFE_INTEGER),
      // A partition is held to the partition budget (node/revocation/crl-partitions.ts).
      crlDer: r.bytes('crlDer', partition === undefined ? LIMITS.maxCrlDerBytes : CRL_PARTITION_BYTES_MAX),
      thisUpdate: r.time('thisUpdate'),
      nextUpdate: r.time('nextUpdate'),
      coversIndex: r.int('coversIndex', 0, Number.MAX_SAFE_INTEGER),
      partition,
    };
    if (ev.nextUpdate <= ev.thisUpdate) throw new FieldError('nextUpdate', 'must be later than thisUpdate');
    return dropUndefined(ev);
  },
  OcspResponderCertified: (r) => ({
    type: 'OcspResponderCertified',
    issuerId: r.id('issuerId'),
    az: r.id('az'),
    keyId: r.id('keyId'),
    serialHex: r.serialHex('serialHex'),
    certDer: r.bytes('certDer', LIMITS.maxDerBytes),
    notAfter: r.time('notAfter'),
    at: r.time('at'),
  }),
  ...ACME_READERS,
  ...PROVISIONER_READERS,
  ...AUDIT_READERS,
};

function dropUndefined<T extends object>(obj: T): T {
  for (const key of Object.keys(obj) as (keyof T)[]) if (obj[key] === undefined) delete obj[key];
  return obj;
}

/** Validates a decoded envelope and returns the event in canonical field order. */
function readEnvelope(value: unknown): PkiEvent {
  const r = FieldReader.of(value, '');
  const version = r.raw('v');
  if (version !== EVENT_FORMAT_VERSION) throw new FieldError('v', `unsupported event format version`);
  const type = r.raw('type');
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(READERS, type)) {
    throw new FieldError('type', 'unknown event type');
  }
  const event = READERS[type as PkiEventType](r);
  r.done();
  return event;
}

function malformed(e: unknown): PkiError {
  if (e instanceof FieldError) return new PkiError('ERR_EVENT_MALFORMED', `malformed event: ${e.message}`, { field: e.field });
  return new PkiError('ERR_EVENT_MALFORMED', 'malformed event: not a MessagePack map', { cause: e });
}

/** Bytes from the log → a checked event, or throws PkiError ERR_EVENT_MALFORMED. */
export function decodeEvent(bytes: Uint8Array): PkiEvent {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0 || bytes.byteLength > MAX_EVENT_BYTES) {
    throw new PkiError('ERR_EVENT_MALFORMED', `malformed event: expected 1..${MAX_EVENT_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = plainMessagePack.unpack(bytes);
  } catch (e) {
    throw malformed(e);
  }
  try {
    return readEnvelope(value);
  } catch (e) {
    throw malformed(e);
  }
}

/** A checked event → its canonical bytes; throws ERR_EVENT_MALFORMED for an invalid event. */
export function encodeEvent(event: PkiEvent): Uint8Array {
  let canonical: PkiEvent;
  try {
    canonical = readEnvelope(dropUndefined({ v: EVENT_FORMAT_VERSION, ...event }));
  } catch (e) {
    throw malformed(e);
  }
  const bytes: Uint8Array = plainMessagePack.pack({ v: EVENT_FORMAT_VERSION, ...canonical });
  if (bytes.byteLength > MAX_EVENT_BYTES) {
    throw new PkiError('ERR_EVENT_MALFORMED', `event of ${bytes.byteLength} bytes exceeds ${MAX_EVENT_BYTES}`);
  }
  // Copy: msgpackr may reuse the memory behind what it returned on a later pack.
  return new Uint8Array(bytes);
}
