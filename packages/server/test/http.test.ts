import { expect } from 'chai';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { ServerError } from '../src/errors.ts';
import { readDerOrPem, readJson } from '../src/http/body.ts';
import { normalizeRemoteAddr } from '../src/http/remote-addr.ts';
import { sendJson, sendRedirect } from '../src/http/respond.ts';
import { Router } from '../src/http/router.ts';
import { DEFAULT_HTTP_LIMITS, HttpServer, type HttpServerOptions } from '../src/http/server.ts';
import { sanUris } from '../src/http/tls.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { makeNodeCert, makeRootCa, makeTempDir, removeDir, type TestCa, type TestNodeCert } from './helpers/certs.ts';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface CallOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  tls?: { ca: string; key?: string; cert?: string };
  host?: string;
}

function call(port: number, o: CallOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const base = { host: o.host ?? '127.0.0.1', port, method: o.method ?? 'GET', path: o.path, headers: o.headers ?? {}, agent: false as const };
    const onRes = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    };
    const req = o.tls === undefined ? httpRequest(base, onRes) : httpsRequest({ ...base, ...o.tls, checkServerIdentity: () => undefined }, onRes);
    req.on('error', reject);
    req.end(o.body);
  });
}

function quietLogger(lines: string[] = []) {
  return createLogger({ level: 'error', destination: new Writable({ write: (c: Buffer, _e, cb) => { lines.push(c.toString()); cb(); } }) });
}

const json = (r: Reply): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;

describe('HTTP scaffolding over node:http', function () {
  let server: HttpServer;
  let port: number;
  let ready = true;
  const logLines: string[] = [];
  const metrics = createMetrics();
  let release: () => void = () => undefined;

  before(async function () {
    const router = new Router()
      .get('/api/v1/certs/:serial', (ctx) => sendJson(ctx.res, 200, { serial: ctx.params['serial'], remote: ctx.remoteAddr, q: ctx.query.get('x') }))
      .post('/api/v1/echo', async (ctx) => sendJson(ctx.res, 200, { got: await readJson(ctx.req, ctx.maxBodyBytes) }))
      .post('/api/v1/csr', async (ctx) => {
        const der = await readDerOrPem(ctx.req, ctx.maxBodyBytes, { derTypes: ['application/pkcs10'], pemLabel: 'CERTIFICATE REQUEST' });
        sendJson(ctx.res, 200, { hex: der.toString('hex') });
      })
      .get('/api/v1/status', (ctx) => sendRedirect(ctx.res, 'http://127.1.0.1/api/v1/status'))
      .get('/boom', () => {
        throw new Error('secret internals /etc/adrestia/kek');
      })
      .get('/typed', () => {
        throw new ServerError('ERR_FORBIDDEN', 'not for you', { field: 'az' });
      })
      .get('/slow', (ctx) => new Promise<void>((resolve) => {
        release = () => {
          sendJson(ctx.res, 200, { done: true });
          resolve();
        };
      }));
    const options: HttpServerOptions = {
      router,
      logger: quietLogger(logLines),
      metrics,
      exposeMetrics: true,
      readiness: () => ready,
      limits: { ...DEFAULT_HTTP_LIMITS, maxBodyBytes: 128, maxHeaderBytes: 2048, requestTimeoutMs: 10_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 1_000 },
    };
    server = new HttpServer(options);
    port = (await server.listen(0, '127.0.0.1')).port;
  });
  after(() => server.close(1000));

  it('routes by method and path with decoded params, query and REMOTE_ADDR', async function () {
    const r = await call(port, { path: '/api/v1/certs/ab%2Fcd?x=1' });
    expect(r.status).to.equal(200);
    expect(json(r)).to.deep.equal({ serial: 'ab/cd', remote: '127.0.0.1', q: '1' });
    expect(server.server.headersTimeout).to.equal(5_000);
    expect(server.server.keepAliveTimeout).to.equal(1_000);
    expect(server.server.requestTimeout).to.equal(10_000);
  });

  it('answers 404 ERR_NOT_FOUND_ROUTE, 405 ERR_METHOD with Allow, and HEAD like GET without body', async function () {
    const nf = await call(port, { path: '/nope' });
    expect(nf.status).to.equal(404);
    expect(json(nf)).to.deep.equal({ error: { code: 'ERR_NOT_FOUND_ROUTE', message: 'no route for /nope' } });
    const m = await call(port, { method: 'DELETE', path: '/api/v1/echo' });
    expect(m.status).to.equal(405);
    expect(m.headers['allow']).to.equal('POST');
    const head = await call(port, { method: 'HEAD', path: '/api/v1/certs/1' });
    expect(head.status).to.equal(200);
    expect(head.body).to.equal('');
  });

  it('reads JSON bodies with content-type and byte-limit checks (415, 400, 413)', async function () {
    const ok = await call(port, { method: 'POST', path: '/api/v1/echo', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"a":1}' });
    expect(json(ok)).to.deep.equal({ got: { a: 1 } });
    const media = await call(port, { method: 'POST', path: '/api/v1/echo', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect([media.status, (json(media)['error'] as Record<string, unknown>)['code']]).to.deep.equal([415, 'ERR_UNSUPPORTED_MEDIA_TYPE']);
    const bad = await call(port, { method: 'POST', path: '/api/v1/echo', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    expect([bad.status, (json(bad)['error'] as Record<string, unknown>)['code']]).to.deep.equal([400, 'ERR_BAD_JSON']);
    const big = await call(port, { method: 'POST', path: '/api/v1/echo', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 'x'.repeat(300) }) });
    expect([big.status, (json(big)['error'] as Record<string, unknown>)['code']]).to.deep.equal([413, 'ERR_BODY_TOO_LARGE']);
    // Chunked (no Content-Length): the limit applies to bytes received.
    const chunked = await call(port, {
      method: 'POST', path: '/api/v1/echo',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: JSON.stringify({ a: 'y'.repeat(300) }),
    });
    expect(chunked.status).to.equal(413);
  });

  it('reads DER or PEM bodies and returns the DER', async function () {
    const der = Buffer.from('3003020105', 'hex');
    const raw = await call(port, { method: 'POST', path: '/api/v1/csr', headers: { 'content-type': 'application/pkcs10' }, body: der });
    expect(json(raw)).to.deep.equal({ hex: '3003020105' });
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const viaPem = await call(port, { method: 'POST', path: '/api/v1/csr', headers: { 'content-type': 'application/x-pem-file' }, body: pem });
    expect(json(viaPem)).to.deep.equal({ hex: '3003020105' });
    const wrong = await call(port, { method: 'POST', path: '/api/v1/csr', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(wrong.status).to.equal(400);
  });

  it('redirects with 307 and Location', async function () {
    const r = await call(port, { path: '/api/v1/status' });
    expect(r.status).to.equal(307);
    expect(r.headers['location']).to.equal('http://127.1.0.1/api/v1/status');
  });

  it('a client that goes away mid-body is no server fault: nothing is logged as an error', async function () {
    const failedBefore = logLines.filter((l) => l.includes('request failed')).length;
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(logLines.filter((l) => l.includes('request failed')).length).to.equal(failedBefore);
    expect((await call(port, { path: '/healthz' })).status, 'the server still serves').to.equal(200);
  });

  it('maps typed errors through the table and hides unknown ones (500, cause logged)', async function () {
    const typed = await call(port, { path: '/typed' });
    expect([typed.status, json(typed)]).to.deep.equal([403, { error: { code: 'ERR_FORBIDDEN', message: 'not for you', field: 'az' } }]);
    const boom = await call(port, { path: '/boom' });
    expect(boom.status).to.equal(500);
    expect(json(boom)).to.deep.equal({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    expect(boom.body).not.to.contain('secret internals');
    expect(logLines.join('')).to.contain('secret internals');
  });

  it('serves /healthz, /readyz from the readiness callback and /metrics with HTTP counts by route', async function () {
    expect((await call(port, { path: '/healthz' })).status).to.equal(200);
    expect((await call(port, { path: '/readyz' })).status).to.equal(200);
    ready = false;
    const notReady = await call(port, { path: '/readyz' });
    ready = true;
    expect([notReady.status, (json(notReady)['error'] as Record<string, unknown>)['code']]).to.deep.equal([503, 'ERR_UNAVAILABLE']);
    const m = await call(port, { path: '/metrics' });
    expect(m.body).to.contain('adrestia_http_requests_total{route="/api/v1/certs/:serial",method="GET",status="200"}');
    expect(m.body).to.contain('adrestia_http_requests_total{route="/readyz",method="GET",status="503"} 1');
  });

  it('refuses oversize headers with 431 (maxHeaderSize)', async function () {
    const r = await call(port, { path: '/healthz', headers: { 'x-filler': 'z'.repeat(4096) } });
    expect(r.status).to.equal(431);
  });

  it('closes gracefully: in-flight requests finish, new connections are refused', async function () {
    const s = new HttpServer({ router: new Router().get('/slow', (ctx) => new Promise<void>((resolve) => {
      release = () => {
        sendJson(ctx.res, 200, { done: true });
        resolve();
      };
    })), logger: quietLogger() });
    const p = (await s.listen(0, '127.0.0.1')).port;
    const inflight = call(p, { path: '/slow' });
    await new Promise((r) => setTimeout(r, 50));
    const closing = s.close(5_000);
    const refused = await new Promise<string>((resolve) => {
      const c = connect({ host: '127.0.0.1', port: p });
      c.once('connect', () => { c.destroy(); resolve('connected'); });
      c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).to.equal('ECONNREFUSED');
    release();
    const r = await inflight;
    expect([r.status, json(r)]).to.deep.equal([200, { done: true }]);
    await closing;
  });

  it('cuts connections still busy at the close deadline', async function () {
    const s = new HttpServer({ router: new Router().get('/hang', () => new Promise<void>(() => undefined)), logger: quietLogger() });
    const p = (await s.listen(0, '127.0.0.1')).port;
    const hung = call(p, { path: '/hang' }).then(() => 'answered', (e: NodeJS.ErrnoException) => e.code ?? 'error');
    await new Promise((r) => setTimeout(r, 50));
    await s.close(100);
    expect(await hung).to.equal('ECONNRESET');
  });

  it('reports an IPv4 client of a dual-stack listener as plain IPv4 REMOTE_ADDR', async function () {
    const s = new HttpServer({ router: new Router().get('/ip', (ctx) => sendJson(ctx.res, 200, { remote: ctx.remoteAddr })), logger: quietLogger() });
    // Hosts without IPv6 fall back to an IPv4 listener; the handler must see 127.0.0.1 either way.
    const dualStack = await s.listen(0, '::').then((a) => a, () => undefined);
    const p = dualStack?.port ?? (await s.listen(0, '0.0.0.0')).port;
    try {
      expect(json(await call(p, { path: '/ip' }))).to.deep.equal({ remote: '127.0.0.1' });
      if (dualStack !== undefined) expect(json(await call(p, { path: '/ip', host: '::1' }))).to.deep.equal({ remote: '::1' });
    } finally {
      await s.close(1000);
    }
  });

  it('normalizes IPv4-mapped IPv6 remote addresses', function () {
    expect(normalizeRemoteAddr('::ffff:10.1.1.100')).to.equal('10.1.1.100');
    expect(normalizeRemoteAddr('::FFFF:127.0.0.1')).to.equal('127.0.0.1');
    expect(normalizeRemoteAddr('0:0:0:0:0:ffff:a01:164')).to.equal('10.1.1.100');
    expect(normalizeRemoteAddr('::10.1.1.100')).to.equal('::10.1.1.100'); // IPv4-compatible, not mapped
    expect(normalizeRemoteAddr('2001:DB8::1')).to.equal('2001:db8::1');
    expect(normalizeRemoteAddr(undefined)).to.equal('');
  });
});

describe('HTTPS with optional client certificates (mTLS routes)', function () {
  let dir: string;
  let root: TestCa;
  let other: TestCa;
  let serverCert: TestNodeCert;
  let client: TestNodeCert;
  let foreign: TestNodeCert;
  let server: HttpServer;
  let port: number;

  before(async function () {
    dir = makeTempDir('adrestia-https-');
    root = makeRootCa(dir, 'root');
    other = makeRootCa(dir, 'other');
    serverCert = makeNodeCert(root, randomUUID());
    client = makeNodeCert(root, randomUUID());
    foreign = makeNodeCert(other, randomUUID());
    const router = new Router()
      .get('/api/v1/ca', (ctx) => sendJson(ctx.res, 200, { public: true, peer: ctx.peerCertificate === null ? null : sanUris(ctx.peerCertificate) }))
      .post('/api/v1/renew', (ctx) => sendJson(ctx.res, 200, { peer: sanUris(ctx.peerCertificate!) }), { requireClientCert: true });
    server = new HttpServer({ router, logger: quietLogger(), tls: { key: serverCert.key, cert: serverCert.cert, ca: root.certPem, requestClientCert: true } });
    port = (await server.listen(0, '127.0.0.1')).port;
  });
  after(async () => {
    await server.close(1000);
    removeDir(dir);
  });

  it('serves public routes without a client certificate', async function () {
    const r = await call(port, { path: '/api/v1/ca', tls: { ca: root.certPem } });
    expect(json(r)).to.deep.equal({ public: true, peer: null });
  });

  it('gives handlers the verified client certificate on mTLS routes', async function () {
    const r = await call(port, { method: 'POST', path: '/api/v1/renew', tls: { ca: root.certPem, key: client.key, cert: client.cert } });
    expect(r.status).to.equal(200);
    expect(json(r)).to.deep.equal({ peer: [`urn:adrestia:node:${client.nodeId}`] });
  });

  it('refuses mTLS routes without a certificate or with one from another root (401)', async function () {
    const none = await call(port, { method: 'POST', path: '/api/v1/renew', tls: { ca: root.certPem } });
    expect([none.status, (json(none)['error'] as Record<string, unknown>)['code']]).to.deep.equal([401, 'ERR_CLIENT_CERT_REQUIRED']);
    const alien = await call(port, { method: 'POST', path: '/api/v1/renew', tls: { ca: root.certPem, key: foreign.key, cert: foreign.cert } });
    expect(alien.status).to.equal(401);
    const pub = await call(port, { path: '/api/v1/ca', tls: { ca: root.certPem, key: foreign.key, cert: foreign.cert } });
    expect(json(pub)['peer']).to.equal(null);
  });
});
