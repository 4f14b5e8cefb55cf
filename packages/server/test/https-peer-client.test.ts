// The HTTPS peer client checks the node it called against the registered certificate
// (transport/peer-pins.ts), as the Raft mesh and the peer endpoint do: a server on a real socket
// (127.77.1.1) presenting a certificate chained to the cluster root that names the node called, but
// is not the one registered for it, is refused before the request is sent. Certificates are made
// with the OpenSSL CLI (helpers/certs.ts).
import { X509Certificate, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { encodePeer } from '../src/peer/codec.ts';
import { HttpsPeerClient } from '../src/peer/https-peer-client.ts';
import { certSha256Hex } from '../src/transport/identity.ts';
import { PeerPins } from '../src/transport/peer-pins.ts';
import { makeNodeCert, makeRootCa, makeTempDir, removeDir, type TestCa, type TestNodeCert } from './helpers/certs.ts';

const HOST = '127.77.1.1';

describe('HttpsPeerClient pins the node it calls to its registered certificate', function () {
  this.timeout(30_000);
  const dir = makeTempDir('adrestia-peer-client-');
  const selfId = randomUUID();
  const peerId = randomUUID();
  let root: TestCa;
  let self: TestNodeCert;
  let other: TestNodeCert;
  let presented: TestNodeCert;
  let server: Server;
  let requests = 0;

  before(async () => {
    root = makeRootCa(dir);
    self = makeNodeCert(root, selfId);
    other = makeNodeCert(root, peerId, `IP:${HOST}`); // registered for peerId in the second case
    presented = makeNodeCert(root, peerId, `IP:${HOST},DNS:presented.invalid`);
    server = createServer({ key: presented.key, cert: presented.cert, ca: root.certPem, requestCert: true }, (req, res) => {
      requests++;
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-msgpack' }).end(encodePeer({ kind: 'ok' })));
    });
    await new Promise<void>((done) => server.listen(0, HOST, done));
  });
  after(async () => {
    await new Promise<void>((done) => server.close(() => done()));
    removeDir(dir);
  });

  const pinsFor = (peerCert: TestNodeCert): PeerPins => {
    const pins = new PeerPins(selfId);
    pins.update(new Map([[selfId, sha(self)], [peerId, sha(peerCert)]]), new Set());
    return pins;
  };
  const clientWith = (pins: PeerPins): HttpsPeerClient => {
    const { port } = server.address() as AddressInfo;
    return new HttpsPeerClient({
      apiAddressOf: (id) => (id === peerId ? `${HOST}:${port}` : undefined),
      tls: () => ({ key: self.key, cert: self.cert, ca: root.certPem }),
      bootstrap: null,
      pins,
      timeoutMs: 5_000,
    });
  };

  it('answers when the server presents the certificate registered for the node called', async () => {
    const before = requests;
    expect(await clientWith(pinsFor(presented)).call(peerId, { kind: 'ping' })).to.deep.equal({ kind: 'ok' });
    expect(requests).to.equal(before + 1);
  });

  it('refuses a server whose certificate names the node and chains to the root but is not the registered one', async () => {
    const before = requests;
    const error = await clientWith(pinsFor(other)).call(peerId, { kind: 'ping' }).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).to.equal('ERR_TIMEOUT');
    expect(error?.message).to.include('another certificate than the one registered');
    expect(requests, 'nothing reached the server').to.equal(before);
  });

  it('refuses a node that was withdrawn', async () => {
    const pins = new PeerPins(selfId);
    pins.update(new Map([[selfId, sha(self)]]), new Set([peerId]));
    const error = await clientWith(pins).call(peerId, { kind: 'ping' }).then(() => null, (e: unknown) => e as Error);
    expect(error?.message).to.include('was revoked or removed');
  });
});

function sha(cert: TestNodeCert): string {
  return certSha256Hex(new X509Certificate(cert.cert));
}
