// Node CA services beyond the happy chain: an external root made by OpenSSL, lifetimes cut to the
// issuer (RFC 5280 §6.1.3), withdrawing a node's identity (node ICA and TLS certificate revoked,
// CRL honoured by OpenSSL), and a revoked node CA that signs nothing more.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { SeededRandom } from '@adrestia/consensus';
import { fromPem, toPem } from '../src/ca/pem.ts';
import { BUILTIN_PROFILES } from '../src/ca/profiles.ts';
import { KeyObjectSigner, loadPemFileSigner } from '../src/ca/signer.ts';
import { viewCertificate } from '../src/ca/view.ts';
import { caSignerFromRecord, type CaHandle } from '../src/node/ca/ca-common.ts';
import { clusterCreatedEvent, foundCluster } from '../src/node/founding/ca-found.ts';
import { issueLeafFromCsr } from '../src/node/issuance/ca-leaf.ts';
import { generateNodeKeys, makeNodeCsrs } from '../src/node/ca/ca-node-keys.ts';
import { signNodeRegistration } from '../src/node/registration/ca-node-registration.ts';
import { completeOfflineAzIntermediate, prepareOfflineAzIntermediate } from '../src/node/founding/ca-offline-root.ts';
import { buildCrlEvent, nodeRevocations } from '../src/node/ca/ca-revocation.ts';
import { attime, DAY_MS, expectVerifies, HOUR_MS, openssl, opensslCsr, openTestState, T0, writeFile, type TestState } from './node-ca-fixtures.ts';
import { expectPkiRejects } from './expect-code.ts';

const AZ1 = { name: 'az1', subnets: ['127.1.0.0/16'], localVip: '127.1.0.1' };
const ADDRESSES = { api: '127.1.0.30:8443', raft: '127.1.0.30:7000' };

/** A root made by `openssl req -x509` (its key stays in a 0600 PEM file, outside the state). */
function opensslRoot(dir: string, pathLen: number | null): { certDer: Uint8Array; keyFile: string } {
  const keyFile = join(dir, `ext-root-${pathLen}.key`);
  const certFile = join(dir, `ext-root-${pathLen}.pem`);
  const bc = pathLen === null ? 'critical,CA:TRUE' : `critical,CA:TRUE,pathlen:${pathLen}`;
  const r = openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-subj', '/O=Example/CN=External Root', '-days', '3650',
    '-addext', `basicConstraints=${bc}`, '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash',
  ]);
  if (r.status !== 0) throw new Error(r.stderr);
  chmodSync(keyFile, 0o600);
  return { certDer: fromPem(readFileSync(certFile, 'utf8'), 'CERTIFICATE'), keyFile };
}

describe('node CA services: external root, lifetimes cut to the issuer, withdrawing a node', function () {
  const kek = new Uint8Array(randomBytes(32));
  const serials = new SeededRandom(99);
  let state: TestState;

  beforeEach(async function () {
    state = await openTestState('node-ca-life');
  });

  afterEach(async function () {
    await state.close();
  });

  it('founds a cluster on an external (OpenSSL) root: no root key in the state, AZ ICA signed through the Signer', async function () {
    // OpenSSL's validity starts now (wall clock); found the cluster inside it.
    const { certDer, keyFile } = opensslRoot(state.dir, null);
    const nowMs = viewCertificate(certDer).notBefore.getTime() + HOUR_MS;
    const founded = await foundCluster({ clusterId: randomUUID(), externalRoot: { cert: certDer, signer: await loadPemFileSigner(keyFile) }, azSpec: AZ1, kek, nowMs, serials });
    expect(founded.events[0]).to.not.have.property('wrappedRootKey');
    await state.applyOk(...founded.events);
    const rootRecord = (await state.store.getCa(founded.root.issuerId))!;
    expect(rootRecord.wrappedKey).to.equal(null);
    expect(() => caSignerFromRecord(rootRecord, kek)).to.throw().with.property('code', 'ERR_NOT_FOUND');
    const rootFile = writeFile(state.dir, 'ext-root.pem', toPem(certDer));
    expectVerifies(['-x509_strict', '-attime', attime(nowMs + HOUR_MS), '-CAfile', rootFile, writeFile(state.dir, 'ext-az.pem', toPem(founded.azIca.cert))]);
  });

  it('makes an AZ ICA under a fully offline root: TBS signed by `openssl dgst`, completed, accepted by the state and by OpenSSL', async function () {
    const { certDer, keyFile } = opensslRoot(state.dir, null);
    const nowMs = viewCertificate(certDer).notBefore.getTime() + HOUR_MS;
    const clusterId = randomUUID();
    const pending = await prepareOfflineAzIntermediate({ rootCert: certDer, az: 'az1', clusterId, kek, nowMs, serials });
    const tbsFile = writeFile(state.dir, 'az-tbs.der', pending.tbsDer);
    const sigFile = join(state.dir, 'az-tbs.sig');
    const signed = openssl(['dgst', '-sha384', '-sign', keyFile, '-out', sigFile, tbsFile]);
    expect(signed.status, signed.stderr).to.equal(0);
    const signature = new Uint8Array(readFileSync(sigFile));
    const bad = signature.slice();
    bad[bad.length - 1]! ^= 0x01;
    expect(() => completeOfflineAzIntermediate({ pending, signature: bad, rootCert: certDer, kek, nowMs })).to.throw().with.property('code', 'ERR_SIGNER_MISMATCH');
    const az = completeOfflineAzIntermediate({ pending, signature, rootCert: certDer, kek, nowMs });
    const root = { cert: certDer, issuerId: pending.rootIssuerId };
    await state.applyOk(clusterCreatedEvent({ clusterId, root, nowMs }), { type: 'AzAdded', az: AZ1, at: nowMs }, az.event);
    expect((await state.store.getCa(pending.rootIssuerId))?.wrappedKey).to.equal(null);
    const rootFile = writeFile(state.dir, 'offline-root.pem', toPem(certDer));
    const azFile = writeFile(state.dir, 'offline-az.pem', toPem(az.azIca.cert));
    expectVerifies(['-x509_strict', '-attime', attime(nowMs + HOUR_MS), '-CAfile', rootFile, azFile]);
    // The completed AZ ICA signs node registrations like any other (its key came back from the KEK seal).
    const keys = await generateNodeKeys({ dataDir: mkdtempSync(join(state.dir, 'n-')) });
    const nodeId = randomUUID();
    const reg = await signNodeRegistration({ azIca: az.azIca, ...makeNodeCsrs({ keys, nodeId, az: 'az1', hosts: [] }), nodeId, az: 'az1', addresses: ADDRESSES, nowMs, serials });
    await state.applyOk(...reg.events);
    expectVerifies(['-x509_strict', '-attime', attime(nowMs + HOUR_MS), '-purpose', 'sslserver', '-CAfile', rootFile, '-untrusted', azFile, writeFile(state.dir, 'offline-tls.pem', toPem(reg.tlsCertDer))]);
  });

  it('refuses an external root whose path length leaves no room for AZ and node ICAs, or whose signer holds another key', async function () {
    const tight = opensslRoot(state.dir, 1);
    const nowMs = viewCertificate(tight.certDer).notBefore.getTime() + HOUR_MS;
    const base = { clusterId: randomUUID(), azSpec: AZ1, kek, nowMs, serials };
    await expectPkiRejects(foundCluster({ ...base, externalRoot: { cert: tight.certDer, signer: await loadPemFileSigner(tight.keyFile) } }), 'ERR_INPUT_INVALID');
    const open = opensslRoot(state.dir, null);
    await expectPkiRejects(foundCluster({ ...base, externalRoot: { cert: open.certDer, signer: await loadPemFileSigner(tight.keyFile) } }), 'ERR_SIGNER_MISMATCH');
  });

  it('cuts a node ICA to its AZ ICA, cuts (or by policy refuses) a leaf that would outlive the node ICA, and bounds CA lifetimes by profile', async function () {
    await expectPkiRejects(
      foundCluster({ clusterId: randomUUID(), azSpec: AZ1, kek, nowMs: T0, serials, lifetimes: { rootSeconds: BUILTIN_PROFILES.root.lifetime.minSeconds - 1 } }),
      'ERR_LIFETIME_INVALID',
    );
    const azSeconds = 40 * 24 * 3600;
    const founded = await foundCluster({ clusterId: randomUUID(), azSpec: AZ1, kek, nowMs: T0, serials, lifetimes: { azSeconds } });
    await state.applyOk(...founded.events);
    const keys = await generateNodeKeys({ dataDir: mkdtempSync(join(state.dir, 'n-')) });
    const nodeId = randomUUID();
    const signed = await signNodeRegistration({ azIca: founded.azIca, ...makeNodeCsrs({ keys, nodeId, az: 'az1', hosts: [] }), nodeId, az: 'az1', addresses: ADDRESSES, nowMs: T0, serials });
    await state.applyOk(...signed.events);
    const azEnd = viewCertificate(founded.azIca.cert).notAfter.getTime();
    expect(viewCertificate(signed.icaCertDer).notAfter.getTime()).to.equal(azEnd);
    expect(viewCertificate(signed.tlsCertDer).notAfter.getTime()).to.equal(azEnd);
    const nodeIca: CaHandle = { cert: signed.icaCertDer, signer: new KeyObjectSigner(keys.ica.privateKey), issuerId: signed.icaIssuerId };
    const { csrPem } = opensslCsr(state.dir, 'long', '/CN=long.example.com', 'DNS:long.example.com');
    // Default policy (truncate): the leaf ends with its node ICA; `error` refuses it.
    const cut = await issueLeafFromCsr({ nodeIca, csrPem, profileName: 'serverLeaf', lifetimeSeconds: 60 * 24 * 3600, requester: 'r', nowMs: T0, serials, store: state.store, reserved: new Set<string>() });
    expect(cut.event.notAfter).to.equal(azEnd);
    expect(viewCertificate(cut.certDer).notAfter.getTime()).to.equal(azEnd);
    const strict = { serverLeaf: { ...BUILTIN_PROFILES.serverLeaf, notAfterBehavior: 'error' as const } };
    await expectPkiRejects(
      issueLeafFromCsr({ nodeIca, csrPem, profileName: 'serverLeaf', profiles: strict, lifetimeSeconds: 60 * 24 * 3600, requester: 'r2', nowMs: T0, serials, store: state.store, reserved: new Set<string>() }),
      'ERR_LIFETIME_EXCEEDS_ISSUER',
    );
  });

  it('withdraws a node: its node ICA and TLS certificate are revoked, listed in the AZ CRL, and its CA signs nothing more', async function () {
    const founded = await foundCluster({ clusterId: randomUUID(), rootSubject: 'CN=Lifecycle Root', azSpec: AZ1, kek, nowMs: T0, serials });
    await state.applyOk(...founded.events);
    const keys = await generateNodeKeys({ dataDir: mkdtempSync(join(state.dir, 'n-')) });
    const nodeId = randomUUID();
    const signed = await signNodeRegistration({ azIca: founded.azIca, ...makeNodeCsrs({ keys, nodeId, az: 'az1', hosts: ['127.1.0.30'] }), nodeId, az: 'az1', addresses: ADDRESSES, nowMs: T0, serials });
    await state.applyOk(...signed.events);

    const revocations = await nodeRevocations({ nodeId, reason: 'cessationOfOperation', nowMs: T0 + HOUR_MS, requestedBy: 'operator', store: state.store });
    expect(revocations.map((r) => r.serialHex)).to.have.members([viewCertificate(signed.icaCertDer).serialHex, viewCertificate(signed.tlsCertDer).serialHex]);
    expect(revocations.every((r) => r.issuerId === founded.azIca.issuerId)).to.equal(true);
    await state.applyOk(...revocations);
    expect(await nodeRevocations({ nodeId, reason: 'cessationOfOperation', nowMs: T0 + HOUR_MS, requestedBy: 'operator', store: state.store })).to.deep.equal([]);
    expect((await state.store.getCa(signed.icaIssuerId))?.revokedAt).to.be.a('number');

    const crl = await buildCrlEvent({ issuer: founded.azIca, store: state.store, nowMs: T0 + 2 * HOUR_MS, nextUpdateSeconds: DAY_MS / 1000 });
    await state.applyOk(crl.event);
    const rootFile = writeFile(state.dir, 'root.pem', toPem(founded.root.cert));
    const azFile = writeFile(state.dir, 'az.pem', toPem(founded.azIca.cert));
    const crlFile = writeFile(state.dir, 'az.crl.pem', crl.crlPem);
    const tlsFile = writeFile(state.dir, 'tls.pem', toPem(signed.tlsCertDer));
    const at = attime(T0 + 3 * HOUR_MS);
    expectVerifies(['-x509_strict', '-attime', at, '-purpose', 'sslclient', '-CAfile', rootFile, '-untrusted', azFile, tlsFile]);
    const r = openssl(['verify', '-x509_strict', '-attime', at, '-crl_check', '-CRLfile', crlFile, '-CAfile', rootFile, '-untrusted', azFile, tlsFile]);
    expect(r.status).to.not.equal(0);
    expect(r.stdout + r.stderr).to.include('certificate revoked');

    const nodeIca: CaHandle = { cert: signed.icaCertDer, signer: new KeyObjectSigner(keys.ica.privateKey), issuerId: signed.icaIssuerId };
    const { csrPem } = opensslCsr(state.dir, 'after', '/CN=after.example.com', 'DNS:after.example.com');
    await expectPkiRejects(
      issueLeafFromCsr({ nodeIca, csrPem, profileName: 'serverLeaf', lifetimeSeconds: 3600, requester: 'r', nowMs: T0 + 4 * HOUR_MS, serials, store: state.store, reserved: new Set<string>() }),
      'ERR_NODE_REVOKED',
    );
  });
});
