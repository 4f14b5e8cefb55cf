// Node TLS trust after a root rollover (serve/node-tls.ts trustPemOf, docs/architecture.md §19.3):
// a node whose TLS certificate chains to the old root and one whose certificate was renewed under
// the new root complete mutual TLS with each other over real sockets, directly or through a cross
// certificate (RFC 4158 §2.3); trusting the current root alone, as node TLS did before, refuses
// the peer still under the old root. CAs and the cross certificate are made with OpenSSL.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { expect } from 'chai';
import { fromPem, type NodeKeys } from '@adrestia/pki-core';
import type { NodeTlsMaterial } from '../src/peer/https-peer-client.ts';
import { renewedNodeTls, trustPemOf, type RenewalReads } from '../src/serve/node-tls.ts';
import { secureContextOf } from '../src/transport/peer-link.ts';
import { makeIntermediateCa, makeNodeCert, makeRootCa, makeTempDir, removeDir, type TestCa, type TestNodeCert } from './helpers/certs.ts';

const HOST = '127.251.0.1'; // address base 250 (docs: helpers use only their own base)
const OLD_NODE = '0b5f3c1e-0000-4000-8000-00000000a001';
const NEW_NODE = '0b5f3c1e-0000-4000-8000-00000000a002';

/** `subject`'s certificate re-issued by `signer` (same name and key): a cross certificate. */
function crossCertify(signer: TestCa, subject: TestCa, name: string): string {
  const dir = signer.dir;
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const out = join(dir, `${name}.pem`);
  execFileSync('openssl', ['x509', '-x509toreq', '-in', subject.certPath, '-signkey', subject.keyPath, '-out', csr], { cwd: dir, stdio: 'pipe' });
  writeFileSync(ext, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'].join('\n'));
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', signer.certPath, '-CAkey', signer.keyPath, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', ext, '-out', out], { cwd: dir, stdio: 'pipe' });
  return readFileSync(out, 'utf8');
}

/** One mutual-TLS handshake, `server` listening and `client` dialling, each with its own trust: both sides' verdicts. */
async function handshake(server: NodeTlsMaterial, client: NodeTlsMaterial): Promise<{ ok: boolean; error?: string }> {
  let serverVerdict!: (v: string | null) => void;
  const serverSide = new Promise<string | null>((resolve) => (serverVerdict = resolve));
  const srv = createServer({ ...secureContextOf(server), requestCert: true, rejectUnauthorized: true }, (s) => {
    serverVerdict(null);
    s.end();
  });
  srv.on('tlsClientError', (e) => serverVerdict(`server: ${e.message}`));
  await new Promise<void>((resolve) => srv.listen(0, HOST, resolve));
  const port = (srv.address() as { port: number }).port;
  try {
    const clientSide = new Promise<string | null>((resolve) => {
      const socket: TLSSocket = connect({ ...secureContextOf(client), host: HOST, port, rejectUnauthorized: true, checkServerIdentity: () => undefined });
      socket.once('secureConnect', () => resolve(null));
      socket.once('error', (e: Error) => resolve(`client: ${e.message}`));
      socket.on('data', () => undefined);
    });
    const [c, sv] = await Promise.all([clientSide, Promise.race([serverSide, clientSide.then((c) => (c === null ? serverSide : Promise.resolve('server: no connection')))])]);
    const errors = [c, sv].filter((e): e is string => e !== null);
    return errors.length === 0 ? { ok: true } : { ok: false, error: errors.join('; ') };
  } finally {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

describe('node TLS after a root rollover (RFC 4158 §2.3 cross certificates)', function () {
  this.timeout(30_000);
  const dir = makeTempDir('adrestia-tls-rollover-');
  let oldRoot: TestCa;
  let newRoot: TestCa;
  let crossPem: string;
  let oldNode: TestNodeCert;
  let newNode: TestNodeCert;

  before(function () {
    oldRoot = makeRootCa(dir, 'old');
    newRoot = makeRootCa(dir, 'new');
    crossPem = crossCertify(oldRoot, newRoot, 'new-by-old') + crossCertify(newRoot, oldRoot, 'old-by-new');
    oldNode = makeNodeCert(makeIntermediateCa(oldRoot, 'az1-old'), OLD_NODE);
    newNode = makeNodeCert(makeIntermediateCa(newRoot, 'az1-new'), NEW_NODE);
  });
  after(() => removeDir(dir));

  const material = (n: TestNodeCert, ca: string): NodeTlsMaterial => ({ key: n.key, cert: n.cert, ca });

  it('with every root and the cross certificates trusted, old-root and new-root nodes accept each other both ways', async function () {
    const trust = trustPemOf({ rootsPem: newRoot.certPem + oldRoot.certPem, crossCertificatesPem: crossPem });
    expect(await handshake(material(oldNode, trust), material(newNode, trust))).to.deep.equal({ ok: true });
    expect(await handshake(material(newNode, trust), material(oldNode, trust))).to.deep.equal({ ok: true });
  });

  it('with the new root and the cross certificates only, a chain to the old root verifies through "old root signed by new root"', async function () {
    const trust = trustPemOf({ rootsPem: newRoot.certPem, crossCertificatesPem: crossPem });
    expect(await handshake(material(newNode, trust), material(oldNode, trust))).to.deep.equal({ ok: true });
    expect(await handshake(material(oldNode, trust), material(newNode, trust))).to.deep.equal({ ok: true });
  });

  it('trusting the current root alone (node TLS before this fix) refuses the peer still under the old root', async function () {
    const onlyNew = newRoot.certPem;
    // Dialling the old-root node: the dialler's own verification fails.
    const dialled = await handshake(material(oldNode, onlyNew), material(newNode, onlyNew));
    expect(dialled.ok).to.equal(false);
    expect(dialled.error).to.match(/^client: unable to get local issuer certificate/);
    // Dialled by it: the listener refuses its client certificate.
    expect((await handshake(material(newNode, onlyNew), material(oldNode, onlyNew))).ok).to.equal(false);
  });

  it('renewedNodeTls takes up a rollover with the certificate unchanged: it then trusts every root and cross certificate, written to cluster-root.crt', async function () {
    const privateKey = createPrivateKey(oldNode.key);
    const spkiDer = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
    const bundle = { rootsPem: newRoot.certPem + oldRoot.certPem, crossCertificatesPem: crossPem };
    const node: RenewalReads = {
      nodeId: OLD_NODE,
      az: 'az1',
      nodeKeys: (): NodeKeys => ({ tls: { privateKey, spkiDer }, ica: { privateKey, spkiDer } }),
      listNodes: () => Promise.resolve([{ nodeId: OLD_NODE, az: 'az1', addresses: { api: `${HOST}:8443`, raft: `${HOST}:7480` }, tlsCertDer: fromPem(oldNode.cert), icaIssuerId: 'x', registeredAt: 0 }]),
      azIcaCertificates: () => Promise.resolve(new Map()),
      caBundle: () => Promise.resolve({ clusterId: 'c', rootPem: newRoot.certPem, azIcaPem: null, chainPem: '', ...bundle }),
    };
    const current = material(oldNode, oldRoot.certPem);
    const next = await renewedNodeTls(node, dir, current);
    expect(next).to.not.equal(null);
    expect(next!.ca).to.equal(newRoot.certPem + oldRoot.certPem + crossPem);
    expect([next!.key, new X509Certificate(next!.cert).fingerprint256]).to.deep.equal([oldNode.key, new X509Certificate(oldNode.cert).fingerprint256]);
    expect(readFileSync(join(dir, 'cluster-root.crt'), 'utf8')).to.equal(next!.ca);
    // Nothing more to take up once it serves that.
    expect(await renewedNodeTls(node, dir, next!)).to.equal(null);
  });
});
