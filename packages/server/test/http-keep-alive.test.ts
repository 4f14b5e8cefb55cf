// httpCall with a keep-alive agent (peer/http-request.ts), as the health probes use it
// (peer/https-peer-client.ts): calls share one TLS connection, and a reused connection's server
// is checked again, so a pin withdrawn after the handshake still refuses the next call.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { httpCall } from '../src/peer/http-request.ts';

const HOST = '127.160.0.40'; // this file's loopback address (127.160.0.0/16 is the perf range)

function selfSignedServerCert(dir: string): { key: string; cert: string } {
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=keep-alive test', '-addext', `subjectAltName=IP:${HOST}`,
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl req (is openssl installed?): ${r.stderr}`);
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

describe('httpCall over a keep-alive agent (peer/http-request.ts)', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-keepalive-'));
  let server: Server;
  let port = 0;
  let handshakes = 0;
  let ca = '';

  before(async () => {
    const tls = selfSignedServerCert(dir);
    ca = tls.cert;
    server = createServer(tls, (_req, res) => res.end('pong'));
    server.on('secureConnection', () => handshakes++);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, HOST, () => resolve());
    });
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('successive calls share one TLS connection; without the agent each call makes its own', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      handshakes = 0;
      for (let i = 0; i < 3; i++) {
        const r = await httpCall(`https://${HOST}:${port}/`, { timeoutMs: 5_000, maxResponseBytes: 64, ca, agent });
        expect(r.body.toString()).to.equal('pong');
      }
      expect(handshakes, 'one handshake for three calls').to.equal(1);
      await httpCall(`https://${HOST}:${port}/`, { timeoutMs: 5_000, maxResponseBytes: 64, ca });
      expect(handshakes, 'a call without the agent opens its own connection').to.equal(2);
    } finally {
      agent.destroy();
    }
  });

  it('a check that refuses the server after the handshake refuses the reused connection (ERR_HTTP_CONNECT)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let pinned = true;
    const checkServer = (): Error | undefined => (pinned ? undefined : new Error('pin withdrawn'));
    try {
      await httpCall(`https://${HOST}:${port}/`, { timeoutMs: 5_000, maxResponseBytes: 64, ca, agent, checkServer });
      pinned = false;
      let refused: unknown;
      try {
        await httpCall(`https://${HOST}:${port}/`, { timeoutMs: 5_000, maxResponseBytes: 64, ca, agent, checkServer });
      } catch (e) {
        refused = e;
      }
      expect(refused).to.have.property('code', 'ERR_HTTP_CONNECT');
      expect((refused as Error).message).to.contain('pin withdrawn');
    } finally {
      agent.destroy();
    }
  });
});
