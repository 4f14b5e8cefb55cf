import { expect } from 'chai';
import { connect } from 'node:tls';
import { randomUUID, X509Certificate } from 'node:crypto';
import { SeededRandom, type Message } from '@adrestia/consensus';
import { countTransportEvents, createMetrics } from '../src/metrics/metrics.ts';
import { GroupTransport } from '../src/transport/group-transport.ts';
import { certSha256Hex } from '../src/transport/identity.ts';
import { MtlsMesh } from '../src/transport/mesh.ts';
import { PeerPins } from '../src/transport/peer-pins.ts';
import { DEFAULT_MESH_LIMITS, type TransportEvent } from '../src/transport/types.ts';
import { makeIntermediateCa, makeNodeCert, makeRootCa, makeTempDir, removeDir, type TestCa, type TestNodeCert } from './helpers/certs.ts';
import { waitFor } from './helpers/wait.ts';

interface Node {
  mesh: MtlsMesh;
  port: number;
  events: TransportEvent[];
  received: { from: string; group: string; text: string }[];
}

type NodeOptions = { nodeId?: string; port?: number; maxFrameBytes?: number; admitPeer?: (nodeId: string, certSha256: string) => void };

async function startNode(cert: TestNodeCert, ca: TestCa, opts: NodeOptions = {}): Promise<Node> {
  const events: TransportEvent[] = [];
  const received: Node['received'] = [];
  const mesh = new MtlsMesh({
    ...DEFAULT_MESH_LIMITS,
    backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    maxFrameBytes: opts.maxFrameBytes ?? 64 * 1024,
    nodeId: opts.nodeId ?? cert.nodeId,
    tls: { key: cert.key, cert: cert.cert, ca: ca.certPem },
    random: new SeededRandom(7),
    onEvent: (e) => events.push(e),
    ...(opts.admitPeer === undefined ? {} : { admitPeer: opts.admitPeer }),
  });
  for (const group of ['local:az1', 'global']) {
    mesh.onGroup(group, (from, payload) => received.push({ from, group, text: payload.toString('utf8') }));
  }
  const addr = await mesh.listen(opts.port ?? 0, '127.0.0.1');
  return { mesh, port: addr.port, events, received };
}

describe('node-to-node mTLS transport', function () {
  let dir: string;
  let root: TestCa;
  let otherRoot: TestCa;
  let certA: TestNodeCert;
  let certB: TestNodeCert;
  let foreignB: TestNodeCert;
  const nodes: Node[] = [];

  before(function () {
    dir = makeTempDir('adrestia-transport-');
    root = makeRootCa(dir, 'root');
    otherRoot = makeRootCa(dir, 'other');
    certA = makeNodeCert(root, randomUUID());
    certB = makeNodeCert(root, randomUUID());
    foreignB = makeNodeCert(otherRoot, certB.nodeId);
  });
  after(() => removeDir(dir));
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.mesh.close()));
  });

  async function node(cert: TestNodeCert, ca: TestCa, opts?: Parameters<typeof startNode>[2]): Promise<Node> {
    const n = await startNode(cert, ca, opts);
    nodes.push(n);
    return n;
  }

  it('exchanges frames both ways, both groups sharing the connections, sender authenticated', async function () {
    const a = await node(certA, root);
    const b = await node(certB, root);
    a.mesh.setPeer(certB.nodeId, { host: '127.0.0.1', port: b.port });
    b.mesh.setPeer(certA.nodeId, { host: '127.0.0.1', port: a.port });
    a.mesh.send(certB.nodeId, 'local:az1', Buffer.from('a→b local'));
    a.mesh.send(certB.nodeId, 'global', Buffer.from('a→b global'));
    b.mesh.send(certA.nodeId, 'local:az1', Buffer.from('b→a local'));
    await waitFor('both directions', () => a.received.length === 1 && b.received.length === 2);
    expect(b.received).to.deep.equal([
      { from: certA.nodeId, group: 'local:az1', text: 'a→b local' },
      { from: certA.nodeId, group: 'global', text: 'a→b global' },
    ]);
    expect(a.received).to.deep.equal([{ from: certB.nodeId, group: 'local:az1', text: 'b→a local' }]);
    expect(a.events.filter((e) => e === 'connected')).to.have.length(1);
  });

  it('verifies chains root → AZ ICA → node ICA → node certificate across AZs', async function () {
    const az1 = makeIntermediateCa(root, 'az1');
    const az2 = makeIntermediateCa(root, 'az2');
    const c1 = makeNodeCert(makeIntermediateCa(az1, 'node-ica-1'), randomUUID());
    const c2 = makeNodeCert(makeIntermediateCa(az2, 'node-ica-2'), randomUUID());
    const n1 = await node(c1, root);
    const n2 = await node(c2, root);
    n1.mesh.setPeer(c2.nodeId, { host: '127.0.0.1', port: n2.port });
    n2.mesh.setPeer(c1.nodeId, { host: '127.0.0.1', port: n1.port });
    n1.mesh.send(c2.nodeId, 'global', Buffer.from('az1→az2'));
    n2.mesh.send(c1.nodeId, 'global', Buffer.from('az2→az1'));
    await waitFor('cross-AZ exchange', () => n1.received.length === 1 && n2.received.length === 1);
    expect(n2.received[0]).to.deep.equal({ from: c1.nodeId, group: 'global', text: 'az1→az2' });
    expect(n1.received[0]).to.deep.equal({ from: c2.nodeId, group: 'global', text: 'az2→az1' });
  });

  it('carries consensus Messages through GroupTransport and checks the addressee and sender', async function () {
    const a = await node(certA, root);
    const b = await node(certB, root);
    a.mesh.setPeer(certB.nodeId, { host: '127.0.0.1', port: b.port });
    const dropped: string[] = [];
    const ta = new GroupTransport(a.mesh, {
      group: 'raft-test',
      localMemberId: certA.nodeId,
      // Every member resolves to B here, so a message for another member reaches B misaddressed.
      resolveNode: () => certB.nodeId,
      isSenderAllowed: (from, m) => from === m.from,
    });
    const tb = new GroupTransport(b.mesh, {
      group: 'raft-test',
      localMemberId: certB.nodeId,
      resolveNode: (id) => id,
      isSenderAllowed: (from, m) => from === m.from,
      onDropped: (r) => dropped.push(r),
    });
    const got: Message[] = [];
    tb.onMessage((m) => got.push(m));
    const hb = (from: string): Message => ({ type: 'heartbeat', from, to: certB.nodeId, term: 3, commit: 9, readCtxSeq: 0 });
    // The second claims to come from another node than the authenticated one: dropped.
    ta.send([hb(certA.nodeId), hb(randomUUID()), { ...hb(certA.nodeId), to: randomUUID() }]);
    await waitFor('heartbeat delivered', () => got.length === 1 && dropped.length >= 2);
    expect(got[0]).to.deep.equal(hb(certA.nodeId));
    expect(dropped).to.deep.equal(['sender', 'misaddressed']);
    await ta.close();
    await tb.close();
  });

  it('refuses a peer that presents our own certificate, in both directions', async function () {
    const a = await node(certA, root);
    // A stale address (or a VIP we hold ourselves) leads A to dial itself while expecting B:
    // the dialling side sees its own certificate, and so does the accepting side.
    a.mesh.setPeer(certB.nodeId, { host: '127.0.0.1', port: a.port });
    a.mesh.send(certB.nodeId, 'global', Buffer.from('must not arrive'));
    await waitFor('refusals', () => a.events.filter((e) => e === 'peerRefused').length >= 1 && a.events.includes('connectFailed'));
    // A raw client holding A's certificate and key, dialling A: refused on accept.
    const before = a.events.filter((e) => e === 'peerRefused').length;
    const socket = connect({ host: '127.0.0.1', port: a.port, key: certA.key, cert: certA.cert, ca: root.certPem, checkServerIdentity: () => undefined });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(a.events.filter((e) => e === 'peerRefused').length).to.be.greaterThan(before);
    expect(a.received).to.deep.equal([]);
    expect(a.mesh.isConnected(certB.nodeId)).to.equal(false);
  });

  it('refuses to start with a certificate that does not name its own node id', function () {
    expect(() => new MtlsMesh({
      ...DEFAULT_MESH_LIMITS,
      nodeId: certB.nodeId,
      tls: { key: certA.key, cert: certA.cert, ca: root.certPem },
      random: new SeededRandom(1),
    })).to.throw(TypeError, /does not name node/);
  });

  it('refuses a peer whose certificate names another node id', async function () {
    const a = await node(certA, root);
    const b = await node(certB, root);
    const expected = randomUUID();
    a.mesh.setPeer(expected, { host: '127.0.0.1', port: b.port });
    a.mesh.send(expected, 'global', Buffer.from('wrong node'));
    await waitFor('refusal', () => a.events.includes('peerRefused'));
    expect(b.received).to.deep.equal([]);
    expect(a.mesh.isConnected(expected)).to.equal(false);
  });

  it('refuses a certificate chained to another root', async function () {
    const a = await node(certA, root);
    const foreign = await node(foreignB, otherRoot);
    foreign.mesh.setPeer(certA.nodeId, { host: '127.0.0.1', port: a.port });
    foreign.mesh.send(certA.nodeId, 'global', Buffer.from('from another cluster'));
    await waitFor('handshake failure', () => a.events.includes('handshakeFailed') && foreign.events.includes('connectFailed'));
    // And the other way: A dialling a node whose certificate chains to another root.
    a.mesh.setPeer(foreignB.nodeId, { host: '127.0.0.1', port: foreign.port });
    a.mesh.send(foreignB.nodeId, 'global', Buffer.from('to another cluster'));
    await waitFor('outbound refusal', () => a.events.includes('connectFailed'));
    expect(a.received).to.deep.equal([]);
    expect(foreign.received).to.deep.equal([]);
    expect(a.mesh.isConnected(foreignB.nodeId)).to.equal(false);
  });

  it('pins each peer to its registered certificate: another one naming the same node and chained to the root is refused, inbound and outbound', async function () {
    const impostorB = makeNodeCert(root, certB.nodeId);
    const fingerprint = (c: TestNodeCert): string => certSha256Hex(new X509Certificate(c.cert));
    const registered = new Map([[certA.nodeId, fingerprint(certA)], [certB.nodeId, fingerprint(certB)]]);
    const pinsOf = (self: string): PeerPins => {
      const pins = new PeerPins(self);
      pins.update(registered, new Set());
      return pins;
    };
    const pinsA = pinsOf(certA.nodeId);
    const a = await node(certA, root, { admitPeer: (id, sha) => pinsA.admitMeshPeer(id, sha) });
    const impostor = await node(impostorB, root);
    // Inbound: the impostor dials A as B.
    impostor.mesh.setPeer(certA.nodeId, { host: '127.0.0.1', port: a.port });
    impostor.mesh.send(certA.nodeId, 'global', Buffer.from('impostor→a'));
    await waitFor('inbound refusal', () => a.events.includes('peerRefused'));
    // Outbound: A dials the impostor's address expecting B.
    a.mesh.setPeer(certB.nodeId, { host: '127.0.0.1', port: impostor.port });
    a.mesh.send(certB.nodeId, 'global', Buffer.from('a→impostor'));
    await waitFor('outbound refusal', () => a.events.filter((e) => e === 'peerRefused').length >= 2 && a.events.includes('connectFailed'));
    await new Promise((r) => setTimeout(r, 100));
    expect(a.received).to.deep.equal([]);
    expect(impostor.received).to.deep.equal([]);
    expect(a.mesh.isConnected(certB.nodeId)).to.equal(false);
    // The registered certificate of the same node id passes the same check, both ways.
    const pinsB = pinsOf(certB.nodeId);
    const b = await node(certB, root, { admitPeer: (id, sha) => pinsB.admitMeshPeer(id, sha) });
    a.mesh.setPeer(certB.nodeId, { host: '127.0.0.1', port: b.port });
    b.mesh.setPeer(certA.nodeId, { host: '127.0.0.1', port: a.port });
    a.mesh.send(certB.nodeId, 'global', Buffer.from('a→b'));
    b.mesh.send(certA.nodeId, 'global', Buffer.from('b→a'));
    // A's frame queued while it was refused goes to the real B first (a link never drops its queue on a refusal).
    await waitFor('registered peers exchange', () => a.received.length === 1 && b.received.some((r) => r.text === 'a→b'));
    expect(a.received).to.deep.equal([{ from: certB.nodeId, group: 'global', text: 'b→a' }]);
    expect(b.received.map((r) => r.from)).to.deep.equal(b.received.map(() => certA.nodeId));
  });

  it('closes the connection on an oversize frame and counts it', async function () {
    const a = await node(certA, root, { maxFrameBytes: 1024 });
    const socket = connect({ host: '127.0.0.1', port: a.port, key: certB.key, cert: certB.cert, ca: root.certPem, checkServerIdentity: () => undefined });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025, 0);
    socket.write(header);
    await closed;
    expect(a.events).to.include('frameTooLarge');
    expect(a.received).to.deep.equal([]);
  });

  it('reconnects with backoff after the peer restarts', async function () {
    const a = await node(certA, root);
    const b1 = await node(certB, root);
    a.mesh.setPeer(certB.nodeId, { host: '127.0.0.1', port: b1.port });
    a.mesh.send(certB.nodeId, 'global', Buffer.from('before'));
    await waitFor('first delivery', () => b1.received.length === 1);
    await b1.mesh.close();
    await waitFor('link down', () => !a.mesh.isConnected(certB.nodeId));
    // Sent while B is down: dialled with backoff, refused, redialled.
    a.mesh.send(certB.nodeId, 'global', Buffer.from('while down'));
    await waitFor('a failed redial', () => a.events.includes('connectFailed'));
    const b2 = await node(certB, root, { port: b1.port });
    let n = 0;
    await waitFor('delivery after restart', () => {
      if (b2.received.length === 0 && n++ % 5 === 0) a.mesh.send(certB.nodeId, 'global', Buffer.from('after'));
      return b2.received.length > 0;
    });
    expect(b2.received[0]?.from).to.equal(certA.nodeId);
    expect(a.events.filter((e) => e === 'connected').length).to.be.at.least(2);
  });

  it('bounds the outbound queue of an unreachable peer by dropping the oldest frames', async function () {
    const events: TransportEvent[] = [];
    const metrics = createMetrics();
    const count = countTransportEvents(metrics);
    const mesh = new MtlsMesh({
      ...DEFAULT_MESH_LIMITS,
      maxQueuedFrames: 10,
      nodeId: certA.nodeId,
      tls: { key: certA.key, cert: certA.cert, ca: root.certPem },
      random: new SeededRandom(1),
      onEvent: (e) => {
        events.push(e);
        count(e);
      },
    });
    // Port 9 on 127.0.0.1: nothing listens; the link stays in backoff.
    mesh.setPeer(certB.nodeId, { host: '127.0.0.1', port: 9 });
    for (let i = 0; i < 25; i++) mesh.send(certB.nodeId, 'global', Buffer.from(`m${i}`));
    mesh.send(randomUUID(), 'global', Buffer.from('no route'));
    expect(events.filter((e) => e === 'queueDropped')).to.have.length(15);
    expect(events).to.include('noRoute');
    expect(await metrics.registry.metrics()).to.contain('adrestia_transport_events_total{event="queueDropped"} 15');
    await mesh.close();
  });
});
