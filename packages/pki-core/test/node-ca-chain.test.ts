// The node CA services end to end, in process: found the cluster, add an AZ, register a node,
// issue leaves from OpenSSL CSRs, revoke, publish CRLs. Every event is applied to a real LevelDB
// PkiStateStore, and every certificate, chain and CRL is checked by OpenSSL.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { SeededRandom } from '@adrestia/consensus';
import { toPem } from '../src/ca/pem.ts';
import { BUILTIN_PROFILES } from '../src/ca/profiles.ts';
import { KeyObjectSigner } from '../src/ca/signer.ts';
import { viewCertificate } from '../src/ca/view.ts';
import { caSignerFromRecord, issuerIdOf, type CaHandle } from '../src/node/ca/ca-common.ts';
import { createAzIntermediate, foundCluster } from '../src/node/founding/ca-found.ts';
import { issueLeafFromCsr } from '../src/node/issuance/ca-leaf.ts';
import { generateNodeKeys, loadNodeKeys, makeNodeCsrs, NODE_ICA_KEY_FILE, NODE_TLS_KEY_FILE } from '../src/node/ca/ca-node-keys.ts';
import { signNodeRegistration } from '../src/node/registration/ca-node-registration.ts';
import { loadProfiles } from '../src/node/issuance/ca-profiles.ts';
import { buildCrlEvent, buildRevocation } from '../src/node/ca/ca-revocation.ts';
import { attime, DAY_MS, expectVerifies, HOUR_MS, MINUTE_MS, openssl, opensslCsr, openTestState, T0, writeFile, type TestState } from './node-ca-fixtures.ts';
import { expectPkiRejects } from './expect-code.ts';

const CLUSTER_ID = '3c0d8a4e-59f2-4c1b-9f7e-2a6b8c1d0e3f';
const NODE_ID = '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
const AZ1 = { name: 'az1', subnets: ['127.1.0.0/16'], localVip: '127.1.0.1' };
const ADDRESSES = { api: '127.1.0.10:8443', raft: '127.1.0.10:7000' };

describe('node CA services: root → AZ ICA → node ICA → leaf, applied to a real state and checked by OpenSSL', function () {
  const kek = new Uint8Array(randomBytes(32));
  const serials = new SeededRandom(20260301);
  let state: TestState;
  let root: CaHandle;
  let azIca: CaHandle;
  let nodeIca: CaHandle;
  let files: { root: string; az: string; nodeIca: string };
  const at = attime(T0 + HOUR_MS);

  before(async function () {
    state = await openTestState('node-ca');
    const founded = await foundCluster({
      clusterId: CLUSTER_ID,
      rootSubject: 'CN=Adrestia Test Root,O=Adrestia',
      azSpec: AZ1,
      kek,
      nowMs: T0,
      serials,
    });
    await state.applyOk(...founded.events);
    root = founded.root;
    azIca = founded.azIca;
  });

  after(async function () {
    await state?.close();
  });

  describe('foundCluster (RFC 5280 §4.2.1.9 basic constraints, docs/architecture.md §4.2 hierarchy)', function () {
    it('records the root and the first AZ ICA under their key identifiers', async function () {
      const cluster = await state.store.cluster();
      expect(cluster).to.deep.include({ clusterId: CLUSTER_ID, rootIssuerId: root.issuerId, createdAt: T0 });
      const rootView = viewCertificate(root.cert);
      expect(root.issuerId).to.equal(rootView.subjectKeyIdHex).and.to.equal(issuerIdOf(rootView.spkiDer));
      expect(rootView.isSelfIssued).to.equal(true);
      expect(rootView.basicConstraints).to.deep.equal({ ca: true });
      const azView = viewCertificate(azIca.cert);
      expect(azView.basicConstraints).to.deep.equal({ ca: true, pathLen: 1 });
      expect(azView.authorityKeyIdHex).to.equal(root.issuerId);
      expect(azView.keyUsage).to.have.members(['digitalSignature', 'keyCertSign', 'cRLSign']);
      const azRecord = await state.store.getCa(azIca.issuerId);
      expect(azRecord).to.deep.include({ role: 'az', az: 'az1', parentIssuerId: root.issuerId, nodeId: null });
      expect((await state.store.getAz('az1'))?.subnets).to.deep.equal(AZ1.subnets);
    });

    it('is accepted by openssl verify -x509_strict', function () {
      files = {
        root: writeFile(state.dir, 'root.pem', toPem(root.cert)),
        az: writeFile(state.dir, 'az.pem', toPem(azIca.cert)),
        nodeIca: '',
      };
      expectVerifies(['-x509_strict', '-attime', at, '-CAfile', files.root, files.root]);
      expectVerifies(['-x509_strict', '-attime', at, '-CAfile', files.root, files.az]);
    });

    it('wraps the root and AZ keys under the KEK, bound to their CA: they unwrap to the same key, and not with another KEK', async function () {
      for (const ca of [root, azIca]) {
        const record = (await state.store.getCa(ca.issuerId))!;
        const unwrapped = caSignerFromRecord(record, kek);
        expect(Buffer.from(unwrapped.signer.spkiDer)).to.deep.equal(Buffer.from(ca.signer.spkiDer));
        expect(() => caSignerFromRecord(record, new Uint8Array(32))).to.throw().with.property('code', 'ERR_KEY_UNWRAP');
        // The binding names the CA: another CA's record with this blob does not unwrap.
        const other = ca === root ? azIca : root;
        const swapped = { ...(await state.store.getCa(other.issuerId))!, wrappedKey: record.wrappedKey };
        expect(() => caSignerFromRecord(swapped, kek)).to.throw().with.property('code', 'ERR_KEY_UNWRAP');
      }
    });
  });

  describe('createAzIntermediate', function () {
    it('signs a second AZ ICA with the root key unwrapped from the state; the state accepts it after AzAdded', async function () {
      const rootFromState = caSignerFromRecord((await state.store.getCa(root.issuerId))!, kek);
      const az2 = await createAzIntermediate({ root: rootFromState, az: 'az2', clusterId: CLUSTER_ID, kek, nowMs: T0 + MINUTE_MS, serials });
      const outcomes = await state.apply(az2.event);
      expect(outcomes[0]).to.deep.include({ ok: false });
      await state.applyOk({ type: 'AzAdded', az: { name: 'az2', subnets: ['127.2.0.0/16'], localVip: '127.2.0.1' }, at: T0 + MINUTE_MS }, az2.event);
      expect(viewCertificate(az2.azIca.cert).subject).to.equal(`CN=Adrestia AZ az2 ICA,OU=${CLUSTER_ID}`);
      expectVerifies(['-x509_strict', '-attime', at, '-CAfile', files.root, writeFile(state.dir, 'az2.pem', toPem(az2.azIca.cert))]);
    });
  });

  describe('node registration (docs/spec.md §5.2.1: keys made where they are used)', function () {
    it('writes the node ICA key 0400 and the TLS key 0600 and reads them back', async function () {
      const keys = await generateNodeKeys({ dataDir: state.dir });
      expect(statSync(join(state.dir, NODE_ICA_KEY_FILE)).mode & 0o777).to.equal(0o400);
      expect(statSync(join(state.dir, NODE_TLS_KEY_FILE)).mode & 0o777).to.equal(0o600);
      const again = await loadNodeKeys(state.dir);
      expect(Buffer.from(again.ica.spkiDer)).to.deep.equal(Buffer.from(keys.ica.spkiDer));
    });

    it('signs the node ICA (pathLen 0) and TLS certificate (serverAuth+clientAuth, node URI) from the node CSRs', async function () {
      const keys = await loadNodeKeys(state.dir);
      const csrs = makeNodeCsrs({ keys, nodeId: NODE_ID, az: 'az1', hosts: ['127.1.0.10', 'node-1.az1.example'] });
      // The CSRs are genuine PKCS#10: OpenSSL checks their self-signatures.
      const csrCheck = openssl(['req', '-inform', 'DER', '-in', writeFile(state.dir, 'tls.csr.der', csrs.tlsCsrDer), '-verify', '-noout']);
      expect(csrCheck.status, csrCheck.stderr).to.equal(0);
      const azFromState = caSignerFromRecord((await state.store.getCa(azIca.issuerId))!, kek);
      const signed = await signNodeRegistration({ azIca: azFromState, ...csrs, nodeId: NODE_ID, az: 'az1', addresses: ADDRESSES, nowMs: T0 + 2 * MINUTE_MS, serials });
      await state.applyOk(...signed.events);
      expect(signed.icaIssuerId).to.equal(issuerIdOf(keys.ica.spkiDer));
      expect(await state.store.getNode(NODE_ID)).to.deep.include({ az: 'az1', icaIssuerId: signed.icaIssuerId });
      const icaView = viewCertificate(signed.icaCertDer);
      expect(icaView.basicConstraints).to.deep.equal({ ca: true, pathLen: 0 });
      const tlsView = viewCertificate(signed.tlsCertDer);
      expect(tlsView.extKeyUsage).to.have.members(['serverAuth', 'clientAuth']);
      expect(tlsView.sans).to.deep.include.members([
        { type: 'uri', value: `urn:adrestia:node:${NODE_ID}` },
        { type: 'ip', value: '127.1.0.10' },
        { type: 'dns', value: 'node-1.az1.example' },
      ]);
      nodeIca = { cert: signed.icaCertDer, signer: new KeyObjectSigner(keys.ica.privateKey), issuerId: signed.icaIssuerId };
      // The node CA's key never entered the state: there is nothing to unwrap.
      const icaRecord = (await state.store.getCa(signed.icaIssuerId))!;
      expect(icaRecord).to.deep.include({ role: 'node', nodeId: NODE_ID, wrappedKey: null });
      expect(() => caSignerFromRecord(icaRecord, kek)).to.throw().with.property('code', 'ERR_NOT_FOUND');
      files.nodeIca = writeFile(state.dir, 'node-ica.pem', toPem(signed.icaCertDer));
      const tls = writeFile(state.dir, 'node-tls.pem', toPem(signed.tlsCertDer));
      for (const purpose of ['sslserver', 'sslclient']) {
        expectVerifies(['-x509_strict', '-attime', at, '-purpose', purpose, '-CAfile', files.root, '-untrusted', files.az, tls]);
      }
      expectVerifies(['-x509_strict', '-attime', at, '-CAfile', files.root, '-untrusted', files.az, files.nodeIca]);
    });

    it('refuses a CSR whose signature does not verify, and one key used for both CSRs', async function () {
      const keys = await loadNodeKeys(state.dir);
      const csrs = makeNodeCsrs({ keys, nodeId: NODE_ID, az: 'az1', hosts: [] });
      const tampered = csrs.icaCsrDer.slice();
      tampered[tampered.length - 5]! ^= 0x01;
      const base = { azIca, nodeId: NODE_ID, az: 'az1', addresses: ADDRESSES, nowMs: T0, serials };
      await expectPkiRejects(signNodeRegistration({ ...base, icaCsrDer: tampered, tlsCsrDer: csrs.tlsCsrDer }), 'ERR_CSR_SIGNATURE');
      await expectPkiRejects(signNodeRegistration({ ...base, icaCsrDer: csrs.icaCsrDer, tlsCsrDer: csrs.icaCsrDer }), 'ERR_INPUT_INVALID');
    });

    it("refuses a TLS CSR that asks for another node's identity URI", async function () {
      const keys = await loadNodeKeys(state.dir);
      const other = makeNodeCsrs({ keys, nodeId: '00000000-0000-4000-8000-000000000000', az: 'az1', hosts: [] });
      const mine = makeNodeCsrs({ keys, nodeId: NODE_ID, az: 'az1', hosts: [] });
      await expectPkiRejects(
        signNodeRegistration({ azIca, icaCsrDer: mine.icaCsrDer, tlsCsrDer: other.tlsCsrDer, nodeId: NODE_ID, az: 'az1', addresses: ADDRESSES, nowMs: T0, serials }),
        'ERR_SAN_FORBIDDEN',
      );
    });
  });

  describe('leaf issuance from a CSR (openssl req, P-256)', function () {
    let leaf: { certDer: Uint8Array; serialHex: string };
    let csrPem: string;

    it('issues a serverClientLeaf that openssl verifies for sslserver and sslclient through the chain', async function () {
      csrPem = opensslCsr(state.dir, 'svc', '/CN=svc.example.com', 'DNS:svc.example.com,IP:127.1.0.9').csrPem;
      const issued = await issueLeafFromCsr({
        nodeIca,
        csrPem,
        profileName: 'serverClientLeaf',
        lifetimeSeconds: 30 * 24 * 3600,
        requester: 'tenant-a',
        nowMs: T0 + 3 * MINUTE_MS,
        serials,
        store: state.store, reserved: new Set<string>(),
      });
      expect(issued.existing).to.equal(false);
      expect(issued.event).to.deep.include({ issuerId: nodeIca.issuerId, profile: 'serverClientLeaf', subject: 'CN=svc.example.com', requester: 'tenant-a' });
      expect(issued.event.sans).to.deep.equal(['dns:svc.example.com', 'ip:127.1.0.9']);
      const [outcome] = await state.applyOk(issued.event);
      expect(outcome).to.have.nested.property('result.duplicate', false);
      leaf = { certDer: issued.certDer, serialHex: issued.event.serialHex };
      // The chain is leaf, node ICA, AZ ICA; the root stays with the relying party.
      const blocks = issued.chainPem.match(/BEGIN CERTIFICATE/g) ?? [];
      expect(blocks).to.have.length(3);
      const leafFile = writeFile(state.dir, 'svc.pem', toPem(issued.certDer));
      const chainFile = writeFile(state.dir, 'svc-chain.pem', issued.chainPem);
      for (const purpose of ['sslserver', 'sslclient']) {
        expectVerifies(['-x509_strict', '-attime', at, '-purpose', purpose, '-CAfile', files.root, '-untrusted', chainFile, leafFile]);
      }
    });

    it('answers a retried request (same requester, key, SANs, profile) with the same certificate and signs nothing', async function () {
      const retry = await issueLeafFromCsr({
        nodeIca,
        csrPem,
        profileName: 'serverClientLeaf',
        lifetimeSeconds: 30 * 24 * 3600,
        requester: 'tenant-a',
        nowMs: T0 + 4 * MINUTE_MS,
        serials,
        store: state.store, reserved: new Set<string>(),
      });
      expect(retry.existing).to.equal(true);
      expect(Buffer.from(retry.certDer)).to.deep.equal(Buffer.from(leaf.certDer));
      // Proposing it anyway is harmless: the state machine answers with the first certificate.
      const [outcome] = await state.applyOk(retry.event);
      expect(outcome).to.have.nested.property('result.duplicate', true);
    });

    it('signs a new certificate for another requester, with the profiles loaded from the state', async function () {
      const issued = await issueLeafFromCsr({
        nodeIca,
        csrPem,
        profileName: 'serverLeaf',
        profiles: await loadProfiles(state.store),
        requester: 'tenant-b',
        lifetimeSeconds: 7 * 24 * 3600,
        nowMs: T0 + 4 * MINUTE_MS,
        serials,
        store: state.store, reserved: new Set<string>(),
      });
      expect(issued.existing).to.equal(false);
      expect(issued.event.serialHex).to.not.equal(leaf.serialHex);
      await state.applyOk(issued.event);
    });

    it('RFC 5280 §4.2.1.13 / §4.2.2.1: with a public base URL the leaf names its issuer CRL and certificate there (openssl reads both); without, neither', async function () {
      const request = { nodeIca, csrPem, profileName: 'serverLeaf', lifetimeSeconds: 7 * 24 * 3600, nowMs: T0 + 5 * MINUTE_MS, serials, store: state.store, reserved: new Set<string>() };
      const withUrls = await issueLeafFromCsr({ ...request, requester: 'tenant-urls', publicBaseUrl: 'http://127.1.0.1:8080/' });
      const plain = await issueLeafFromCsr({ ...request, requester: 'tenant-plain' });
      const text = (der: Uint8Array): string => openssl(['x509', '-inform', 'DER', '-in', writeFile(state.dir, `x-${der.length}-${der[der.length - 1]}.der`, der), '-noout', '-text']).stdout;
      const t = text(withUrls.certDer);
      expect(t).to.contain('X509v3 CRL Distribution Points');
      expect(t).to.contain(`URI:http://127.1.0.1:8080/crl/${nodeIca.issuerId}.crl`);
      expect(t).to.contain(`CA Issuers - URI:http://127.1.0.1:8080/ca/${nodeIca.issuerId}.crt`);
      const p = text(plain.certDer);
      expect(p).to.not.contain('CRL Distribution Points');
      expect(p).to.not.contain('Authority Information Access');
      const chain = writeFile(state.dir, 'urls-chain.pem', withUrls.chainPem);
      expectVerifies(['-x509_strict', '-attime', attime(T0 + 6 * MINUTE_MS), '-CAfile', files.root, '-untrusted', chain, writeFile(state.dir, 'urls-leaf.pem', toPem(withUrls.certDer))]);
    });

    it('refuses an unknown profile, a CA profile, a forbidden SAN and a lifetime beyond the profile (typed errors)', async function () {
      const base = { nodeIca, csrPem, requester: 'tenant-a', nowMs: T0 + 5 * MINUTE_MS, serials, store: state.store, reserved: new Set<string>() };
      await expectPkiRejects(issueLeafFromCsr({ ...base, profileName: 'noSuchProfile' }), 'ERR_PROFILE_UNKNOWN');
      await expectPkiRejects(issueLeafFromCsr({ ...base, profileName: 'nodeIntermediate' }), 'ERR_PROFILE_INVALID');
      await expectPkiRejects(issueLeafFromCsr({ ...base, profileName: 'serverLeaf', requestedSans: [{ type: 'email', value: 'a@b.example' }, { type: 'uri', value: 'ftp://x.example/' }] }), 'ERR_SAN_FORBIDDEN');
      await expectPkiRejects(issueLeafFromCsr({ ...base, profileName: 'serverLeaf', lifetimeSeconds: BUILTIN_PROFILES.serverLeaf.lifetime.maxSeconds + 1 }), 'ERR_LIFETIME_INVALID');
    });

    it('revokes the leaf once (ERR_ALREADY_REVOKED after, ERR_NOT_FOUND for an unknown serial) and lists it in a CRL OpenSSL honours', async function () {
      const revoked = await buildRevocation({ issuerId: nodeIca.issuerId, serialHex: leaf.serialHex.toUpperCase(), reason: 'keyCompromise', nowMs: T0 + 10 * MINUTE_MS, requestedBy: 'operator', store: state.store });
      expect(revoked).to.deep.include({ serialHex: leaf.serialHex, notAfter: viewCertificate(leaf.certDer).notAfter.getTime() });
      await state.applyOk(revoked);
      await expectPkiRejects(buildRevocation({ ...revoked, nowMs: T0 + 11 * MINUTE_MS, store: state.store }), 'ERR_ALREADY_REVOKED');
      await expectPkiRejects(buildRevocation({ ...revoked, serialHex: '0badc0de', nowMs: T0 + 11 * MINUTE_MS, store: state.store }), 'ERR_NOT_FOUND');

      const first = await buildCrlEvent({ issuer: nodeIca, store: state.store, nowMs: T0 + 12 * MINUTE_MS, nextUpdateSeconds: 3600 });
      expect(first.event.crlNumber).to.equal(1);
      await state.applyOk(first.event);
      const crlFile = writeFile(state.dir, 'node-ica.crl.pem', first.crlPem);
      const crlCheck = openssl(['crl', '-in', crlFile, '-CAfile', files.nodeIca, '-noout', '-text']);
      expect(crlCheck.stdout).to.include(`Serial Number: ${leaf.serialHex.toUpperCase()}`).and.to.include('Key Compromise');
      const sig = openssl(['crl', '-in', crlFile, '-CAfile', files.nodeIca, '-noout', '-verify']);
      expect(sig.stdout + sig.stderr).to.include('verify OK');
      const chain = writeFile(state.dir, 'untrusted.pem', toPem(nodeIca.cert) + toPem(azIca.cert));
      const leafFile = writeFile(state.dir, 'svc.pem', toPem(leaf.certDer));
      const r = openssl(['verify', '-x509_strict', '-attime', attime(T0 + 20 * MINUTE_MS), '-crl_check', '-CRLfile', crlFile, '-CAfile', files.root, '-untrusted', chain, leafFile]);
      expect(r.status).to.not.equal(0);
      expect(r.stdout + r.stderr).to.include('certificate revoked');

      const second = await buildCrlEvent({ issuer: nodeIca, store: state.store, nowMs: T0 + 13 * MINUTE_MS, nextUpdateSeconds: 3600 });
      expect(second.event.crlNumber).to.equal(2);
      await state.applyOk(second.event);
    });

    it('issues afresh after the earlier certificate for the same request was revoked', async function () {
      const again = await issueLeafFromCsr({
        nodeIca,
        csrPem,
        profileName: 'serverClientLeaf',
        lifetimeSeconds: 30 * 24 * 3600,
        requester: 'tenant-a',
        nowMs: T0 + 14 * MINUTE_MS,
        serials,
        store: state.store, reserved: new Set<string>(),
      });
      expect(again.existing).to.equal(false);
      expect(again.event.serialHex).to.not.equal(leaf.serialHex);
    });

    it('publishes an empty, valid CRL for the root (no revocations: the list is absent, RFC 5280 §5.1.2.6)', async function () {
      const crl = await buildCrlEvent({ issuer: root, store: state.store, nowMs: T0 + DAY_MS, nextUpdateSeconds: 7 * 24 * 3600 });
      await state.applyOk(crl.event);
      const crlFile = writeFile(state.dir, 'root.crl.pem', crl.crlPem);
      const sig = openssl(['crl', '-in', crlFile, '-CAfile', files.root, '-noout', '-verify']);
      expect(sig.stdout + sig.stderr).to.include('verify OK');
      expectVerifies(['-x509_strict', '-attime', attime(T0 + DAY_MS + HOUR_MS), '-crl_check', '-CRLfile', crlFile, '-CAfile', files.root, files.az]);
    });
  });
});
