// Recovery after long downtime (docs/architecture.md §21), the transport side, over real sockets
// with OpenSSL-made certificates: a node whose TLS certificate expired while the cluster was off
// is admitted on the Raft mesh only with exactly the certificate the replicated state registered
// for it (transport/peer-pins.ts `requireExpiredPinned`), inbound and outbound; any other expired
// certificate naming it is refused, and so is every expired one without `admitExpiredPeer`. The
// certificate a renewal replaced stays admitted for PREDECESSOR_GRACE_MS, then is refused. The
// HTTPS client (the peer client's) reaches an expired server only through `acceptExpiredServer`,
// decided before the request is sent.
import { randomUUID, X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { SeededRandom } from '@adrestia/consensus';
import { httpCall } from '../src/peer/http-request.ts';
import { certSha256Hex } from '../src/transport/identity.ts';
import { MtlsMesh } from '../src/transport/mesh.ts';
import { PeerPins, PREDECESSOR_GRACE_MS } from '../src/transport/peer-pins.ts';
import { DEFAULT_MESH_LIMITS, type TransportEvent } from '../src/transport/types.ts';
import { makeNodeCert, makeRootCa, makeTempDir, removeDir, type TestCa, type TestNodeCert } from './helpers/certs.ts';
import { sleep, waitFor } from './helpers/wait.ts';

interface Node {
  mesh: MtlsMesh;
  port: number;
  events: TransportEvent[];
  received: string[];
}

const shaOf = (cert: TestNodeCert): string => certSha256Hex(new X509Certificate(cert.cert));

describe('§21 the Raft mesh admits an expired node certificate only when it is exactly the registered one', function () {
  this.timeout(30_000);
  let dir: string;
  let root: TestCa;
  let expiredA: TestNodeCert;
  let expiredB: TestNodeCert;
  /** Another expired certificate naming B (same id, another key): not the registered one. */
  let otherExpiredB: TestNodeCert;
  const nodes: Node[] = [];

  before(function () {
    dir = makeTempDir('adrestia-expired-pins-');
    root = makeRootCa(dir, 'root');
    expiredA = makeNodeCert(root, randomUUID(), '', { expired: true });
    expiredB = makeNodeCert(root, randomUUID(), '', { expired: true });
    otherExpiredB = makeNodeCert(root, expiredB.nodeId, 'DNS:other.invalid', { expired: true });
    expect(Date.parse(new X509Certificate(expiredA.cert).validTo)).to.be.lessThan(Date.now());
  });
  after(() => removeDir(dir));
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.mesh.close()));
  });

  /** A mesh whose pins register `registered` (node id → certificate) as the replicated state would. */
  async function node(cert: TestNodeCert, registered: readonly TestNodeCert[], expiredAdmitted = true): Promise<Node> {
    const pins = new PeerPins(cert.nodeId);
    pins.update(new Map(registered.map((c) => [c.nodeId, shaOf(c)])), new Set());
    const events: TransportEvent[] = [];
    const received: string[] = [];
    const mesh = new MtlsMesh({
      ...DEFAULT_MESH_LIMITS,
      backoff: { initialDelayMs: 20, maxDelayMs: 200 },
      nodeId: cert.nodeId,
      tls: { key: cert.key, cert: cert.cert, ca: root.certPem },
      random: new SeededRandom(21),
      onEvent: (e) => events.push(e),
      admitPeer: (id, sha, c) => pins.admitMeshPeer(id, sha, c),
      ...(expiredAdmitted ? { admitExpiredPeer: (id: string, sha: string) => pins.requireExpiredPinned(id, sha) } : {}),
    });
    mesh.onGroup('local', (from, payload) => received.push(`${from}:${payload.toString('utf8')}`));
    const { port } = await mesh.listen(0, '127.0.0.1');
    const n = { mesh, port, events, received };
    nodes.push(n);
    return n;
  }

  function link(from: Node, fromCert: TestNodeCert, to: Node, toCert: TestNodeCert): void {
    from.mesh.setPeer(toCert.nodeId, { host: '127.0.0.1', port: to.port });
    to.mesh.setPeer(fromCert.nodeId, { host: '127.0.0.1', port: from.port });
  }

  it('exchanges frames both ways when both expired certificates are the registered ones', async () => {
    const a = await node(expiredA, [expiredA, expiredB]);
    const b = await node(expiredB, [expiredA, expiredB]);
    link(a, expiredA, b, expiredB);
    a.mesh.send(expiredB.nodeId, 'local', Buffer.from('a→b'));
    b.mesh.send(expiredA.nodeId, 'local', Buffer.from('b→a'));
    await waitFor('both directions', () => a.received.length === 1 && b.received.length === 1, 10_000);
    expect(b.received).to.deep.equal([`${expiredA.nodeId}:a→b`]);
    expect(a.received).to.deep.equal([`${expiredB.nodeId}:b→a`]);
  });

  it('refuses, inbound and outbound, an expired certificate naming a registered node that is not its registered one', async () => {
    const a = await node(expiredA, [expiredA, expiredB]);
    const b = await node(otherExpiredB, [expiredA, otherExpiredB]);
    link(a, expiredA, b, otherExpiredB);
    // b → a: a refuses b's client certificate. a → b: a refuses b's server certificate.
    b.mesh.send(expiredA.nodeId, 'local', Buffer.from('b→a'));
    a.mesh.send(expiredB.nodeId, 'local', Buffer.from('a→b'));
    await waitFor('a refusing b both ways', () => a.events.filter((e) => e === 'peerRefused').length >= 2, 10_000);
    await sleep(300);
    expect(a.received).to.deep.equal([]);
    expect(b.received).to.deep.equal([]);
  });

  it('refuses every expired certificate without admitExpiredPeer, even the registered one', async () => {
    const a = await node(expiredA, [expiredA, expiredB], false);
    const b = await node(expiredB, [expiredA, expiredB]);
    link(a, expiredA, b, expiredB);
    b.mesh.send(expiredA.nodeId, 'local', Buffer.from('b→a'));
    await waitFor('a refusing b at the handshake', () => a.events.includes('handshakeFailed') || a.events.includes('peerRefused'), 10_000);
    await sleep(300);
    expect(a.received).to.deep.equal([]);
  });
});

describe('§21 PeerPins: the certificate a renewal replaced, for PREDECESSOR_GRACE_MS', () => {
  const self = randomUUID();
  const peer = randomUUID();

  it('admits the replaced pin (verified or expired) until the grace ends, then only the new one', () => {
    let nowMs = 1_000;
    const pins = new PeerPins(self, () => nowMs);
    pins.update(new Map([[peer, 'old']]), new Set());
    pins.update(new Map([[peer, 'new']]), new Set());
    for (const sha of ['old', 'new']) {
      expect(() => pins.requirePinned(peer, sha)).to.not.throw();
      expect(() => pins.requireExpiredPinned(peer, sha)).to.not.throw();
    }
    expect(() => pins.requireExpiredPinned(peer, 'other')).to.throw(/not the one registered/);
    nowMs += PREDECESSOR_GRACE_MS - 1;
    pins.update(new Map([[peer, 'new']]), new Set());
    expect(() => pins.requirePinned(peer, 'old')).to.not.throw();
    nowMs += 1;
    pins.update(new Map([[peer, 'new']]), new Set());
    expect(() => pins.requirePinned(peer, 'old')).to.throw(/another certificate/);
    expect(() => pins.requireExpiredPinned(peer, 'old')).to.throw(/not the one registered/);
    expect(() => pins.requirePinned(peer, 'new')).to.not.throw();
  });

  it('admits nothing of a withdrawn node, replaced or registered', () => {
    const pins = new PeerPins(self, () => 0);
    pins.update(new Map([[peer, 'old']]), new Set());
    pins.update(new Map(), new Set([peer]));
    for (const sha of ['old', 'new']) {
      expect(() => pins.requirePinned(peer, sha)).to.throw(/revoked or removed/);
      expect(() => pins.requireExpiredPinned(peer, sha)).to.throw(/revoked or removed/);
    }
  });
});

describe('§21 httpCall acceptExpiredServer: an expired server certificate, judged before the request is sent', function () {
  this.timeout(30_000);
  let dir: string;
  let root: TestCa;
  let expired: TestNodeCert;
  let requests = 0;
  let server: ReturnType<typeof createServer>;
  let url: string;

  before(async () => {
    dir = makeTempDir('adrestia-expired-server-');
    root = makeRootCa(dir, 'root');
    expired = makeNodeCert(root, randomUUID(), '', { expired: true });
    server = createServer({ key: expired.key, cert: expired.cert }, (_req, res) => {
      requests++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    removeDir(dir);
  });

  const call = (acceptExpiredServer?: (cert: X509Certificate) => Error | undefined) =>
    httpCall(url, { timeoutMs: 5_000, maxResponseBytes: 1024, ca: root.certPem, serverNode: expired.nodeId, ...(acceptExpiredServer === undefined ? {} : { acceptExpiredServer }) });

  it('is refused without acceptExpiredServer, and when it refuses; the server sees no request', async () => {
    const before = requests;
    await call().then(() => expect.fail('answered'), (err: Error) => expect(err.message).to.match(/certificate has expired/));
    await call(() => new Error('not the pinned certificate')).then(() => expect.fail('answered'), (err: Error) => expect(err.message).to.match(/not the pinned certificate/));
    expect(requests).to.equal(before);
  });

  it('is answered when acceptExpiredServer admits exactly the certificate presented', async () => {
    const pinned = shaOf(expired);
    const r = await call((cert) => (certSha256Hex(cert) === pinned ? undefined : new Error('another certificate')));
    expect(r.status).to.equal(200);
    expect(r.body.toString('utf8')).to.equal('ok');
  });

  it('still checks the node the server names: another node id is refused before acceptExpiredServer is asked', async () => {
    let asked = false;
    const err = await httpCall(url, { timeoutMs: 5_000, maxResponseBytes: 1024, ca: root.certPem, serverNode: randomUUID(), acceptExpiredServer: () => ((asked = true), undefined) }).then(() => null, (e: Error) => e);
    expect(err?.message).to.match(/is node/);
    expect(asked).to.equal(false);
  });
});
