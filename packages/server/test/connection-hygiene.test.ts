// Connection hygiene on every listener: a socket that never speaks, or stops half-way through a
// TLS handshake, is closed (before, an idle TCP connection to the Raft port stayed open for
// minutes and 256 of them locked every peer out); connections are capped per listener and per
// source address. Real sockets on loopback.
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import { SeededRandom } from '@adrestia/consensus';
import { DEFAULT_HTTP_LIMITS, HttpServer } from '../src/http/server.ts';
import { Router } from '../src/http/router.ts';
import { createLogger } from '../src/log/logger.ts';
import { MtlsMesh } from '../src/transport/mesh.ts';
import { DEFAULT_MESH_LIMITS } from '../src/transport/types.ts';
import { makeNodeCert, makeRootCa, makeTempDir, removeDir } from './helpers/certs.ts';

const HOST = '127.68.0.1';
const OTHER_SOURCE = '127.68.0.2';

/** Opens a TCP connection from `from`; resolves once connected. */
function open(port: number, from = HOST): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, localAddress: from }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Milliseconds until the server closes `socket`, or null if it is still open after `withinMs`. */
function closedWithin(socket: Socket, withinMs: number): Promise<number | null> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) return resolve(0);
    const timer = setTimeout(() => resolve(null), withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
    socket.on('error', () => undefined);
    socket.resume();
  });
}

/** The first 6 bytes of a TLS 1.2 ClientHello record, and nothing more. */
const PARTIAL_CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);

describe('connection hygiene: idle, half-open and excess connections are closed on every listener', function () {
  this.timeout(30_000);
  const dir = makeTempDir('adrestia-hygiene-');
  const root = makeRootCa(dir);
  const nodeCert = makeNodeCert(root, randomUUID(), `IP:${HOST}`);
  const limits = { ...DEFAULT_HTTP_LIMITS, idleTimeoutMs: 400, handshakeTimeoutMs: 400, maxConnections: 5, maxConnectionsPerSource: 2 };
  const logger = createLogger({ level: 'silent' });
  let http: HttpServer;
  let https: HttpServer;
  let mesh: MtlsMesh;
  let ports: { http: number; https: number; raft: number };
  const sockets: Socket[] = [];

  before(async () => {
    http = new HttpServer({ router: new Router(), logger, limits });
    https = new HttpServer({ router: new Router(), logger, limits, tls: { key: nodeCert.key, cert: nodeCert.cert, ca: root.certPem, requestClientCert: true } });
    mesh = new MtlsMesh({
      ...DEFAULT_MESH_LIMITS,
      connectTimeoutMs: 400,
      maxInboundPerSource: 2,
      nodeId: nodeCert.nodeId,
      tls: { key: nodeCert.key, cert: nodeCert.cert, ca: root.certPem },
      random: new SeededRandom(1),
    });
    ports = { http: (await http.listen(0, HOST)).port, https: (await https.listen(0, HOST)).port, raft: (await mesh.listen(0, HOST)).port };
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });
  after(async () => {
    await http.close(500);
    await https.close(500);
    await mesh.close();
    removeDir(dir);
  });

  const track = (s: Socket): Socket => {
    sockets.push(s);
    return s;
  };

  for (const listener of ['http', 'https', 'raft'] as const) {
    it(`${listener}: a connection that never sends a byte is closed`, async () => {
      const s = track(await open(ports[listener]));
      expect(await closedWithin(s, 3_000)).to.be.a('number');
    });
  }

  for (const listener of ['https', 'raft'] as const) {
    it(`${listener}: a TLS handshake that stops half-way is closed`, async () => {
      const s = track(await open(ports[listener]));
      s.write(PARTIAL_CLIENT_HELLO);
      expect(await closedWithin(s, 3_000)).to.be.a('number');
    });
  }

  it('http: a request line without the rest of the request is closed once idle', async () => {
    const s = track(await open(ports.http));
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expect(await closedWithin(s, 3_000)).to.be.a('number');
  });

  for (const listener of ['http', 'https', 'raft'] as const) {
    it(`${listener}: connections beyond the per-source cap are closed at once; another source is still served`, async () => {
      const kept = [track(await open(ports[listener])), track(await open(ports[listener]))];
      const extra = track(await open(ports[listener]));
      expect(await closedWithin(extra, 200), 'third connection from one source').to.be.a('number');
      for (const s of kept) expect(s.destroyed).to.equal(false);
      const other = track(await open(ports[listener], OTHER_SOURCE));
      expect(await closedWithin(other, 150), 'a connection from another source').to.equal(null);
    });
  }
});
