// Provisioners over HTTPS, in process: `serve` with a real PkiNode (LevelDB on disk, real sockets
// on 127.180.0.0/16, dev base 180), managed with `adrestia-pki cluster provisioner …`.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildCsr, parseSanText, signProvisionerToken, toPem } from '@adrestia/pki-core';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { CLI_PATH } from '../src/dev/processes.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';

const BASE = 180; // dev layout: AZ az1 is 127.181.0.0/16, the node 127.181.0.11
const CLIENT = '127.181.0.200';

type ErrorBody = { error: { code: string; message: string } };
const codeOf = (r: HttpCallResult): [number, string | undefined] => [r.status, (jsonOf(r) as ErrorBody | undefined)?.error?.code];

describe('provisioners over HTTPS: cluster provisioner add, list, remove', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-prov-'));
  let handle: ServeHandle;
  let rootFile: string;
  let token: string;
  let tokenFile: string;
  const host = (): string => devNodes(1, 1, BASE)[0]!.host;

  before(async () => {
    const secrets = await writeSecrets(dir);
    const configPath = await writeNodeConfig(dir, devNodes(1, 1, BASE)[0]!, 1, BASE, secrets, 'silent');
    const config = await loadConfig(configPath, { ...process.env });
    handle = await serve(config, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true });
    rootFile = join(config.dataDir, 'cluster-root.crt');
    tokenFile = secrets.adminTokenFile;
    token = readFileSync(tokenFile, 'utf8').trim();
  });

  after(async () => {
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const https = (method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown, auth: string | null = `Bearer ${token}`): Promise<HttpCallResult> =>
    httpCall(`https://${host()}:${DEV_PORTS.https}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: auth }) },
      ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
      timeoutMs: 20_000,
      maxResponseBytes: 1 << 20,
      ca: readFileSync(rootFile, 'utf8'),
      serverNode: true,
      localAddress: CLIENT,
    });
  const cli = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const argv = ['--conditions=source', '--import', 'tsx', CLI_PATH, 'cluster', 'provisioner', ...args, '--url', `https://${host()}:${DEV_PORTS.https}`, '--ca', rootFile, '--token-file', tokenFile, '--from', CLIENT];
      execFile(process.execPath, argv, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });

  it('the provisioner routes need the admin token (401 without, 403 with a wrong one)', async () => {
    for (const [method, path] of [['GET', '/api/v1/provisioners'], ['PUT', '/api/v1/provisioners/x'], ['DELETE', '/api/v1/provisioners/x']] as const) {
      expect(codeOf(await https(method, path, {}, null)), `${method} ${path}`).to.deep.equal([401, 'ERR_UNAUTHORIZED']);
      expect(codeOf(await https(method, path, {}, 'Bearer wrong')), `${method} ${path}`).to.deep.equal([403, 'ERR_FORBIDDEN']);
    }
  });

  it('add refuses a bad key or policy naming the field, a private JWK, and a name in use', async () => {
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const policy = { dnsSuffixes: ['.svc.test'], profiles: ['server'], maxLifetimeSeconds: 3600 };
    const refusal = async (name: string, body: unknown): Promise<[number, string | undefined, string | undefined]> => {
      const r = await https('PUT', `/api/v1/provisioners/${name}`, body);
      const e = (jsonOf(r) as ErrorBody | undefined)?.error;
      return [r.status, e?.code, e?.message.split(':')[0]];
    };
    expect(await refusal('bad', { publicKey: { kty: 'RSA' }, policy })).to.deep.equal([400, 'ERR_INPUT_INVALID', 'publicKey']);
    expect(await refusal('bad', { publicKey: { ...jwk, d: 'AAAA' }, policy })).to.deep.equal([400, 'ERR_INPUT_INVALID', 'publicKey']);
    expect(await refusal('bad', { publicKey: jwk, policy: { ...policy, ipCidrs: ['10.0.0.1/8'] } })).to.deep.equal([400, 'ERR_INPUT_INVALID', 'policy.ipCidrs[0]']);
    expect(await refusal('bad', { publicKey: jwk, policy: { ...policy, maxLifetimeSeconds: 0 } })).to.deep.equal([400, 'ERR_INPUT_INVALID', 'policy.maxLifetimeSeconds']);
    expect(await refusal('no%20spaces', { publicKey: jwk, policy })).to.deep.equal([400, 'ERR_INPUT_INVALID', 'name']);
    expect((await https('PUT', '/api/v1/provisioners/twice', { publicKey: jwk, policy })).status).to.equal(201);
    expect(await refusal('twice', { publicKey: jwk, policy })).to.deep.equal([409, 'ERR_ALREADY_EXISTS', 'provisioner twice already exists']);
  });

  it('the CLI adds a provisioner from a PEM key with its policy flags, lists and removes it', async () => {
    const keyFile = join(dir, 'deploy.pub.pem');
    writeFileSync(keyFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }));
    const added = await cli(['add', 'deploy', '--key', keyFile, '--dns', '.svc.test', '--dns', 'api.example', '--ip', '10.1.0.0/16', '--profile', 'server', '--max-lifetime', '7d']);
    expect(added.status, added.stderr).to.equal(0);
    const listed = await cli(['list']);
    expect(listed.status, listed.stderr).to.equal(0);
    const deploy = (JSON.parse(listed.stdout) as { provisioners: { name: string; publicKey: { kty: string; crv: string }; policy: unknown }[] }).provisioners.find((p) => p.name === 'deploy');
    expect(deploy?.publicKey).to.include({ kty: 'EC', crv: 'P-256' });
    expect(deploy?.policy).to.deep.equal({ dnsSuffixes: ['.svc.test', 'api.example'], ipCidrs: ['10.1.0.0/16'], uriPrefixes: [], profiles: ['server'], maxLifetimeSeconds: 7 * 86_400 });
    const badFlag = await cli(['add', 'other', '--key', keyFile, '--profile', 'server', '--max-lifetime', 'soon']);
    expect([badFlag.status, badFlag.stderr]).to.satisfy(([s, e]: [number, string]) => s !== 0 && e.includes('--max-lifetime'));
    const removed = await cli(['remove', 'deploy']);
    expect(removed.status, removed.stderr).to.equal(0);
    expect(codeOf(await https('DELETE', '/api/v1/provisioners/deploy'))).to.deep.equal([404, 'ERR_NOT_FOUND']);
    const after = jsonOf(await https('GET', '/api/v1/provisioners')) as { provisioners: { name: string }[] };
    expect(after.provisioners.map((p) => p.name)).to.deep.equal(['twice']);
  });

  describe('issuance with a one-time provisioner token', () => {
    const signer = generateKeyPairSync('ed25519');
    let clusterId = '';
    before(async () => {
      clusterId = (await handle.node.caBundle()).clusterId;
      const policy = { dnsSuffixes: ['.svc.test'], profiles: ['serverLeaf'], maxLifetimeSeconds: 86_400 };
      expect((await https('PUT', '/api/v1/provisioners/ci', { publicKey: signer.publicKey.export({ format: 'jwk' }), policy })).status).to.equal(201);
    });
    const mint = (subject: string, sans: string[]): Promise<string> =>
      signProvisionerToken({ privateKey: signer.privateKey, provisioner: 'ci', audience: clusterId, subject, sans, nowSeconds: Math.floor(Date.now() / 1000), lifetimeSeconds: 300 });
    const csrFor = (cn: string, sans: string[]): string => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return toPem(buildCsr({ subject: `CN=${cn}`, privateKey, sans: sans.map((t, i) => parseSanText(t, `san[${i}]`)) }), 'CERTIFICATE REQUEST');
    };
    const issue = (jwt: string, body: Record<string, unknown>): Promise<HttpCallResult> => https('POST', '/api/v1/certificates', { profile: 'serverLeaf', lifetimeSeconds: 3600, ...body }, `Bearer ${jwt}`);

    it('issues what the token is bound to, once: a second use is 401 ERR_AUTH_TOKEN_USED', async () => {
      const jwt = await mint('a.svc.test', ['dns:a.svc.test']);
      const first = await issue(jwt, { csr: csrFor('a.svc.test', ['dns:a.svc.test']) });
      expect(first.status, first.body.toString()).to.equal(201);
      expect((jsonOf(first) as { certificatePem: string }).certificatePem).to.include('BEGIN CERTIFICATE');
      expect(codeOf(await issue(jwt, { csr: csrFor('a.svc.test', ['dns:a.svc.test']) }))).to.deep.equal([401, 'ERR_AUTH_TOKEN_USED']);
    });

    it('a token bound to one SAN cannot get another (403 ERR_SAN_FORBIDDEN), nor another CN', async () => {
      const jwt = await mint('a.svc.test', ['dns:a.svc.test']);
      expect(codeOf(await issue(jwt, { csr: csrFor('a.svc.test', ['dns:b.svc.test']) }))).to.deep.equal([403, 'ERR_SAN_FORBIDDEN']);
      expect(codeOf(await issue(jwt, { csr: csrFor('a.svc.test', []), sans: ['dns:a.svc.test', 'dns:b.svc.test'] }))).to.deep.equal([403, 'ERR_SAN_FORBIDDEN']);
      expect(codeOf(await issue(jwt, { csr: csrFor('b.svc.test', ['dns:a.svc.test']) }))).to.deep.equal([400, 'ERR_SUBJECT_INVALID']);
    });

    it("a name outside the provisioner's policy is refused even when the token binds it; so is a longer lifetime", async () => {
      const outside = await mint('www.google.com', ['dns:www.google.com']);
      expect(codeOf(await issue(outside, { csr: csrFor('www.google.com', ['dns:www.google.com']) }))).to.deep.equal([403, 'ERR_SAN_FORBIDDEN']);
      const long = await mint('c.svc.test', ['dns:c.svc.test']);
      expect(codeOf(await issue(long, { csr: csrFor('c.svc.test', ['dns:c.svc.test']), lifetimeSeconds: 2 * 86_400 }))).to.deep.equal([400, 'ERR_LIFETIME_INVALID']);
      const foreign = await signProvisionerToken({ privateKey: generateKeyPairSync('ed25519').privateKey, provisioner: 'ci', audience: clusterId, subject: 'd.svc.test', sans: ['dns:d.svc.test'], nowSeconds: Math.floor(Date.now() / 1000), lifetimeSeconds: 300 });
      expect(codeOf(await issue(foreign, { csr: csrFor('d.svc.test', ['dns:d.svc.test']) }))).to.deep.equal([401, 'ERR_AUTH_TOKEN_INVALID']);
    });

    it('adrestia-pki provisioner token mints from a 0600 key file only; issue --token - sends it', async () => {
      const run = (args: string[], stdin = ''): Promise<{ status: number; stdout: string; stderr: string }> =>
        new Promise((resolve) => {
          const child = execFile(process.execPath, ['--conditions=source', '--import', 'tsx', CLI_PATH, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
            resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
          );
          child.stdin?.end(stdin);
        });
      const keyPath = join(dir, 'ci.key');
      writeFileSync(keyPath, signer.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o644 });
      const mintArgs = ['provisioner', 'token', '--key', keyPath, '--name', 'ci', '--cluster-id', clusterId, '--cn', 'e.svc.test', '--san', 'dns:e.svc.test'];
      const loose = await run(mintArgs);
      expect([loose.status, loose.stderr.includes('ERR_KEY_FILE_PERMISSIONS') || loose.stderr.includes('mode 0644')], loose.stderr).to.deep.equal([1, true]);
      chmodSync(keyPath, 0o600);
      const minted = await run(mintArgs);
      expect(minted.status, minted.stderr).to.equal(0);
      const out = join(dir, 'e');
      const issueArgs = ['issue', '--url', `https://${host()}:${DEV_PORTS.https}`, '--ca', rootFile, '--token', '-', '--profile', 'serverLeaf', '--cn', 'e.svc.test', '--san', 'dns:e.svc.test', '--lifetime', '1h', '--out', out, '--from', CLIENT];
      const issued = await run(issueArgs, minted.stdout);
      expect(issued.status, issued.stderr).to.equal(0);
      expect(readFileSync(`${out}.crt`, 'utf8')).to.include('BEGIN CERTIFICATE');
    });
  });
});
