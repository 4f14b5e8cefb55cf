// serve/node-tls.ts `renewedNodeTls`: when a running (or restarted) node takes up a renewed TLS
// certificate — only once its own record names a certificate for the key in use — and what it
// then serves and writes: the certificate, the AZ ICA that signed it, the cluster root. And
// serve/node-tls-follower.ts taking up, from its local VIP, a renewal committed while the node
// was away (its own record still names the replaced certificate).
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { fromPem, type NodeKeys } from '@adrestia/pki-core';
import type { NodeTlsMaterial } from '../src/peer/https-peer-client.ts';
import { createLogger } from '../src/log/logger.ts';
import { renewedNodeTls, type RenewalReads } from '../src/serve/node-tls.ts';
import { NodeTlsFollower, TAKE_UP_EVERY_MS } from '../src/serve/node-tls-follower.ts';
import { makeIntermediateCa, makeNodeCert, makeRootCa, makeTempDir, removeDir, type TestNodeCert } from './helpers/certs.ts';

const NODE_ID = '6a1d7f4e-2b1c-4c55-9d0e-3f1a2b3c4d5e';

describe('serve/node-tls.ts: taking up a renewed node TLS certificate', function () {
  this.timeout(20_000);
  const dir = makeTempDir('adrestia-tls-renewed-');
  let rootPem: string;
  let azIcaPem: string;
  let old: TestNodeCert;
  let renewed: TestNodeCert;
  let current: NodeTlsMaterial;

  before(function () {
    const root = makeRootCa(dir);
    const azIca = makeIntermediateCa(root, 'az1-ica');
    rootPem = root.certPem;
    azIcaPem = azIca.certPem;
    old = makeNodeCert(azIca, NODE_ID);
    renewed = makeNodeCert(azIca, NODE_ID, 'DNS:renewed.test');
    current = { key: old.key, cert: old.cert, ca: rootPem };
  });

  after(() => removeDir(dir));

  /** A node whose record names `recordCert` and whose TLS key in use is `keyPem`. */
  const nodeWith = (recordCert: TestNodeCert, keyPem: string): RenewalReads => {
    const privateKey = createPrivateKey(keyPem);
    const spkiDer = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
    const keys = { tls: { privateKey, spkiDer }, ica: { privateKey, spkiDer } } as NodeKeys;
    const tlsCertDer = fromPem(recordCert.cert);
    return {
      nodeId: NODE_ID,
      az: 'az1',
      nodeKeys: () => keys,
      listNodes: () => Promise.resolve([{ nodeId: NODE_ID, az: 'az1', addresses: { api: '127.0.0.1:8443', raft: '127.0.0.1:7480' }, tlsCertDer, icaIssuerId: 'x', registeredAt: 0 }]),
      azIcaCertificates: () => Promise.resolve(new Map([['az1', [fromPem(azIcaPem)]]])),
      caBundle: () => Promise.resolve({ clusterId: 'c', rootPem, azIcaPem, chainPem: azIcaPem + rootPem, rootsPem: rootPem, crossCertificatesPem: '' }),
    };
  };

  it('nothing while the record names the certificate served', async function () {
    expect(await renewedNodeTls(nodeWith(old, old.key), dir, current)).to.equal(null);
  });

  it('nothing while the renewed certificate is registered but its key is not promoted yet', async function () {
    expect(await renewedNodeTls(nodeWith(renewed, old.key), dir, current)).to.equal(null);
  });

  it('the renewed key, certificate and its AZ ICA once both are in, written to the data directory', async function () {
    const material = await renewedNodeTls(nodeWith(renewed, renewed.key), dir, current);
    expect(material).to.not.equal(null);
    const served = new X509Certificate(material!.cert);
    expect(served.fingerprint256).to.equal(new X509Certificate(renewed.cert).fingerprint256);
    expect(material!.cert).to.include(azIcaPem.trim());
    expect(material!.ca).to.equal(rootPem);
    expect(served.checkPrivateKey(createPrivateKey(material!.key))).to.equal(true);
    expect(readFileSync(join(dir, 'node-tls.crt'), 'utf8')).to.equal(material!.cert);
  });

  describe('NodeTlsFollower: a renewal committed while the node was away', function () {
    /**
     * A node whose own record still names `old` and whose pending key is `renewed`'s: pki-core's
     * takeUpRenewedTls takes up `renewed` only (it checks key and issuer; here: the fingerprint).
     */
    const away = () => {
      let keyPem = old.key;
      let pending = true;
      const base = nodeWith(old, old.key);
      const node = {
        ...base,
        nodeKeys: () => nodeWith(old, keyPem).nodeKeys(),
        tlsRenewalPending: () => Promise.resolve(pending),
        takeUpRenewedTls: (der: Uint8Array) => {
          if (!pending || new X509Certificate(der).fingerprint256 !== new X509Certificate(renewed.cert).fingerprint256) return Promise.resolve(false);
          keyPem = renewed.key;
          pending = false;
          return Promise.resolve(true);
        },
      };
      return node;
    };
    const logger = createLogger({ level: 'silent' });

    it('asks the local VIP while a renewal key is pending, at most every TAKE_UP_EVERY_MS, and serves the certificate taken up', async function () {
      const tlsRef = { current: current as NodeTlsMaterial | null };
      const served: NodeTlsMaterial[] = [];
      let nowMs = 0;
      let answer: Uint8Array | null = fromPem(old.cert);
      let asked = 0;
      const follower = new NodeTlsFollower(away(), dir, tlsRef, [{ setTls: (t) => served.push(t) }], logger, () => (asked++, Promise.resolve(answer)), () => nowMs);
      expect(await follower.maybeFollow(), 'the VIP still names the replaced certificate').to.equal(false);
      answer = fromPem(renewed.cert);
      nowMs += TAKE_UP_EVERY_MS - 1;
      expect(await follower.maybeFollow(), 'not asked again yet').to.equal(false);
      expect(asked).to.equal(1);
      nowMs += 1;
      expect(await follower.maybeFollow()).to.equal(true);
      expect(asked).to.equal(2);
      expect(served).to.have.length(1);
      expect(new X509Certificate(served[0]!.cert).fingerprint256).to.equal(new X509Certificate(renewed.cert).fingerprint256);
      expect(served[0]!.cert).to.include(azIcaPem.trim());
      expect(new X509Certificate(served[0]!.cert).checkPrivateKey(createPrivateKey(served[0]!.key))).to.equal(true);
      expect(tlsRef.current).to.equal(served[0]);
      expect(readFileSync(join(dir, 'node-tls.crt'), 'utf8')).to.equal(served[0]!.cert);
      nowMs += TAKE_UP_EVERY_MS;
      expect(await follower.maybeFollow(), 'nothing pending: not asked, nothing new').to.equal(false);
      expect(asked).to.equal(2);
    });

    it('takes nothing up from a VIP that does not answer or answers another certificate', async function () {
      const tlsRef = { current: current as NodeTlsMaterial | null };
      const served: NodeTlsMaterial[] = [];
      let nowMs = 0;
      const answers: (Uint8Array | null)[] = [null, fromPem(makeNodeCert(makeIntermediateCa(makeRootCa(dir), 'other-ica'), NODE_ID).cert)];
      const follower = new NodeTlsFollower(away(), dir, tlsRef, [{ setTls: (t) => served.push(t) }], logger, () => Promise.resolve(answers.shift() ?? null), () => nowMs);
      for (let i = 0; i < 2; i++, nowMs += TAKE_UP_EVERY_MS) expect(await follower.maybeFollow()).to.equal(false);
      expect(served).to.deep.equal([]);
      expect(tlsRef.current).to.equal(current);
    });
  });
});
