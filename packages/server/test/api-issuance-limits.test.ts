// Narrow credentials over HTTPS, on two real `serve` runtimes in one AZ (LevelDB on disk, real
// sockets on 127.231.0.0/16, dev base 230):
// - provisioner rate limits (docs/architecture.md §16.1), set with `adrestia-pki cluster
//   provisioner add --rate-limit`, shown by `list`, and judged in the global log, so the node
//   that did not issue the first two refuses the third alike;
// - the names a dev cluster's built-in profiles issue for (§16.2: `allowedDomains` at init).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { BUILTIN_PROFILES, buildCsr, parseSanText, signProvisionerToken, toPem } from '@adrestia/pki-core';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { CLI_PATH } from '../src/dev/processes.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';
import { handKey, HandAcme } from './helpers/acme-hand-client.ts';
import { pollFor, waitFor } from './helpers/wait.ts';

const BASE = 230; // dev layout: AZ az1 is 127.231.0.0/16, its nodes 127.231.0.11 and .12
const CLIENT = '127.231.0.200';

type ErrorBody = { error: { code: string; message: string } };

describe('issuance limits over HTTPS: provisioner rate limits, the allowed names of init', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-rate-'));
  const [first, second] = devNodes(1, 2, BASE) as [ReturnType<typeof devNodes>[0], ReturnType<typeof devNodes>[0]];
  const handles: ServeHandle[] = [];
  const signer = generateKeyPairSync('ed25519');
  let rootFile = '';
  let tokenFile = '';
  let clusterId = '';

  before(async () => {
    const secrets = await writeSecrets(dir);
    const founder = await loadConfig(await writeNodeConfig(dir, first, 1, BASE, secrets, 'silent'), { ...process.env });
    handles.push(await serve(founder, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true }));
    rootFile = join(founder.dataDir, 'cluster-root.crt');
    tokenFile = secrets.adminTokenFile;
    const joiner = await loadConfig(await writeNodeConfig(dir, second, 1, BASE, secrets, 'silent'), { ...process.env });
    const handle = await serve(joiner, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: false });
    handles.push(handle);
    await waitFor('the second node is ready', () => handle.node.status().ready, 60_000);
    clusterId = (await handles[0]!.node.caBundle()).clusterId;
  });

  after(async () => {
    for (const h of handles.reverse()) await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const argv = ['--conditions=source', '--import', 'tsx', CLI_PATH, 'cluster', 'provisioner', ...args, '--url', `https://${first.host}:${DEV_PORTS.https}`, '--ca', rootFile, '--token-file', tokenFile, '--from', CLIENT];
      execFile(process.execPath, argv, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });
  const mint = (subject: string): Promise<string> =>
    signProvisionerToken({ privateKey: signer.privateKey, provisioner: 'deploy', audience: clusterId, subject, sans: [`dns:${subject}`], nowSeconds: Math.floor(Date.now() / 1000), lifetimeSeconds: 300 });
  const csrFor = (cn: string, sans: string[]): string => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return toPem(buildCsr({ subject: `CN=${cn}`, privateKey, sans: sans.map((t, i) => parseSanText(t, `san[${i}]`)) }), 'CERTIFICATE REQUEST');
  };
  const post = (host: string, path: string, bearer: string, body: unknown): Promise<HttpCallResult> =>
    httpCall(`https://${host}:${DEV_PORTS.https}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: Buffer.from(JSON.stringify(body)),
      timeoutMs: 20_000,
      maxResponseBytes: 1 << 20,
      ca: readFileSync(rootFile, 'utf8'),
      serverNode: true,
      localAddress: CLIENT,
    });
  const issueOn = (host: string, jwt: string, subject: string): Promise<HttpCallResult> =>
    post(host, '/api/v1/certificates', jwt, { profile: 'serverLeaf', lifetimeSeconds: 3600, csr: csrFor(subject, [`dns:${subject}`]) });

  it('the CLI sets the limits (naming a bad flag) and list shows them in the policy', async () => {
    const keyFile = join(dir, 'deploy.pub.pem');
    writeFileSync(keyFile, signer.publicKey.export({ format: 'pem', type: 'spki' }));
    const common = ['--key', keyFile, '--dns', '.svc.test', '--profile', 'serverLeaf', '--max-lifetime', '1d'];
    const bad = await cli(['add', 'deploy', ...common, '--rate-limit', '2 per second']);
    expect([bad.status !== 0, bad.stderr.includes('--rate-limit')], bad.stderr).to.deep.equal([true, true]);
    const added = await cli(['add', 'deploy', ...common, '--rate-limit', '2,1/s', '--identity-rate-limit', '10,60/h']);
    expect(added.status, added.stderr).to.equal(0);
    const listed = await cli(['list']);
    expect(listed.status, listed.stderr).to.equal(0);
    const deploy = (JSON.parse(listed.stdout) as { provisioners: { name: string; policy: { rateLimit?: unknown } }[] }).provisioners.find((p) => p.name === 'deploy');
    expect(deploy?.policy.rateLimit).to.deep.equal({ perProvisioner: { burst: 2, perSecond: 1 }, perIdentity: { burst: 10, perHour: 60 } });
  });

  it('burst 2: two issue on one node, the third is refused on the other node (429, Retry-After), and issues after the refill', async () => {
    const jwts = await Promise.all(['a', 'b', 'c'].map((s) => mint(`${s}.svc.test`)));
    const two = await Promise.all([issueOn(first.host, jwts[0]!, 'a.svc.test'), issueOn(first.host, jwts[1]!, 'b.svc.test')]);
    for (const r of two) expect(r.status, r.body.toString()).to.equal(201);
    const third = await issueOn(second.host, jwts[2]!, 'c.svc.test');
    const error = (jsonOf(third) as ErrorBody | undefined)?.error;
    expect([third.status, error?.code], third.body.toString()).to.deep.equal([429, 'ERR_RATE_LIMITED']);
    expect(error?.message).to.match(/^provisioner deploy reached its rate limit \(burst 2, 1\/s\); retry in \d+ s$/);
    const retryAfter = Number(third.headers['retry-after']);
    expect(retryAfter).to.be.within(1, 2);
    // The refusal spent nothing: the same token issues once the bucket has refilled.
    await sleep(retryAfter * 1000 + 200);
    const again = await issueOn(second.host, jwts[2]!, 'c.svc.test');
    expect(again.status, again.body.toString()).to.equal(201);
  });

  it("mTLS renewal counts as the certificate's own provisioner: its renewals and their renewals, on the AZ's share; 429 on the other node", async () => {
    const renewer = generateKeyPairSync('ed25519');
    const put = await httpCall(`https://${first.host}:${DEV_PORTS.https}/api/v1/provisioners/renewer`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` },
      body: Buffer.from(JSON.stringify({ publicKey: renewer.publicKey.export({ format: 'jwk' }), policy: { dnsSuffixes: ['.svc.test'], profiles: ['serverClientLeaf'], maxLifetimeSeconds: 86_400, rateLimit: { perProvisioner: { burst: 2, perSecond: 1 } } } })),
      timeoutMs: 20_000,
      maxResponseBytes: 1 << 20,
      ca: readFileSync(rootFile, 'utf8'),
      serverNode: true,
      localAddress: CLIENT,
    });
    expect(put.status, put.body.toString()).to.equal(201);
    const jwt = await signProvisionerToken({ privateKey: renewer.privateKey, provisioner: 'renewer', audience: clusterId, subject: 'r.svc.test', sans: ['dns:r.svc.test'], nowSeconds: Math.floor(Date.now() / 1000), lifetimeSeconds: 300 });
    const newKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    let key = newKey();
    const csrWith = (k: ReturnType<typeof newKey>): string => toPem(buildCsr({ subject: 'CN=r.svc.test', privateKey: k, sans: [parseSanText('dns:r.svc.test', 'san')] }), 'CERTIFICATE REQUEST');
    const issued = await pollFor(
      'the provisioner reaches the second node',
      async () => {
        const r = await post(second.host, '/api/v1/certificates', jwt, { profile: 'serverClientLeaf', lifetimeSeconds: 3600, csr: csrWith(key) });
        return r.status === 401 ? null : r;
      },
      20_000,
    );
    expect(issued.status, issued.body.toString()).to.equal(201);
    let chain = (jsonOf(issued) as { chainPem: string }).chainPem;
    type Key = ReturnType<typeof newKey>;
    const renewWith = (host: string, current: { chain: string; key: Key }, next: Key): Promise<HttpCallResult> =>
      httpCall(`https://${host}:${DEV_PORTS.https}/api/v1/certificates/renew`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ csr: csrWith(next) })),
        timeoutMs: 20_000,
        maxResponseBytes: 1 << 20,
        ca: readFileSync(rootFile, 'utf8'),
        cert: current.chain,
        key: current.key.export({ format: 'pem', type: 'pkcs8' }),
        serverNode: true,
        localAddress: CLIENT,
      });
    let last: { current: { chain: string; key: Key }; next: Key; serialHex: string } | null = null;
    const renewOn = async (host: string): Promise<HttpCallResult> => {
      const current = { chain, key };
      const next = newKey();
      const r = await renewWith(host, current, next);
      if (r.status === 201) {
        const body = jsonOf(r) as { chainPem: string; serialHex: string };
        [chain, key, last] = [body.chainPem, next, { current, next, serialHex: body.serialHex }];
      }
      return r;
    };
    // The second renewal renews the first one's certificate: the charge is carried forward.
    for (const n of [1, 2]) expect((await renewOn(first.host)).status, `renewal ${n}`).to.equal(201);
    const third = await renewOn(second.host);
    const error = (jsonOf(third) as ErrorBody | undefined)?.error;
    expect([third.status, error?.code], third.body.toString()).to.deep.equal([429, 'ERR_RATE_LIMITED']);
    expect(error?.message).to.match(/^provisioner renewer reached its rate limit for renewals \(this AZ's share: burst 2, 1\/s\); retry in \d+ s$/);
    // A retry of the second renewal (same certificate, same new key) still gets its certificate: not charged again.
    const retried = await renewWith(second.host, last!.current, last!.next);
    expect([retried.status, (jsonOf(retried) as { serialHex?: string }).serialHex], retried.body.toString()).to.deep.equal([200, last!.serialHex]);
    const retryAfter = Number(third.headers['retry-after']);
    expect(retryAfter).to.be.within(1, 2);
    await sleep(retryAfter * 1000 + 200);
    expect((await renewOn(second.host)).status).to.equal(201);
  });

  describe('allowedDomains / allowedIpCidrs of init: the dev cluster defaults', () => {
    const admin = (): string => readFileSync(tokenFile, 'utf8').trim();
    const issueAdmin = (sans: string[], profile = 'serverLeaf'): Promise<HttpCallResult> =>
      post(second.host, '/api/v1/certificates', admin(), { profile, csr: csrFor('svc.example', sans), sans });
    const refusal = (r: HttpCallResult): [number, string | undefined, string | undefined] => {
      const e = (jsonOf(r) as ErrorBody | undefined)?.error;
      return [r.status, e?.code, e?.message];
    };

    it('a built-in profile refuses a public name or address: 403 ERR_NAME_NOT_ALLOWED naming it and the policy', async () => {
      expect(refusal(await issueAdmin(['dns:svc.example', 'dns:www.google.com']))).to.deep.equal([
        403,
        'ERR_NAME_NOT_ALLOWED',
        'sans[1]: "www.google.com" is outside the names this cluster issues for under its built-in profiles (allowedDomains: .test, .example, localhost)',
      ]);
      const ip = refusal(await issueAdmin(['dns:svc.example', 'ip:8.8.8.8']));
      expect(ip.slice(0, 2)).to.deep.equal([403, 'ERR_NAME_NOT_ALLOWED']);
      expect(ip[2]).to.match(/^sans\[1\]: "8\.8\.8\.8" is outside .*\(allowedIpCidrs: 127\.0\.0\.0\/8, ::1\/128, 127\.231\.0\.0\/16\)$/);
      const uri = refusal(await issueAdmin(['dns:svc.example', 'uri:https://www.google.com/x']));
      expect(uri.slice(0, 3)).to.deep.equal([403, 'ERR_NAME_NOT_ALLOWED', 'sans[1]: "www.google.com" (of uri SAN "https://www.google.com/x") is outside the names this cluster issues for under its built-in profiles (allowedDomains: .test, .example, localhost)']);
    });

    it('names under the defaults issue: .example, .test, localhost, loopback addresses', async () => {
      const r = await issueAdmin(['dns:svc.example', 'dns:a.svc.test', 'dns:localhost', 'ip:127.0.0.1', 'uri:spiffe://prod.example/web']);
      expect(r.status, r.body.toString()).to.equal(201);
    });

    it('a profile an admin set is its own policy: it may issue outside the defaults', async () => {
      const base = BUILTIN_PROFILES.serverLeaf;
      const set = await httpCall(`https://${first.host}:${DEV_PORTS.https}/api/v1/profiles/public`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin()}` },
        body: Buffer.from(JSON.stringify({ ...base, name: 'public', san: { ...base.san, dns: { allowedDomains: ['.google.com'], allowWildcard: false } } })),
        timeoutMs: 20_000,
        maxResponseBytes: 1 << 20,
        ca: readFileSync(rootFile, 'utf8'),
        serverNode: true,
        localAddress: CLIENT,
      });
      expect(set.status, set.body.toString()).to.equal(200);
      const r = await pollFor(
        'the profile set through the global log reaches the second node',
        async () => {
          const answer = await post(second.host, '/api/v1/certificates', admin(), { profile: 'public', csr: csrFor('www.google.com', ['dns:www.google.com']) });
          return answer.status === 404 ? null : answer;
        },
        20_000,
      );
      expect(r.status, r.body.toString()).to.equal(201);
    });

    it('ACME newOrder under the default directory (serverLeaf) refuses the same names up front: rejectedIdentifier, no order', async () => {
      const acme = new HandAcme(`https://${second.host}:${DEV_PORTS.https}/acme/directory`, readFileSync(rootFile, 'utf8'), CLIENT);
      await acme.open();
      const key = await handKey();
      expect((await acme.newAccount(key)).status).to.equal(201);
      const refused = await acme.post(acme.directory['newOrder']!, { identifiers: [{ type: 'dns', value: 'svc.example' }, { type: 'dns', value: 'www.google.com' }] }, key);
      expect([refused.status, refused.json['type'], refused.headers['location']]).to.deep.equal([400, 'urn:ietf:params:acme:error:rejectedIdentifier', undefined]);
      expect(refused.json['detail']).to.equal('identifiers[1]: "www.google.com" is outside the names this cluster issues for under its built-in profiles (allowedDomains: .test, .example, localhost)');
      const allowed = await acme.post(acme.directory['newOrder']!, { identifiers: [{ type: 'dns', value: 'svc.example' }] }, key);
      expect(allowed.status, allowed.text).to.equal(201);
    });
  });
});
