import { expect } from 'chai';
import fc from 'fast-check';
import { plainMessagePack } from '@adrestia/consensus';
import { isPkiError } from '../src/errors.ts';
import { decodeEvent, encodeEvent, type PkiEvent } from '../src/state/index.ts';
import {
  azAdded,
  azCaInstalled,
  clusterCreated,
  fakeDer,
  issued,
  nodeCaInstalled,
  nodeRegistered,
  removeTempDirs,
  T0,
} from './state-fixtures.ts';

/** One valid example of every event type. */
function examples(): PkiEvent[] {
  return [
    clusterCreated(),
    { type: 'ClusterSettingsSet', settings: { idempotencyWindowMs: 60_000 }, at: T0 },
    azAdded('az2', '2001:db8::/48', '2001:db8::1'),
    { type: 'AzDeclared', az: { name: 'az3', subnets: ['10.3.0.0/16'], localVip: '10.3.0.1' }, requestedBy: 'admin@127.0.0.1', at: T0 },
    { type: 'AzFounded', name: 'az3', founderNodeId: 'n3', at: T0 },
    { type: 'AzRemovalStarted', name: 'az2', requestedBy: 'admin@127.0.0.1', at: T0 },
    { type: 'AzRemoved', name: 'az2', at: T0 },
    { type: 'AzRefounded', name: 'az3', requestedBy: 'admin@127.0.0.1', at: T0 },
    azCaInstalled(),
    nodeCaInstalled(),
    { type: 'CaKeyRewrapped', keys: [{ kind: 'ca', issuerId: 'az1-ica', wrappedKey: fakeDer('rewrapped') }, { kind: 'ocspResponder', az: 'az1', wrappedKey: fakeDer('rewrapped-ocsp') }, { kind: 'acmeEab', keyId: 'eab-1', keySealed: fakeDer('rewrapped-eab') }], at: T0 },
    {
      type: 'RootRolledOver',
      previousRootIssuerId: 'root-1',
      rootIssuerId: 'root-2',
      rootCertDer: fakeDer('root-2'),
      rootSerialHex: '2b01',
      rootNotAfter: T0 + 1000,
      wrappedRootKey: fakeDer('wrapped-root-2'),
      crossCertificates: [
        { signerIssuerId: 'root-1', subjectIssuerId: 'root-2', certDer: fakeDer('x12'), serialHex: '2b02', notAfter: T0 + 500 },
        { signerIssuerId: 'root-2', subjectIssuerId: 'root-1', certDer: fakeDer('x21'), serialHex: '2b03', notAfter: T0 + 500 },
      ],
      at: T0,
    },
    nodeRegistered(),
    { type: 'NodeRemoved', nodeId: 'n1', reason: 'decommissioned', at: T0 },
    { type: 'NodeActivityMarked', nodeId: 'n1', activity: 'inactive', lastSeenAt: T0 - 60_000, at: T0 },
    issued('01aa'),
    { type: 'Revoked', issuerId: 'i', serialHex: '01aa', reason: 'keyCompromise', revokedAt: T0, requestedBy: 'admin', notAfter: T0 + 1 },
    { type: 'CrlPublished', issuerId: 'i', crlNumber: 7, crlDer: fakeDer('crl'), thisUpdate: T0, nextUpdate: T0 + 1 },
    { type: 'IndirectCrlPublished', issuerId: 'i', crlNumber: 3, crlDer: fakeDer('indirect'), thisUpdate: T0, nextUpdate: T0 + 1, coversIndex: 12 },
    { type: 'IndirectCrlPublished', issuerId: 'i', partition: 9, crlNumber: 3, crlDer: fakeDer('indirect'), thisUpdate: T0, nextUpdate: T0 + 1, coversIndex: 12 },
    { type: 'PartitionCrlPublished', issuerId: 'i', partition: 255, crlNumber: 2, crlDer: fakeDer('partition'), thisUpdate: T0, nextUpdate: T0 + 1 },
    { type: 'ProfileSet', name: 'server', profile: { lifetimeMs: 86_400_000, sans: ['dns'], ku: { digitalSignature: true } } },
    { type: 'ProfileRemoved', name: 'server' },
    { type: 'ExpiredPruned', before: T0, limit: 100 },
    { type: 'JoinTokenIssued', tokenId: 'tok-1', az: 'az1', expiresAt: T0 + 1000, at: T0 },
    { type: 'JoinTokenUsed', tokenId: 'tok-1', az: 'az1', nodeId: 'n1', expiresAt: T0 + 1000, at: T0 + 1 },
  ];
}

function expectMalformed(bytes: Uint8Array): void {
  let thrown: unknown;
  try {
    decodeEvent(bytes);
  } catch (e) {
    thrown = e;
  }
  expect(isPkiError(thrown, 'ERR_EVENT_MALFORMED'), String(thrown)).to.equal(true);
}

function encodeRaw(value: unknown): Uint8Array {
  return new Uint8Array(plainMessagePack.pack(value));
}

describe('PKI events: MessagePack encoding', () => {
  after(removeTempDirs);

  it('round-trips the ACME events with their optional fields (an order of a named directory, an EAB key)', () => {
    const events: PkiEvent[] = [
      { type: 'AcmeEabKeyCreated', keyId: 'eab-1', keySealed: new Uint8Array(60).fill(9), at: T0 },
      { type: 'AcmeOrderCreated', orderId: 'o1', accountId: 'a1', identifiers: [{ type: 'dns', value: 'a.example' }], authzs: [{ authzId: 'z1', identifier: { type: 'dns', value: 'a.example' }, wildcard: false, challenges: [{ type: 'http-01', token: 'tok'.repeat(8) }] }], expiresAt: T0 + 10, directory: 'corp', at: T0 },
    ];
    for (const event of events) expect(decodeEvent(encodeEvent(event)), event.type).to.deep.equal(event);
    expect(decodeEvent(encodeRaw({ v: 1, type: 'AcmeEabKeyCreated', keyId: 'eab-1', keySealed: new Uint8Array(60), at: T0 })).type).to.equal('AcmeEabKeyCreated');
    expectMalformed(encodeRaw({ v: 1, type: 'AcmeEabKeyCreated', keyId: 'eab-1', keySealed: new Uint8Array(300), at: T0 })); // a sealed key over 256 bytes
  });

  it('round-trips one event of every type, byte for byte', () => {
    const all = examples();
    expect(new Set(all.map((e) => e.type)).size).to.equal(24); // every type; CaCertificateInstalled and IndirectCrlPublished twice
    for (const event of all) {
      const bytes = encodeEvent(event);
      const decoded = decodeEvent(bytes);
      expect(decoded, event.type).to.deep.equal(event);
      expect(Buffer.from(encodeEvent(decoded)).equals(Buffer.from(bytes)), event.type).to.equal(true);
    }
  });

  it('is plain MessagePack with a format version field', () => {
    const raw = plainMessagePack.unpack(encodeEvent(issued('01aa'))) as Record<string, unknown>;
    expect(raw['v']).to.equal(1);
    expect(raw['type']).to.equal('Issued');
  });

  it('encodes field order canonically whatever the order the caller wrote', () => {
    const e = issued('01aa');
    const reordered = Object.fromEntries(Object.entries(e).reverse()) as unknown as PkiEvent;
    expect(Buffer.from(encodeEvent(reordered)).equals(Buffer.from(encodeEvent(e)))).to.equal(true);
  });

  it('sorts profile map keys so equal profiles encode equally', () => {
    const a = encodeEvent({ type: 'ProfileSet', name: 'p', profile: { b: 1, a: { y: 2, x: 1 } } });
    const b = encodeEvent({ type: 'ProfileSet', name: 'p', profile: { a: { x: 1, y: 2 }, b: 1 } });
    expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(true);
  });

  it('refuses to encode an invalid event (ERR_EVENT_MALFORMED names the field)', () => {
    try {
      encodeEvent(issued('00aa'));
      expect.fail('encoded a non-canonical serial');
    } catch (e) {
      expect(isPkiError(e, 'ERR_EVENT_MALFORMED')).to.equal(true);
      expect((e as { field?: string }).field).to.equal('serialHex');
    }
  });
});

describe('PKI events: strict decoder', () => {
  const valid = (): Record<string, unknown> => ({ v: 1, ...issued('01aa') });
  const cases: [string, (m: Record<string, unknown>) => unknown][] = [
    ['an unknown format version', (m) => ({ ...m, v: 2 })],
    ['a missing version', ({ v: _v, ...rest }) => rest],
    ['an unknown event type', (m) => ({ ...m, type: 'Minted' })],
    ['an unknown extra field', (m) => ({ ...m, extra: 1 })],
    ['a missing field', ({ certDer: _c, ...rest }) => rest],
    ['a string where bytes belong', (m) => ({ ...m, certDer: 'MIIB' })],
    ['empty DER', (m) => ({ ...m, certDer: new Uint8Array(0) })],
    ['DER over the size limit', (m) => ({ ...m, certDer: new Uint8Array(64 * 1024 + 1) })],
    ['a fractional time', (m) => ({ ...m, at: 1.5 })],
    ['a negative time', (m) => ({ ...m, notAfter: -1 })],
    ['an uppercase serial', (m) => ({ ...m, serialHex: '01AA' })],
    ['a serial with a leading zero octet', (m) => ({ ...m, serialHex: '0001' })],
    ['a serial of 21 octets', (m) => ({ ...m, serialHex: '01'.repeat(21) })],
    ['an id with a space', (m) => ({ ...m, issuerId: 'node 1' })],
    ['an id with a NUL', (m) => ({ ...m, issuerId: 'a\u0000b' })],
    ['a SAN with a control character', (m) => ({ ...m, sans: ['dns:a\nb'] })],
    ['too many SANs', (m) => ({ ...m, sans: Array.from({ length: 101 }, (_, i) => `dns:h${i}`) })],
    ['a short public key hash', (m) => ({ ...m, publicKeyHash: 'abcd' })],
    ['an array instead of a map', () => [1, 2, 3]],
    ['a bare number', () => 42],
    ['null', () => null],
  ];
  for (const [name, mutate] of cases) {
    it(`rejects ${name} with ERR_EVENT_MALFORMED`, () => expectMalformed(encodeRaw(mutate(valid()))));
  }

  it('rejects CA certificates whose shape does not fit their role', () => {
    const { type: _t, ...node } = nodeCaInstalled();
    expectMalformed(encodeRaw({ v: 1, type: 'CaCertificateInstalled', ...node, wrappedKey: fakeDer('k') }));
    const { nodeId: _n, ...noNode } = node;
    expectMalformed(encodeRaw({ v: 1, type: 'CaCertificateInstalled', ...noNode }));
    const { parentIssuerId: _p, ...noParent } = node;
    expectMalformed(encodeRaw({ v: 1, type: 'CaCertificateInstalled', ...noParent }));
    expectMalformed(encodeRaw({ v: 1, type: 'CaCertificateInstalled', ...node, role: 'root' }));
  });

  it('rejects bad CIDRs, addresses, CRL windows and CRL reasons', () => {
    const az = (subnet: string, vip = '10.0.0.1') => encodeRaw({ v: 1, type: 'AzAdded', az: { name: 'a', subnets: [subnet], localVip: vip }, at: T0 });
    for (const bad of ['10.0.0.1/24', '10.0.0.0/33', '10.0.0.0', '300.0.0.0/8', '010.0.0.0/8', 'fe80::/129', 'fe80::1::/64']) expectMalformed(az(bad));
    expectMalformed(az('10.0.0.0/8', 'not-an-ip'));
    expectMalformed(encodeRaw({ v: 1, type: 'AzAdded', az: { name: 'a', subnets: [], localVip: '10.0.0.1' }, at: T0 }));
    expectMalformed(encodeRaw({ v: 1, type: 'CrlPublished', issuerId: 'i', crlNumber: 1, crlDer: fakeDer('c'), thisUpdate: T0, nextUpdate: T0 }));
    expectMalformed(encodeRaw({ v: 1, type: 'Revoked', issuerId: 'i', serialHex: '01', reason: 'because', revokedAt: T0, requestedBy: 'x', notAfter: T0 }));
  });

  it('accepts host:port endpoints for node addresses and rejects anything else', () => {
    const node = (api: string) => encodeRaw({ v: 1, ...nodeRegistered(), addresses: { api, raft: '10.0.0.1:7443' } });
    for (const good of ['10.0.0.1:8443', '[2001:db8::1]:443', 'pki-1.example.net:8443']) decodeEvent(node(good));
    for (const bad of ['10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', '2001:db8::1:443', '[10.0.0.1]:443', 'a_b:80', ':80']) expectMalformed(node(bad));
  });

  it('rejects truncated, trailing-garbage and empty input', () => {
    const bytes = encodeEvent(issued('01aa'));
    expectMalformed(bytes.subarray(0, bytes.length - 1));
    expectMalformed(Buffer.concat([bytes, Buffer.from([0])]));
    expectMalformed(new Uint8Array(0));
  });

  it('gives ERR_EVENT_MALFORMED or a valid event for any random bytes, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          const event = decodeEvent(bytes);
          // Anything accepted must re-encode cleanly.
          encodeEvent(event);
        } catch (e) {
          if (!isPkiError(e, 'ERR_EVENT_MALFORMED')) throw e;
        }
      }),
      { numRuns: 3000, seed: 0x5eed },
    );
  });

  it('gives ERR_EVENT_MALFORMED or a valid event for corrupted real events, never a crash', () => {
    const encoded = examples().map(encodeEvent);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: encoded.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (which, flips) => {
          const bytes = new Uint8Array(encoded[which]!);
          for (const [pos, value] of flips) bytes[pos % bytes.length] = value;
          try {
            encodeEvent(decodeEvent(bytes));
          } catch (e) {
            if (!isPkiError(e, 'ERR_EVENT_MALFORMED')) throw e;
          }
        },
      ),
      { numRuns: 3000, seed: 0xbad },
    );
  });

  it('gives ERR_EVENT_MALFORMED for arbitrary MessagePack values', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: false, withMap: false, withSet: false }), (value) => {
        let bytes: Uint8Array;
        try {
          bytes = encodeRaw(value);
        } catch {
          return; // not representable in MessagePack at all
        }
        try {
          decodeEvent(bytes);
        } catch (e) {
          if (!isPkiError(e, 'ERR_EVENT_MALFORMED')) throw e;
        }
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
