// The OCSP responder over plain HTTP (RFC 6960 Appendix A.1, RFC 5019 §5, §6.2) of one real
// node (`serve`, sockets on 127.151.0.0/16): `openssl ocsp -url` POSTs, GET answers carry the
// caching headers and verify, malformed bodies get `malformedRequest`, /metrics counts outcomes.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildCsr, toPem } from '@adrestia/pki-core';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';

const BASE = 150;
const HOST = '127.151.0.11';
const CLIENT = '127.151.0.200';
const OCSP_URL = `http://${HOST}:${DEV_PORTS.http}/ocsp`;
const execFileAsync = promisify(execFile);

/**
 * OpenSSL, run asynchronously: it talks to the server in this very process, which a synchronous
 * child would block. Resolves with stdout + stderr whatever the exit status.
 */
async function openssl(args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync('openssl', args, { encoding: 'utf8', timeout: 20_000 });
    return stdout + stderr;
  } catch (e) {
    const failed = e as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (failed.code === 'ENOENT') throw new Error('openssl is required (Debian package openssl)', { cause: e });
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
  }
}

describe('OCSP over HTTP on a real node (RFC 6960 Appendix A, RFC 5019)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-ocsp-http-'));
  let handle: ServeHandle;
  let token: string;
  let leaf: { serialHex: string; certificatePem: string; chainPem: string };
  const paths = { root: join(dir, 'root.pem'), issuer: join(dir, 'issuer.pem'), leaf: join(dir, 'leaf.pem') };

  const get = (path: string, headers: Record<string, string> = {}): Promise<HttpCallResult> =>
    httpCall(`http://${HOST}:${DEV_PORTS.http}${path}`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, localAddress: CLIENT, headers });
  const api = async (path: string, body: unknown, root: string): Promise<unknown> => {
    const r = await httpCall(`https://${HOST}:${DEV_PORTS.https}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: Buffer.from(JSON.stringify(body)),
      timeoutMs: 20_000,
      maxResponseBytes: 1 << 20,
      ca: root,
      serverNode: true,
      localAddress: CLIENT,
    });
    expect(r.status, r.body.toString()).to.be.oneOf([200, 201]);
    return jsonOf(r);
  };
  /** `openssl ocsp -url` (a POST with a nonce), verified against the root; stdout and stderr. */
  const opensslOcsp = (extra: string[] = []): Promise<string> =>
    openssl(['ocsp', ...extra, '-issuer', paths.issuer, '-cert', paths.leaf, '-url', OCSP_URL, '-CAfile', paths.root, '-verify_other', paths.issuer]);

  before(async () => {
    const secrets = await writeSecrets(dir);
    const node = devNodes(1, 1, BASE)[0]!;
    const config = await loadConfig(await writeNodeConfig(dir, node, 1, BASE, secrets, 'silent'));
    handle = await serve(config, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true });
    const root = readFileSync(join(config.dataDir, 'cluster-root.crt'), 'utf8');
    token = readFileSync(secrets.adminTokenFile, 'utf8').trim();
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const csr = toPem(buildCsr({ subject: 'CN=ocsp.example', privateKey: key, sans: [{ type: 'dns', value: 'ocsp.example' }] }), 'CERTIFICATE REQUEST');
    leaf = (await api('/api/v1/certificates', { csr, profile: 'serverLeaf' }, root)) as typeof leaf;
    const blocks = leaf.chainPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g)!;
    writeFileSync(paths.root, root);
    writeFileSync(paths.leaf, leaf.certificatePem);
    writeFileSync(paths.issuer, blocks.slice(1, 3).join('\n'));
    // The node's responders are provisioned by maintenance: until then the answer is tryLater.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answer = await opensslOcsp();
      if (/leaf\.pem: good/.test(answer)) break;
      if (Date.now() > deadline) throw new Error(`no good answer: ${answer}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('POST (openssl ocsp -url): good with the nonce verified, then revoked with time and reason', async () => {
    const good = await opensslOcsp();
    expect(good).to.include('Response verify OK');
    expect(good).to.not.include('Nonce Verify error');
    expect(good).to.match(/leaf\.pem: good/);
    await api('/api/v1/revocations', { serialHex: leaf.serialHex, reason: 'cessationOfOperation' }, readFileSync(paths.root, 'utf8'));
    const revoked = await opensslOcsp(['-sha256']);
    expect(revoked).to.match(/leaf\.pem: revoked/);
    expect(revoked).to.include('Reason: cessationOfOperation');
  });

  it('GET /ocsp/<url-encoded base64>: max-age, Expires, ETag (304 on If-None-Match); the answer verifies', async () => {
    const reqPath = join(dir, 'get.req');
    await openssl(['ocsp', '-issuer', paths.issuer, '-cert', paths.leaf, '-no_nonce', '-reqout', reqPath]);
    const encoded = encodeURIComponent(readFileSync(reqPath).toString('base64'));
    const r = await get(`/ocsp/${encoded}`);
    expect(r.status).to.equal(200);
    expect(r.headers['content-type']).to.equal('application/ocsp-response');
    expect(String(r.headers['cache-control'])).to.match(/^max-age=\d+, public, no-transform, must-revalidate$/);
    expect(Number(/max-age=(\d+)/.exec(String(r.headers['cache-control']))![1])).to.be.greaterThan(0);
    expect(Date.parse(String(r.headers['expires']))).to.be.greaterThan(Date.parse(String(r.headers['last-modified'])));
    const etag = String(r.headers['etag']);
    expect(etag).to.match(/^"[0-9a-f]{32}"$/);
    expect((await get(`/ocsp/${encoded}`, { 'if-none-match': etag })).status).to.equal(304);
    writeFileSync(join(dir, 'get.resp'), r.body);
    const check = await openssl(['ocsp', '-issuer', paths.issuer, '-cert', paths.leaf, '-respin', join(dir, 'get.resp'), '-CAfile', paths.root, '-verify_other', paths.issuer, '-no_nonce']);
    expect(check).to.include('Response verify OK');
    expect(check).to.match(/leaf\.pem: (good|revoked)/);
  });

  it('RFC 6960 §2.3: a malformed request is malformedRequest, not an HTTP error; /metrics counts outcomes', async () => {
    const bad = await get(`/ocsp/${encodeURIComponent(Buffer.from('not a request').toString('base64'))}`);
    expect(bad.status).to.equal(200);
    expect(Buffer.from(bad.body).toString('hex')).to.equal('30030a0101');
    const post = await httpCall(OCSP_URL, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: Buffer.from([0x30, 0x00]), timeoutMs: 10_000, maxResponseBytes: 1 << 16, localAddress: CLIENT });
    expect(Buffer.from(post.body).toString('hex')).to.equal('30030a0101');
    // /metrics is served on the HTTPS port to the admin token's holder (config metrics.serve).
    const scrape = await httpCall(`https://${HOST}:${DEV_PORTS.https}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
      timeoutMs: 10_000,
      maxResponseBytes: 1 << 20,
      ca: readFileSync(paths.root, 'utf8'),
      serverNode: true,
      localAddress: CLIENT,
    });
    expect(scrape.status, scrape.body.toString('utf8').slice(0, 200)).to.equal(200);
    const metrics = scrape.body.toString('utf8');
    expect(metrics).to.match(/adrestia_ocsp_requests_total\{[^}]*method="POST"[^}]*outcome="good"[^}]*\} [1-9]/);
    expect(metrics).to.match(/adrestia_ocsp_requests_total\{[^}]*method="POST"[^}]*outcome="revoked"[^}]*\} [1-9]/);
    expect(metrics).to.match(/adrestia_ocsp_requests_total\{[^}]*method="GET"[^}]*outcome="malformedRequest"[^}]*\} [1-9]/);
  });
});
