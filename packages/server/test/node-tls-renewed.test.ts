// serve/node-tls.ts `renewedNodeTls`: when a running (or restarted) node takes up a renewed TLS
// certificate — only once its own record names a certificate for the key in use — and what it
// then serves and writes: the certificate, the AZ ICA that signed it, the cluster root.
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { fromPem, type NodeKeys } from '@adrestia/pki-core';
import type { NodeTlsMaterial } from '../src/peer/https-peer-client.ts';
import { renewedNodeTls, type RenewalReads } from '../src/serve/node-tls.ts';
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
});
