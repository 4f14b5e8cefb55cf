// Admin operations over HTTPS, in process: `serve` with a real PkiNode (LevelDB on disk, real
// sockets on 127.62.0.0/16). A node is registered through the real registration route (PSK proof),
// then removed; CRLs are read back with OpenSSL.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { BUILTIN_PROFILES, buildCsr, toPem } from '@adrestia/pki-core';
import { generateNodeKeys, makeNodeCsrs } from '@adrestia/pki-core/node';
import { buildRegistrationRequest, verifyCaBundle, verifyJoinToken, type CaBundleResponseBody } from '@adrestia/pki-core/registration';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { CLI_PATH } from '../src/dev/processes.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';

const BASE = 62; // dev layout: AZ az1 is 127.63.0.0/16, the node 127.63.0.11
const CLIENT = '127.63.0.200';
const EXTRA = '127.63.0.99';

type ErrorBody = { error: { code: string } };
const codeOf = (r: HttpCallResult): [number, string | undefined] => [r.status, (jsonOf(r) as ErrorBody | undefined)?.error?.code];

describe('admin operations over HTTPS (remove node, profiles, join tokens)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-admin-'));
  let joinKey = '';
  let handle: ServeHandle;
  let root: string;
  let token: string;
  let psk: Uint8Array;
  let clusterId: string;
  let tokenFile: string;

  before(async () => {
    const secrets = await writeSecrets(dir);
    const node = devNodes(1, 1, BASE)[0]!;
    const configPath = await writeNodeConfig(dir, node, 1, BASE, secrets, 'silent');
    const config = await loadConfig(configPath, { ...process.env });
    joinKey = readFileSync(secrets.joinTokenKeyFile, 'utf8').trim();
    handle = await serve(config, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true });
    root = readFileSync(join(config.dataDir, 'cluster-root.crt'), 'utf8');
    tokenFile = secrets.adminTokenFile;
    token = readFileSync(tokenFile, 'utf8').trim();
    psk = new Uint8Array(Buffer.from(readFileSync(secrets.pskFile, 'utf8').trim(), 'utf8'));
  });

  after(async () => {
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const host = (): string => devNodes(1, 1, BASE)[0]!.host;
  const get = (path: string): Promise<HttpCallResult> =>
    httpCall(`http://${host()}:${DEV_PORTS.http}${path}`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, localAddress: CLIENT });
  const https = (method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, auth: string | null = `Bearer ${token}`): Promise<HttpCallResult> =>
    httpCall(`https://${host()}:${DEV_PORTS.https}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: auth }) },
      ...(body === undefined ? {} : { body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) }),
      timeoutMs: 20_000,
      maxResponseBytes: 1 << 20,
      ca: root,
      serverNode: true,
      localAddress: CLIENT,
    });
  const file = (name: string, content: string | Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  /** A registration through the public route, as a joining node sends it (docs/spec.md §3.2). */
  async function register(nodeId: string, joinToken?: string): Promise<HttpCallResult> {
    const nonce = randomBytes(32);
    const bundle = verifyCaBundle({ response: jsonOf(await get(`/api/v1/ca?nonce=${nonce.toString('base64url')}`)) as CaBundleResponseBody, psk, clientNonce: nonce });
    clusterId = bundle.clusterId;
    const keys = await generateNodeKeys({ dataDir: mkdtempSync(join(dir, 'keys-')) });
    const built = buildRegistrationRequest({
      clusterId: bundle.clusterId, nodeId, az: 'az1', addresses: { api: `${EXTRA}:8443`, raft: `${EXTRA}:7480` },
      ...makeNodeCsrs({ keys, nodeId, az: 'az1', hosts: [EXTRA] }),
      auth: joinToken === undefined ? { psk, serverNonce: bundle.serverNonce } : { joinToken }, nowMs: Date.now(),
    });
    return https('POST', '/api/v1/registrations', Buffer.from(built.body).toString('utf8'), built.authorization);
  }

  async function crlText(issuerId: string, serials: string[]): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const crl = await get(`/crl/${issuerId}.crl`);
      if (crl.status === 200) {
        const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', file(`${issuerId}.crl`, crl.body), '-noout', '-text'], { encoding: 'utf8' });
        if (serials.every((s) => text.toUpperCase().includes(s.toUpperCase()))) return text;
      }
      if (Date.now() > deadline) throw new Error(`CRL of ${issuerId} never listed ${serials.join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('docs/spec.md §8.5: every admin route without the admin token is 401 ERR_UNAUTHORIZED, with a wrong one 403 ERR_FORBIDDEN', async () => {
    const routes: ['PUT' | 'DELETE' | 'POST', string][] = [
      ['DELETE', '/api/v1/nodes/someone'],
      ['PUT', '/api/v1/profiles/restricted'],
      ['DELETE', '/api/v1/profiles/restricted'],
      ['POST', '/api/v1/join-tokens'],
    ];
    for (const [method, path] of routes) {
      expect(codeOf(await https(method, path, {}, null)), `${method} ${path}`).to.deep.equal([401, 'ERR_UNAUTHORIZED']);
      expect(codeOf(await https(method, path, {}, 'Bearer not-the-admin-token')), `${method} ${path}`).to.deep.equal([403, 'ERR_FORBIDDEN']);
    }
    // RFC 7235 §2.1: the scheme is case-insensitive; the token is not.
    const bad = { name: 'x' };
    expect(codeOf(await https('PUT', '/api/v1/profiles/x', bad, `bearer ${token}`))[1], 'lower-case scheme authenticates').to.equal('ERR_PROFILE_INVALID');
    expect(codeOf(await https('PUT', '/api/v1/profiles/x', bad, `BEARER ${token}`))[1]).to.equal('ERR_PROFILE_INVALID');
    expect(codeOf(await https('PUT', '/api/v1/profiles/x', bad, `Bearer ${token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase()}`))).to.deep.equal([403, 'ERR_FORBIDDEN']);
  });

  it('GET /api/v1/nodes/:id (plain HTTP, public): the registered node with the TLS certificate it serves; unknown 404 ERR_NODE_UNKNOWN, a bad id 400 naming it', async () => {
    const nodeId = handle.nodeId;
    const r = await get(`/api/v1/nodes/${nodeId}`);
    expect(r.status).to.equal(200);
    const body = jsonOf(r) as { nodeId: string; az: string; addresses: { api: string }; tlsCertificatePem: string };
    expect([body.nodeId, body.az, body.addresses.api]).to.deep.equal([nodeId, 'az1', `${host()}:${DEV_PORTS.https}`]);
    const served = readFileSync(join(dir, 'data', devNodes(1, 1, BASE)[0]!.name, 'node-tls.crt'), 'utf8');
    expect(new X509Certificate(body.tlsCertificatePem).fingerprint256).to.equal(new X509Certificate(served).fingerprint256);
    expect(codeOf(await get('/api/v1/nodes/no-such-node'))).to.deep.equal([404, 'ERR_NODE_UNKNOWN']);
    const bad = await get(`/api/v1/nodes/${'x'.repeat(129)}`);
    expect(codeOf(bad)).to.deep.equal([400, 'ERR_INPUT_INVALID']);
    expect((jsonOf(bad) as { error: { field?: string } }).error.field).to.equal('id');
  });

  it('docs/spec.md §9.1 node removal: ICA and TLS certificates revoked (CRL, openssl), map shows it revoked, its id cannot register again', async () => {
    const registered = await register('n-extra');
    expect(registered.status, registered.body.toString()).to.equal(201);
    const members = (): string[] => { const c = handle.node.consensus.status().local.confState; return [...c.voters, ...c.learners]; };
    expect(members()).to.include('n-extra');
    const removed = await https('DELETE', '/api/v1/nodes/n-extra');
    expect(removed.status, removed.body.toString()).to.equal(200);
    const { revoked } = jsonOf(removed) as { revoked: { issuerId: string; serialHex: string }[] };
    expect(revoked).to.have.length(2);
    // The local leader took the removed node out of its group (it was a learner).
    expect(members()).to.not.include('n-extra');
    // Both are signed by the AZ ICA; its CRL (refreshed by the local leader) lists both serials.
    for (const issuerId of new Set(revoked.map((r) => r.issuerId))) {
      const text = await crlText(issuerId, revoked.filter((r) => r.issuerId === issuerId).map((r) => r.serialHex));
      expect(text).to.match(/Cessation Of Operation/);
    }
    const map = jsonOf(await get('/api/v1/clusterMap?since=0')) as { nodes: { nodeId: string; status: string }[] };
    expect(map.nodes.find((n) => n.nodeId === 'n-extra')?.status).to.equal('revoked');
    expect(codeOf(await register('n-extra'))).to.deep.equal([403, 'ERR_NODE_REVOKED']);
    expect(codeOf(await https('DELETE', '/api/v1/nodes/n-extra'))).to.deep.equal([404, 'ERR_NODE_UNKNOWN']);
  });

  it('profiles: a set profile that forbids a SAN domain refuses it with ERR_SAN_FORBIDDEN and stores nothing; removal restores the unknown profile', async () => {
    const base = BUILTIN_PROFILES.serverLeaf;
    const restricted = { ...base, name: 'restricted', san: { ...base.san, dns: { allowedDomains: ['.allowed.example'], allowWildcard: false } } };
    const invalid = await https('PUT', '/api/v1/profiles/restricted', { ...restricted, keyUsage: [] });
    expect(codeOf(invalid)[1]).to.equal('ERR_PROFILE_INVALID');
    const set = await https('PUT', '/api/v1/profiles/restricted', restricted);
    expect(set.status, set.body.toString()).to.equal(200);
    const csr = (cn: string): string =>
      toPem(buildCsr({ subject: `CN=${cn}`, privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, sans: [{ type: 'dns', value: cn }] }), 'CERTIFICATE REQUEST');
    const store = handle.node.app.store;
    const ownIca = (await store.cas()).find((c) => c.role === 'node' && c.nodeId === handle.nodeId)!;
    const stored = async (): Promise<number> => (await store.listCertificates(ownIca.issuerId)).length;
    const before = await stored();
    const refused = await https('POST', '/api/v1/certificates', { csr: csr('forbidden.example'), profile: 'restricted' });
    const [status, code] = codeOf(refused);
    expect(status).to.be.within(400, 499);
    expect(code).to.equal('ERR_SAN_FORBIDDEN');
    expect(await stored()).to.equal(before);
    const ok = await https('POST', '/api/v1/certificates', { csr: csr('www.allowed.example'), profile: 'restricted' });
    expect(ok.status, ok.body.toString()).to.equal(201);
    const removed = await https('DELETE', '/api/v1/profiles/restricted');
    expect(removed.status, removed.body.toString()).to.equal(200);
    expect(codeOf(await https('DELETE', '/api/v1/profiles/restricted'))).to.deep.equal([404, 'ERR_PROFILE_UNKNOWN']);
    expect(codeOf(await https('POST', '/api/v1/certificates', { csr: csr('www.allowed.example'), profile: 'restricted' }))).to.deep.equal([404, 'ERR_PROFILE_UNKNOWN']);
  });

  it('RFC 7519 join token: returned once, verifies with the configured key for its AZ and cluster; unknown AZ refused', async () => {
    const answer = await https('POST', '/api/v1/join-tokens', { az: 'az1', ttlSeconds: 600 });
    expect(answer.status, answer.body.toString()).to.equal(201);
    const issued = jsonOf(answer) as { token: string; tokenId: string; expiresAt: string };
    const claims = await verifyJoinToken(issued.token, Buffer.from(joinKey, 'utf8'), { nowSeconds: Math.floor(Date.now() / 1000), az: 'az1', clusterId });
    expect(claims.jti).to.equal(issued.tokenId);
    expect(claims.exp - claims.iat).to.equal(600);
    // The log records the token's id, AZ and expiry (never the token itself).
    expect(await handle.node.app.store.getJoinToken(issued.tokenId)).to.include({ az: 'az1', expiresAt: Date.parse(issued.expiresAt) });
    const refused = await verifyJoinToken(issued.token, randomBytes(32), { nowSeconds: Math.floor(Date.now() / 1000), az: 'az1', clusterId }).then(
      () => expect.fail('a token verified under another key'),
      (e: unknown) => e,
    );
    expect(refused).to.have.property('code', 'ERR_AUTH_TOKEN_INVALID');
    expect(codeOf(await https('POST', '/api/v1/join-tokens', { az: 'az9' }))).to.deep.equal([404, 'ERR_AZ_UNKNOWN']);
    expect(codeOf(await https('POST', '/api/v1/join-tokens', { az: 'az1', ttlSeconds: 0 }))).to.deep.equal([400, 'ERR_INPUT_INVALID']);
  });

  it('docs/spec.md §3.9.2 join token: registers a node once; the same token again is ERR_AUTH_TOKEN_USED and registers nothing', async () => {
    const minted = jsonOf(await https('POST', '/api/v1/join-tokens', { az: 'az1', ttlSeconds: 600 })) as { token: string };
    const first = await register('joined-by-token-1', minted.token);
    expect(first.status, first.body.toString()).to.equal(201);
    const nodesBefore = (await handle.node.app.store.nodes()).length;
    expect(codeOf(await register('joined-by-token-2', minted.token))).to.deep.equal([401, 'ERR_AUTH_TOKEN_USED']);
    expect((await handle.node.app.store.nodes()).length).to.equal(nodesBefore);
    expect(await handle.node.app.store.getNode('joined-by-token-2')).to.equal(undefined);
  });

  it('docs/spec.md §5.8 CLI `adrestia-pki renew`: new local key (0600), authenticated by the current certificate, same SANs; openssl verifies', async () => {
    const rootFile = file('renew-root.pem', root);
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const csr = toPem(buildCsr({ subject: 'CN=renew-cli.example', privateKey: key, sans: [{ type: 'dns', value: 'renew-cli.example' }] }), 'CERTIFICATE REQUEST');
    const current = jsonOf(await https('POST', '/api/v1/certificates', { csr, profile: 'serverClientLeaf' })) as { serialHex: string; chainPem: string };
    const certFile = file('renew-current.chain.pem', current.chainPem);
    const keyFile = file('renew-current.key', key.export({ format: 'pem', type: 'pkcs8' }));
    const out = join(dir, 'renewed-cli');
    const argv = ['--conditions=source', '--import', 'tsx', CLI_PATH, 'renew', '--url', `https://${host()}:${DEV_PORTS.https}`, '--ca', rootFile, '--cert', certFile, '--key', keyFile, '--out', out, '--from', CLIENT];
    const result = await new Promise<{ status: number; stderr: string }>((resolve) =>
      execFile(process.execPath, argv, { encoding: 'utf8', timeout: 60_000 }, (err, _stdout, stderr) => resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stderr })),
    );
    expect(result.status, result.stderr).to.equal(0);
    expect(statSync(`${out}.key`).mode & 0o777).to.equal(0o600);
    const v = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', rootFile, '-untrusted', `${out}.chain.pem`, `${out}.crt`], { encoding: 'utf8' });
    expect(v.stdout + v.stderr).to.include(': OK');
    const san = spawnSync('openssl', ['x509', '-in', `${out}.crt`, '-noout', '-ext', 'subjectAltName', '-serial'], { encoding: 'utf8' }).stdout;
    expect(san).to.include('DNS:renew-cli.example');
    expect(san.toLowerCase()).not.to.include(current.serialHex);
  });

  it('CLI `adrestia-pki cluster`: token, set-profile, remove-profile, map; a refused operation exits 1 naming its code', async () => {
    const rootFile = file('cli-root.pem', root);
    // Asynchronous: the server answering the CLI runs in this process.
    const cli = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const argv = ['--conditions=source', '--import', 'tsx', CLI_PATH, 'cluster', ...args, '--url', `https://${host()}:${DEV_PORTS.https}`, '--ca', rootFile, '--token-file', tokenFile, '--from', CLIENT];
        execFile(process.execPath, argv, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
          resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
        });
      });
    const minted = await cli(['token', '--az', 'az1', '--ttl', '120']);
    expect(minted.status, minted.stderr).to.equal(0);
    const claims = await verifyJoinToken(minted.stdout.trim(), Buffer.from(joinKey, 'utf8'), { nowSeconds: Math.floor(Date.now() / 1000), az: 'az1', clusterId: (await handle.node.caBundle()).clusterId });
    expect(claims.exp - claims.iat).to.equal(120);
    const profile = { ...BUILTIN_PROFILES.serverLeaf, name: 'cliProfile' };
    expect((await cli(['set-profile', 'cliProfile', file('cli-profile.json', JSON.stringify(profile))])).status).to.equal(0);
    expect((await handle.node.app.store.getProfile('cliProfile'))?.name).to.equal('cliProfile');
    expect((await cli(['remove-profile', 'cliProfile'])).status).to.equal(0);
    expect(await handle.node.app.store.getProfile('cliProfile')).to.equal(undefined);
    const map = await cli(['map']);
    expect(map.status, map.stderr).to.equal(0);
    expect((JSON.parse(map.stdout) as { nodes: { nodeId: string }[] }).nodes.map((n) => n.nodeId)).to.include(handle.nodeId);
    const refused = await cli(['remove-node', 'no-such-node']);
    expect([refused.status, refused.stderr]).to.satisfy(([status, stderr]: [number, string]) => status === 1 && stderr.includes('ERR_NODE_UNKNOWN'));
    expect((await cli(['bogus'])).status).to.equal(2);
  });
});
