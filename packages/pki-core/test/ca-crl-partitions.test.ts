// Partition CRLs (RFC 5280 §5.2.5; state/crl-partitions.ts, node/revocation/crl-partitions.ts): a
// leaf's CRL distribution point names the partition its serial falls in, that partition's CRL
// carries a critical issuing distribution point naming exactly that URL, and OpenSSL
// (`verify -crl_check`, which matches the IDP against the certificate's distribution point)
// takes it as the leaf's CRL. No partition CRL over its size budget is built.
import { expect } from 'chai';
import { join } from 'node:path';
import { issueCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { isPkiError } from '../src/errors.ts';
import { indirectCrlUrl, partitionCrlUrl, withIssuerUrls } from '../src/node/ca/issuer-urls.ts';
import { buildIndirectCrlEvent } from '../src/node/revocation/indirect-crl.ts';
import { buildCrlEvent } from '../src/node/ca/ca-revocation.ts';
import { buildPartitionCrlEvent, duePartitions, type DuePartition } from '../src/node/revocation/crl-partitions.ts';
import { CRL_PARTITION_BYTES_MAX, crlPartitionOf, isCrlPartitionCount } from '../src/state/crl-partitions.ts';
import { decodeEvent, encodeEvent } from '../src/state/event-codec.ts';
import type { PkiEvent } from '../src/state/events.ts';
import type { PkiStateStore } from '../src/state/index.ts';
import type { RevocationRecord } from '../src/state/records.ts';
import { toPem } from '../src/ca/pem.ts';
import { at, buildHierarchy, days, nameDer, openssl, SERVER_LEAF, T0, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';
import { applyAll, AZ1_ICA, baseLog, DAY_MS, issued, NODE1_ICA, openStore, removeTempDirs, T0 as T0_STATE } from './state-fixtures.ts';

const BASE_URL = 'http://127.241.0.1:8080';
const PARTITIONS = 256;

describe('RFC 5280 §5.2.5 partition CRLs', function () {
  this.timeout(120_000);
  let h: Hierarchy;
  let dir: string;
  let cleanup: () => void;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  // Two serials in one partition (their last byte is 0x2a: 42 mod 256), one in another.
  const GONE = '0b012a';
  const KEPT = '0b022a';
  const OTHER = '0b0301';

  before(async () => {
    ({ dir, cleanup } = tempDir('crl-partitions'));
    h = await buildHierarchy('ecdsa-p256', 14);
    for (const [name, serial] of [['gone', GONE], ['kept', KEPT], ['other', OTHER]] as const) {
      const leaf = await issueCertificate({
        issuer: { certDer: h.node.cert.der, signer: h.node.signer },
        subjectDer: nameDer([['commonName', `${name}.example`]]),
        spkiDer: (await generateCaKeyPair('ecdsa-p256')).spkiDer,
        serial,
        notBefore: at(T0, days(1)),
        notAfter: at(now, days(30)),
        extensions: withIssuerUrls(SERVER_LEAF, BASE_URL, 'node', undefined, crlPartitionOf(serial, PARTITIONS)),
      });
      writeFile(dir, `${name}.pem`, leaf.pem);
    }
    writeFile(dir, 'root.pem', h.root.cert.pem);
    writeFile(dir, 'chain.pem', h.az.cert.pem + h.node.cert.pem);
  });
  after(() => cleanup());

  const revocation = (serialHex: string): RevocationRecord => ({
    issuerId: 'node',
    serialHex,
    reason: 'keyCompromise',
    revokedAt: now.getTime() - 60_000,
    requestedBy: 'test',
    notAfter: now.getTime() + days(30),
    index: 1,
  });
  const partitionCrl = async (partition: number, revoked: readonly RevocationRecord[]) =>
    buildPartitionCrlEvent({
      issuer: { cert: h.node.cert.der, signer: h.node.signer, issuerId: 'node' },
      due: { partition, latest: undefined, revoked },
      url: partitionCrlUrl(BASE_URL, 'node', partition),
      nowMs: now.getTime(),
      nextUpdateSeconds: 3600,
    });
  const verify = (leaf: string, crl: string): string => {
    const r = openssl(['verify', '-crl_check', '-CRLfile', join(dir, crl), '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, leaf)]);
    return r.stdout + r.stderr;
  };

  it('a serial\'s partition is its value mod a power-of-two count, the same on every call', () => {
    expect(crlPartitionOf(GONE, 256)).to.equal(42);
    expect(crlPartitionOf('0B:02:2A', 256)).to.equal(42);
    expect(crlPartitionOf('7f00', 256)).to.equal(0);
    expect(crlPartitionOf('01ff', 16)).to.equal(15);
    expect(crlPartitionOf('0b0301', 1)).to.equal(0);
    // A 16-byte serial (ca/serial.ts): mod 1024 keeps its low 10 bits.
    expect(crlPartitionOf('5c3e9a7b11d2c3b4a5968778695a4b3c', 1024)).to.equal(0x33c);
    for (const n of [0, 3, 100, 2048, 1.5]) expect(isCrlPartitionCount(n), String(n)).to.equal(false);
    expect(() => crlPartitionOf(GONE, 3)).to.throw(TypeError);
  });

  it('the leaf names its partition CRL, and that CRL\'s critical IDP names exactly that URL (onlyContainsUserCerts)', async () => {
    const url = partitionCrlUrl(BASE_URL, 'node', 42);
    expect(url).to.equal(`${BASE_URL}/crl/node-p42.crl`);
    const leafText = openssl(['x509', '-in', join(dir, 'gone.pem'), '-noout', '-ext', 'crlDistributionPoints']).stdout;
    expect(leafText).to.include(`URI:${url}`);
    const event = await partitionCrl(42, [revocation(GONE)]);
    expect(event).to.include({ type: 'PartitionCrlPublished', issuerId: 'node', partition: 42, crlNumber: 1 });
    const text = openssl(['crl', '-in', writeFile(dir, 'p42.pem', toPem(event.crlDer, 'X509 CRL')), '-noout', '-text']).stdout;
    expect(text).to.match(/Issuing Distribution Point: critical\s+Full Name:\s+URI:(\S+)\s+Only User Certificates/);
    expect(/Full Name:\s+URI:(\S+)/.exec(text)?.[1]).to.equal(url);
  });

  it('openssl verify -crl_check with the partition CRL: the revoked leaf is revoked, its partition neighbour verifies', async () => {
    writeFile(dir, 'p42.pem', toPem((await partitionCrl(42, [revocation(GONE)])).crlDer, 'X509 CRL'));
    expect(verify('gone.pem', 'p42.pem')).to.match(/certificate revoked/);
    expect(verify('kept.pem', 'p42.pem')).to.match(/kept\.pem: OK/);
  });

  it('a partition CRL is not the CRL of another partition: OpenSSL refuses its scope for a leaf of partition 1', async () => {
    writeFile(dir, 'p42.pem', toPem((await partitionCrl(42, [revocation(GONE)])).crlDer, 'X509 CRL'));
    // OpenSSL error 44 (X509_V_ERR_DIFFERENT_CRL_SCOPE): the only CRL at hand has another scope.
    expect(verify('other.pem', 'p42.pem')).to.match(/error 44 at 0 depth lookup: different CRL scope/);
    writeFile(dir, 'p1.pem', toPem((await partitionCrl(1, [])).crlDer, 'X509 CRL'));
    expect(verify('other.pem', 'p1.pem')).to.match(/other\.pem: OK/);
  });

  it(`a partition CRL over the ${CRL_PARTITION_BYTES_MAX}-byte budget is refused (ERR_CRL_OVER_BUDGET); one just under is built`, async () => {
    const serials = (n: number): RevocationRecord[] => Array.from({ length: n }, (_, i) => revocation(`5c${(i + 1).toString(16).padStart(28, '0')}2a`));
    const fits = await partitionCrl(42, serials(4000));
    expect(fits.crlDer.length).to.be.below(CRL_PARTITION_BYTES_MAX);
    // About 50 bytes an entry (16-byte serial, time, reason): docs/architecture.md §4.5 counts about 5,000 a partition.
    expect(fits.crlDer.length / 4000).to.be.within(45, 56);
    const error = await partitionCrl(42, serials(6000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPkiError(error) && error.code).to.equal('ERR_CRL_OVER_BUDGET');
  });

  it('an indirect partition CRL is held to the same budget; within it OpenSSL reads it as indirect with its partition URL', async () => {
    const nodeIca = { issuerId: 'node', parentIssuerId: 'az', role: 'node', az: 'az1', nodeId: 'n1', certDer: h.node.cert.der, wrappedKey: null, serialHex: '0c01', notAfter: now.getTime() + days(30), installedAt: 0, revokedAt: null, index: 1, crlPartitions: PARTITIONS } as const;
    const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ revocation: revocation(`5c${(i + 1).toString(16).padStart(28, '0')}2a`), issuer: nodeIca }));
    const url = indirectCrlUrl(BASE_URL, 'az', 42);
    const build = (n: number) =>
      buildIndirectCrlEvent({ azIca: { cert: h.az.cert.der, signer: h.az.signer, issuerId: 'az' }, latest: undefined, entries: entries(n), url, nowMs: now.getTime(), nextUpdateSeconds: 3600, partition: 42 });
    const small = await build(2);
    expect(small).to.include({ type: 'IndirectCrlPublished', partition: 42 });
    const text = openssl(['crl', '-in', writeFile(dir, 'indirect-p42.pem', toPem(small.crlDer, 'X509 CRL')), '-noout', '-text']).stdout;
    expect(/Full Name:\s+URI:(\S+)/.exec(text)?.[1]).to.equal(url);
    expect(text).to.include('Indirect CRL');
    const error = await build(6000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPkiError(error) && error.code).to.equal('ERR_CRL_OVER_BUDGET');
  });

  it('the log refuses what the builder would: a partition CRL over the budget, a partition count not a power of two or on a non-node CA', async () => {
    const event = await partitionCrl(7, []);
    expect(decodeEvent(encodeEvent(event))).to.deep.include({ type: 'PartitionCrlPublished', partition: 7 });
    const codeOf = (ev: PkiEvent): string | undefined => {
      try {
        encodeEvent(ev);
        return undefined;
      } catch (e) {
        return isPkiError(e) ? e.code : String(e);
      }
    };
    expect(codeOf({ ...event, crlDer: new Uint8Array(CRL_PARTITION_BYTES_MAX + 1) })).to.equal('ERR_EVENT_MALFORMED');
    const nodeCa: PkiEvent = { type: 'CaCertificateInstalled', issuerId: 'n1', parentIssuerId: 'az1', role: 'node', az: 'az1', nodeId: 'node-1', certDer: h.node.cert.der, serialHex: '0c01', notAfter: now.getTime() + days(30), crlPartitions: 256, at: now.getTime() };
    expect(codeOf(nodeCa)).to.equal(undefined);
    expect(codeOf({ ...nodeCa, crlPartitions: 100 })).to.equal('ERR_EVENT_MALFORMED');
    expect(codeOf({ ...nodeCa, crlPartitions: 2048 })).to.equal('ERR_EVENT_MALFORMED');
    const { nodeId: _nodeId, ...azCa } = nodeCa;
    expect(codeOf({ ...azCa, role: 'az', parentIssuerId: 'root' })).to.equal('ERR_EVENT_MALFORMED');
    expect(codeOf({ ...azCa, role: 'az', parentIssuerId: 'root', crlPartitions: undefined })).to.equal(undefined);
  });
});

describe('partition CRLs over a real state (LevelDB): what is due, and the complete CRL under the same budget', function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let store: PkiStateStore;
  // Partitions of 4: serials ending 01 and 05 fall in 1, 02 in 2.
  const SERIALS = ['0c01', '0c05', '0c02'];
  const NOW = T0_STATE + DAY_MS;

  before(async () => {
    h = await buildHierarchy('ecdsa-p256', 15);
    store = await openStore();
    const log = baseLog().map((e) => (e.type === 'CaCertificateInstalled' && e.role === 'node' ? { ...e, crlPartitions: 4 } : e));
    const revoked = (serialHex: string): PkiEvent => ({ type: 'Revoked', issuerId: NODE1_ICA, serialHex, reason: 'keyCompromise', revokedAt: T0_STATE + 100, requestedBy: 'test', notAfter: T0_STATE + 30 * DAY_MS });
    await applyAll(store, [...log, ...SERIALS.map((s) => issued(s)), ...SERIALS.map(revoked)]);
  });
  after(async () => {
    await store.close();
    removeTempDirs();
  });
  const issuer = () => ({ cert: h.node.cert.der, signer: h.node.signer, issuerId: NODE1_ICA });

  it('every partition is due until published; then only one missing a revocation, or past half its validity', async () => {
    const first = await duePartitions(store, NODE1_ICA, 4, NOW);
    // Those missing a revocation first, then the empty ones.
    expect(first.map((d) => [d.partition, d.revoked.map((r) => r.serialHex)])).to.deep.equal([[1, ['0c01', '0c05']], [2, ['0c02']], [0, []], [3, []]]);
    let index = store.appliedIndex();
    const publish = async (d: DuePartition, nowMs: number) => {
      const event = await buildPartitionCrlEvent({ issuer: issuer(), due: d, url: partitionCrlUrl(BASE_URL, NODE1_ICA, d.partition), nowMs, nextUpdateSeconds: 3600 });
      const [outcome] = await store.applyEvents([{ event, meta: { index: ++index, term: 1 } }]);
      expect(outcome?.ok, JSON.stringify(outcome)).to.equal(true);
    };
    for (const d of first) await publish(d, NOW);
    expect(await duePartitions(store, NODE1_ICA, 4, NOW + 60_000)).to.deep.equal([]);
    // A partition CRL that misses a revocation of its partition (signed from an older state) is due again, alone.
    const stale = { ...first.find((d) => d.partition === 2)!, latest: await store.latestPartitionCrl(NODE1_ICA, 2), revoked: [] };
    await publish(stale, NOW + 1000);
    expect((await duePartitions(store, NODE1_ICA, 4, NOW + 60_000)).map((d) => d.partition)).to.deep.equal([2]);
    // Past half its one-hour validity every partition is due.
    expect((await duePartitions(store, NODE1_ICA, 4, NOW + 1_900_000)).map((d) => d.partition)).to.deep.equal([2, 0, 1, 3]);
  });

  it('an indirect partition CRL is its own scope: kept apart from the whole indirect CRL, numbered on its own', async () => {
    const indirect = (crlNumber: number, partition?: number): PkiEvent => ({
      type: 'IndirectCrlPublished',
      issuerId: AZ1_ICA,
      crlNumber,
      crlDer: Uint8Array.of(0x30, 0x00),
      thisUpdate: NOW,
      nextUpdate: NOW + 3_600_000,
      coversIndex: 0,
      ...(partition === undefined ? {} : { partition }),
    });
    let index = store.appliedIndex();
    const apply = async (ev: PkiEvent) => (await store.applyEvents([{ event: ev, meta: { index: ++index, term: 1 } }]))[0];
    expect((await apply(indirect(5)))?.ok).to.equal(true);
    expect((await apply(indirect(1, 3)))?.ok).to.equal(true);
    expect((await apply(indirect(1, 3)))?.ok, 'the same number again in that partition').to.equal(false);
    expect((await store.latestIndirectCrl(AZ1_ICA))?.crlNumber).to.equal(5);
    expect((await store.latestIndirectCrl(AZ1_ICA, 3))?.crlNumber).to.equal(1);
    expect(await store.latestIndirectCrl(AZ1_ICA, 2)).to.equal(undefined);
  });

  it('a complete CRL given a budget it exceeds is refused (ERR_CRL_OVER_BUDGET), within it is built', async () => {
    const build = (bytesMax: number) => buildCrlEvent({ issuer: issuer(), store, nowMs: NOW, nextUpdateSeconds: 3600, bytesMax });
    expect((await build(CRL_PARTITION_BYTES_MAX)).event.crlDer.length).to.be.below(CRL_PARTITION_BYTES_MAX);
    const error = await build(300).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPkiError(error) && error.code).to.equal('ERR_CRL_OVER_BUDGET');
  });
});
