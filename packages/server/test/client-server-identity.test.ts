// Every client verifies the server it dialled: the CLI, registration and node-to-node clients
// accept only a node of this cluster answering for the address dialled (its TLS certificate
// names its addresses, its node identity and the VIPs it may hold), follow redirects only from
// https to https, and never send the admin token in clear. Attacked here as a rogue would: with a
// certificate this cluster issued to a customer, and with a redirect to plain HTTP.
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { BUILTIN_PROFILES, buildCsr, toPem } from '@adrestia/pki-core';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { CLI_PATH, loaderArgs } from '../src/dev/processes.ts';
import { DEV_PORTS, devAzs, devNodes, globalVipOf } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, httpCallFollowing, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';

const BASE = 66; // dev layout: AZ az1 is 127.67.0.0/16, the node 127.67.0.11
const CLIENT = '127.67.0.200';
const ROGUE = '127.67.0.201';
const PLAIN = '127.67.0.202';
const ROGUE_PORT = 9443;
const PLAIN_PORT = 9080;

function openssl(args: string[], input?: string): { stdout: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  return { stdout: r.stdout };
}

interface Seen {
  headers: IncomingHttpHeaders[];
}

function cli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...loaderArgs(), CLI_PATH, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

function close(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
}

describe('clients verify the server they dialled (CLI, registration, peers)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-identity-'));
  const node = devNodes(1, 1, BASE)[0]!;
  const az = devAzs(1, BASE)[0]!;
  let handle: ServeHandle;
  let root: string;
  let token: string;
  let tokenFile: string;
  let rootFile: string;
  const servers: Server[] = [];

  before(async () => {
    const secrets = await writeSecrets(dir);
    const config = await loadConfig(await writeNodeConfig(dir, node, 1, BASE, secrets, 'silent'));
    handle = await serve(config, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true });
    root = readFileSync(join(config.dataDir, 'cluster-root.crt'), 'utf8');
    rootFile = join(dir, 'root.pem');
    writeFileSync(rootFile, root);
    tokenFile = secrets.adminTokenFile;
    token = readFileSync(tokenFile, 'utf8').trim();
  });

  after(async () => {
    for (const s of servers) await close(s);
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const admin = (method: 'POST' | 'PUT', path: string, body: unknown): Promise<HttpCallResult> =>
    httpCall(`https://${node.host}:${DEV_PORTS.https}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: Buffer.from(JSON.stringify(body)),
      timeoutMs: 20_000,
      maxResponseBytes: 1 << 20,
      ca: root,
      serverNode: true,
      localAddress: CLIENT,
    });
  const issue = (sans: string[], profile = 'serverLeaf'): Promise<HttpCallResult> => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    issue.lastKey = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    return admin('POST', '/api/v1/certificates', { csr: toPem(buildCsr({ subject: 'CN=x', privateKey }), 'CERTIFICATE REQUEST'), profile, sans });
  };
  issue.lastKey = '';

  /** An HTTPS server on `host` that records every request it gets and answers `answer`. */
  async function rogue(host: string, port: number, cert: string, key: string, answer: (res: import('node:http').ServerResponse) => void): Promise<Seen> {
    const seen: Seen = { headers: [] };
    const server = createHttpsServer({ cert, key }, (req, res) => {
      seen.headers.push(req.headers);
      answer(res);
    });
    servers.push(server);
    await listen(server, host, port);
    return seen;
  }

  it("a node's TLS certificate names its address, its node identity, its AZ's local VIP and the cluster VIP", async () => {
    const cert = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = connect({ host: node.host, port: DEV_PORTS.https, ca: root, servername: '', checkServerIdentity: () => undefined }, () => {
        const peer = socket.getPeerX509Certificate();
        socket.destroy();
        if (peer === undefined) reject(new Error('no certificate'));
        else resolve(peer);
      });
      socket.once('error', reject);
    });
    const text = openssl(['x509', '-noout', '-ext', 'subjectAltName'], cert.toString()).stdout;
    for (const ip of [node.host, az.localVip, globalVipOf(BASE)]) expect(text).to.contain(`IP Address:${ip}`);
    expect(text).to.match(/URI:urn:adrestia:node:[0-9a-f-]{36}/);
  });

  it("no customer certificate may carry a node's address, a VIP or a urn:adrestia: URI (403 ERR_SAN_FORBIDDEN)", async () => {
    for (const san of [`ip:${node.host}`, `ip:${az.localVip}`, `ip:${globalVipOf(BASE)}`]) {
      const r = await issue(['dns:ok.example.test', san]);
      expect([r.status, (jsonOf(r) as { error: { code: string } }).error.code], san).to.deep.equal([403, 'ERR_SAN_FORBIDDEN']);
    }
    // A custom profile may allow urn: URIs; the cluster's own namespace is still never issued,
    // and no profile may make CA certificates.
    const base = BUILTIN_PROFILES.serverLeaf;
    const urnLeaf = { ...base, name: 'urnLeaf', san: { ...base.san, uri: { ...base.san.uri, allowedSchemes: ['https', 'urn'] } } };
    expect((await admin('PUT', '/api/v1/profiles/urnLeaf', urnLeaf)).status).to.equal(200);
    const urn = await issue(['dns:ok.example.test', 'uri:urn:adrestia:node:00000000-0000-4000-8000-000000000001'], 'urnLeaf');
    expect([urn.status, (jsonOf(urn) as { error: { code: string } }).error.code]).to.deep.equal([403, 'ERR_SAN_FORBIDDEN']);
    const caProfile = { ...base, name: 'caLeaf', basicConstraints: { ca: true, pathLen: 0 }, keyUsage: ['keyCertSign', 'cRLSign'], subject: { ...base.subject, requireCommonName: true } };
    const refused = await admin('PUT', '/api/v1/profiles/caLeaf', caProfile);
    expect([refused.status, (jsonOf(refused) as { error: { code: string } }).error.code]).to.deep.equal([422, 'ERR_PROFILE_INVALID']);
  });

  it('the CLI refuses a server holding a certificate of this cluster that is not a node certificate: the token never leaves', async () => {
    const issued = jsonOf(await issue(['dns:evil.example.test', `ip:${ROGUE}`])) as { certificatePem: string; chainPem: string };
    const seen = await rogue(ROGUE, ROGUE_PORT, issued.chainPem.replace(root, ''), issue.lastKey, (res) => res.writeHead(201).end('{}'));
    const r = await cli(['issue', '--url', `https://${ROGUE}:${ROGUE_PORT}`, '--ca', rootFile, '--token-file', tokenFile, '--profile', 'serverLeaf', '--cn', 'victim.example.test', '--san', 'dns:victim.example.test', '--out', join(dir, 'victim')]);
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.contain('not a node of this cluster');
    expect(seen.headers, 'the rogue got no request').to.deep.equal([]);
  });

  it('a redirect to plain HTTP is refused before anything is sent there (ERR_HTTP_REDIRECT_REFUSED); --url http:// is a usage error', async () => {
    // A server that passes every check (its own CA, a node identity, the address dialled), then redirects to http.
    const caKey = join(dir, 'rogue-ca.key');
    const caCrt = join(dir, 'rogue-ca.crt');
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caCrt, '-subj', '/CN=rogue root', '-days', '1']);
    const leafKey = join(dir, 'rogue.key');
    const leafCsr = join(dir, 'rogue.csr');
    const leafCrt = join(dir, 'rogue.crt');
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', leafKey, '-out', leafCsr, '-subj', '/CN=rogue']);
    const ext = join(dir, 'rogue.ext');
    writeFileSync(ext, `subjectAltName=IP:${PLAIN},URI:urn:adrestia:node:00000000-0000-4000-8000-000000000001\n`);
    openssl(['x509', '-req', '-in', leafCsr, '-CA', caCrt, '-CAkey', caKey, '-CAcreateserial', '-out', leafCrt, '-days', '1', '-extfile', ext]);
    const plainSeen: Seen = { headers: [] };
    const plain = createHttpServer((req, res) => {
      plainSeen.headers.push(req.headers);
      res.writeHead(200).end('{}');
    });
    servers.push(plain);
    await listen(plain, PLAIN, PLAIN_PORT);
    const seen = await rogue(PLAIN, ROGUE_PORT, readFileSync(leafCrt, 'utf8'), readFileSync(leafKey, 'utf8'), (res) =>
      res.writeHead(307, { location: `http://${PLAIN}:${PLAIN_PORT}/api/v1/certificates` }).end(),
    );
    let refused: unknown = null;
    try {
      await httpCallFollowing(`https://${PLAIN}:${ROGUE_PORT}/api/v1/certificates`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: Buffer.from('{}'),
        timeoutMs: 10_000,
        maxResponseBytes: 1 << 20,
        ca: readFileSync(caCrt, 'utf8'),
        serverNode: true,
      }, 3);
    } catch (e) {
      refused = e;
    }
    expect((refused as { code?: string } | null)?.code).to.equal('ERR_HTTP_REDIRECT_REFUSED');
    expect(seen.headers.length, 'the https server was asked once').to.equal(1);
    const r = await cli(['revoke', '--url', `https://${PLAIN}:${ROGUE_PORT}`, '--ca', caCrt, '--token-file', tokenFile, '--serial', '01']);
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.contain('only from https to https');
    expect(plainSeen.headers, 'nothing reached the plain-HTTP server').to.deep.equal([]);
    const clear = await cli(['revoke', '--url', `http://${node.host}:${DEV_PORTS.http}`, '--ca', rootFile, '--token-file', tokenFile, '--serial', '01']);
    expect(clear.status).to.equal(2);
    expect(clear.stderr).to.contain('--url must be https://');
  });
});
