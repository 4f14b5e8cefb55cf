// End-to-end: real `adrestia-pki serve` processes on loopback (a 3-node AZ started as `dev` does),
// certificates checked by OpenSSL, kill -9 of the node holding both leader roles under a steady
// issuance load, bad inputs refused with their codes. Addresses: 127.71.0.0/16 (dev plan, base 70).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { generateNodeKeys, makeNodeCsrs } from '@adrestia/pki-core/node';
import { buildRegistrationRequest, verifyCaBundle, type CaBundleResponseBody } from '@adrestia/pki-core/registration';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { DEV_PORTS } from '../src/dev/layout.ts';
import { CLI_PATH } from '../src/dev/processes.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { e2eClient, type E2eClient } from './helpers/e2e-http.ts';
import { leafCsrPem as csr, normalSerial, opensslCrlSerials, opensslRevocationVerdict, opensslVerifyLeaf, type IssuedLeaf as Issued } from './helpers/e2e-openssl.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 70;
const LOCAL_VIP = '127.71.0.1';
const GLOBAL_VIP = '127.70.10.1';
const CLIENT = '127.71.0.200';
const OUTSIDER = '127.99.0.200';

describe('e2e: a 3-node AZ of real serve processes on loopback', function () {
  this.timeout(120_000);
  let cluster: DevCluster;
  let dir: string;
  let rootPem: string;
  let adminToken: string;
  let client: E2eClient;
  let outsider: E2eClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adrestia-e2e-'));
    cluster = await startDevCluster({ azCount: 1, perAz: 3, dir, base: BASE, logLevel: 'warn', readyTimeoutMs: 60_000 });
    expect(cluster.ok, `nodes ready (logs in ${dir}/logs)`).to.equal(true);
    rootPem = readFileSync(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8');
    adminToken = readFileSync(cluster.secrets.adminTokenFile, 'utf8').trim();
    client = e2eClient({ from: CLIENT, rootPem, adminToken });
    outsider = e2eClient({ from: OUTSIDER, rootPem, adminToken });
  });

  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    await cluster?.stop();
    // Logs stay for a failed run (their path is in the failure message).
    if (!failed && cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  const https = (host: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpCallResult> => client.post(host, path, body, headers);
  const get = (host: string, path: string, from = CLIENT): Promise<HttpCallResult> => (from === OUTSIDER ? outsider : client).get(host, path);
  const verify = (issued: Issued): string => opensslVerifyLeaf(dir, rootPem, issued);

  it('docs/spec.md §3.3, §4: status answers clients of the AZ and clients of no AZ alike; a node naming an unfounded AZ gets 404 ERR_AZ_UNKNOWN', async () => {
    const inside = await get(GLOBAL_VIP, '/api/v1/status');
    expect(inside.status).to.equal(200);
    expect((jsonOf(inside) as { pkiGlobalLeader: boolean }).pkiGlobalLeader).to.equal(true);
    // A client in no AZ is served by the AZ it reached, at any of its nodes.
    const outside = await get(GLOBAL_VIP, '/api/v1/status', OUTSIDER);
    expect(outside.status).to.equal(200);
    const atFollower = await get('127.71.0.12', '/api/v1/clusterMap?since=0', OUTSIDER);
    expect(atFollower.status).to.equal(200);
    // Discovery names its AZ: an AZ the cluster has not founded is told to found it.
    const discovering = await get(GLOBAL_VIP, '/api/v1/status?az=az9', OUTSIDER);
    expect(discovering.status).to.equal(404);
    expect((jsonOf(discovering) as { error: { code: string } }).error.code).to.equal('ERR_AZ_UNKNOWN');
    const map = jsonOf(await get(LOCAL_VIP, '/api/v1/clusterMap?since=0')) as { generation: number; nodes: unknown[] };
    expect(map.nodes).to.have.length(3);
    expect((await get(LOCAL_VIP, `/api/v1/clusterMap?since=${map.generation}`)).status).to.be.oneOf([304, 200]);
  });

  it('issues from openssl req CSRs, at the local VIP and at a follower; openssl verify -x509_strict accepts leaf → node ICA → AZ ICA → root', async () => {
    const d = mkdtempSync(join(dir, 'req-'));
    const opensslCsr = (name: string): string => {
      execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(d, `${name}.key`), '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-out', join(d, `${name}.csr`)], { stdio: 'ignore' });
      return readFileSync(join(d, `${name}.csr`), 'utf8');
    };
    for (const [host, name] of [[LOCAL_VIP, 'vip.example'], ['127.71.0.12', 'follower.example']] as const) {
      const r = await https(host, '/api/v1/certificates', { csr: opensslCsr(name), profile: 'serverLeaf' });
      expect(r.status, r.body.toString()).to.be.oneOf([200, 201]);
      expect(verify(jsonOf(r) as Issued)).to.contain('OK');
    }
    opensslCsr('der.example');
    const der = execFileSync('openssl', ['req', '-in', join(d, 'der.example.csr'), '-outform', 'DER']);
    const raw = await httpCall(`https://${LOCAL_VIP}:${DEV_PORTS.https}/api/v1/certificates?profile=serverLeaf`, {
      method: 'POST', body: der, headers: { 'content-type': 'application/pkcs10', authorization: `Bearer ${adminToken}` },
      timeoutMs: 20_000, maxResponseBytes: 1 << 20, ca: rootPem, serverNode: true, localAddress: CLIENT,
    });
    expect(raw.status, raw.body.toString()).to.be.oneOf([200, 201]);
  });

  it('RFC 5280 §4.2.1.13 / §4.2.2.1: every certificate of the chain names its issuer CRL and certificate on a VIP; with the CRLs fetched there, openssl verify -crl_check_all accepts the leaf', async () => {
    const r = await https(LOCAL_VIP, '/api/v1/certificates', { csr: csr('urls.example'), profile: 'serverLeaf' });
    expect(r.status, r.body.toString()).to.be.oneOf([200, 201]);
    const leaf = jsonOf(r) as Issued;
    const d = mkdtempSync(join(dir, 'urls-'));
    /** The CRL DP and AIA caIssuers URLs a certificate (PEM) carries. */
    const urlsOf = (pem: string, name: string): { crl: URL; ca: URL } => {
      writeFileSync(join(d, name), pem);
      const ext = execFileSync('openssl', ['x509', '-in', join(d, name), '-noout', '-ext', 'crlDistributionPoints,authorityInfoAccess'], { encoding: 'utf8' });
      return {
        crl: new URL(/URI:(http:\/\/\S+\.crl)/.exec(ext)?.[1] ?? 'http://missing/'),
        ca: new URL(/CA Issuers - URI:(http:\/\/\S+\.crt)/.exec(ext)?.[1] ?? 'http://missing/'),
      };
    };
    const fetchDer = async (url: URL, what: string): Promise<Buffer> =>
      pollFor(what, async () => {
        const g = await get(url.hostname, url.pathname);
        return g.status === 200 ? g.body : null;
      }, 30_000, 250);
    // Leaf → node ICA (its CRL and certificate on the AZ local VIP).
    const leafUrls = urlsOf(leaf.certificatePem, 'leaf.pem');
    // Its CRL is the partition of its serial (docs/architecture.md §4.5: `<issuer>-p<k>.crl`, 256 partitions).
    const partition = new RegExp(`^http://${LOCAL_VIP.replace(/\./g, '\\.')}:${DEV_PORTS.http}/crl/${leaf.issuerId}-p(\\d+)\\.crl$`).exec(leafUrls.crl.href);
    expect(Number(partition?.[1] ?? -1), leafUrls.crl.href).to.be.within(0, 255);
    expect(leafUrls.ca.href).to.equal(`http://${LOCAL_VIP}:${DEV_PORTS.http}/ca/${leaf.issuerId}.crt`);
    const nodeIcaPem = execFileSync('openssl', ['x509', '-inform', 'DER'], { input: await fetchDer(leafUrls.ca, 'the node ICA at the AIA URL'), encoding: 'utf8' });
    // Node ICA → AZ ICA (on the AZ local VIP); AZ ICA → root (its CRL on the cluster VIP).
    const icaUrls = urlsOf(nodeIcaPem, 'node-ica.pem');
    expect(icaUrls.crl.hostname).to.equal(LOCAL_VIP);
    const azIcaPem = execFileSync('openssl', ['x509', '-inform', 'DER'], { input: await fetchDer(icaUrls.ca, 'the AZ ICA at the AIA URL'), encoding: 'utf8' });
    const azUrls = urlsOf(azIcaPem, 'az-ica.pem');
    expect(azUrls.crl.hostname).to.equal(GLOBAL_VIP);
    const crls = [leafUrls.crl, icaUrls.crl, azUrls.crl];
    const crlFiles: string[] = [];
    for (const [i, url] of crls.entries()) {
      const pem = execFileSync('openssl', ['crl', '-inform', 'DER', '-outform', 'PEM'], { input: await fetchDer(url, `the CRL at ${url.href}`), encoding: 'utf8' });
      crlFiles.push(join(d, `${i}.crl.pem`));
      writeFileSync(crlFiles[i]!, pem);
    }
    writeFileSync(join(d, 'root.pem'), rootPem);
    writeFileSync(join(d, 'chain.pem'), nodeIcaPem + azIcaPem);
    const check = spawnSync(
      'openssl',
      ['verify', '-x509_strict', '-crl_check_all', '-CAfile', join(d, 'root.pem'), '-untrusted', join(d, 'chain.pem'), ...crlFiles.flatMap((f) => ['-CRLfile', f]), join(d, 'leaf.pem')],
      { encoding: 'utf8' },
    );
    expect(`${check.stdout}${check.stderr}`).to.match(/leaf\.pem: OK/);
    // RFC 5280 §5.2.5: the leaf's second distribution point is the AZ ICA's indirect CRL (cRLIssuer:
    // the AZ ICA), served on the same VIP; OpenSSL with extended CRL support takes it alone.
    const leafExt = execFileSync('openssl', ['x509', '-in', join(d, 'leaf.pem'), '-noout', '-ext', 'crlDistributionPoints'], { encoding: 'utf8' });
    // The partition of the indirect CRL the leaf's serial falls in (docs/architecture.md §4.5).
    const indirectUrl = new URL(/URI:(http:\/\/\S+-indirect-p\d+\.crl)/.exec(leafExt)?.[1] ?? 'http://missing/');
    expect(indirectUrl.hostname, leafExt).to.equal(LOCAL_VIP);
    const indirectPem = execFileSync('openssl', ['crl', '-inform', 'DER', '-outform', 'PEM'], { input: await fetchDer(indirectUrl, `the indirect CRL at ${indirectUrl.href}`), encoding: 'utf8' });
    writeFileSync(join(d, 'indirect.crl.pem'), indirectPem);
    const extended = spawnSync(
      'openssl',
      ['verify', '-x509_strict', '-crl_check', '-extended_crl', '-CAfile', join(d, 'root.pem'), '-untrusted', join(d, 'chain.pem'), '-CRLfile', join(d, 'indirect.crl.pem'), join(d, 'leaf.pem')],
      { encoding: 'utf8' },
    );
    expect(`${extended.stdout}${extended.stderr}`).to.match(/leaf\.pem: OK/);
  });

  it('bad inputs get 4xx with their code and change nothing', async () => {
    const before = jsonOf(await get(LOCAL_VIP, '/api/v1/clusterMap?since=0')) as { nodes: unknown[] };
    const code = (r: HttpCallResult): [number, string] => [r.status, (jsonOf(r) as { error: { code: string } }).error.code];
    expect(code(await https(LOCAL_VIP, '/api/v1/certificates', '{"csr":'))).to.deep.equal([400, 'ERR_BAD_JSON']);
    expect(code(await https(LOCAL_VIP, '/api/v1/certificates', { csr: Buffer.from('not der').toString('base64'), profile: 'serverLeaf' }))).to.deep.equal([400, 'ERR_CSR_MALFORMED']);
    expect(code(await https(LOCAL_VIP, '/api/v1/certificates', { csr: csr('a.example'), profile: 'noSuchProfile' }))).to.deep.equal([404, 'ERR_PROFILE_UNKNOWN']);
    expect(code(await https(LOCAL_VIP, '/api/v1/certificates', { csr: 'x'.repeat(200_000), profile: 'serverLeaf' }))).to.deep.equal([413, 'ERR_BODY_TOO_LARGE']);
    expect(code(await https(LOCAL_VIP, '/api/v1/certificates', { csr: csr('b.example'), profile: 'serverLeaf' }, { authorization: 'Bearer wrong-token' }))).to.deep.equal([403, 'ERR_FORBIDDEN']);
    expect(code(await https(LOCAL_VIP, '/api/v1/revocations', { serialHex: '01' }, { authorization: '' }))).to.deep.equal([401, 'ERR_UNAUTHORIZED']);
    const forged = await https(LOCAL_VIP, '/api/v1/registrations', '{}', { authorization: 'Adrestia-PSK v1.forged' });
    expect(forged.status).to.equal(401);
    expect(code(forged)[1]).to.match(/^ERR_AUTH_/);
    expect(code(await https(LOCAL_VIP, '/internal/v1/peer', '{}', { 'content-type': 'application/msgpack' }))).to.deep.equal([401, 'ERR_CLIENT_CERT_REQUIRED']);
    const after = jsonOf(await get(LOCAL_VIP, '/api/v1/clusterMap?since=0')) as { nodes: unknown[] };
    expect(after.nodes).to.deep.equal(before.nodes);
  });

  it('docs/spec.md §3.2: a PSK-proven registration is single use — the replayed request is refused ERR_AUTH_PSK_PROOF', async () => {
    // The server reads the PSK file's trimmed text as the key bytes (config/secrets.ts).
    const psk = new Uint8Array(Buffer.from(readFileSync(cluster.secrets.pskFile, 'utf8').trim(), 'utf8'));
    const nonce = randomBytes(32);
    const bundleAnswer = await get(LOCAL_VIP, `/api/v1/ca?nonce=${nonce.toString('base64url')}`);
    expect(bundleAnswer.status).to.equal(200);
    const bundle = verifyCaBundle({ response: jsonOf(bundleAnswer) as CaBundleResponseBody, psk, clientNonce: nonce });
    // A wrong PSK cannot verify the bundle's proof: the node would never trust it.
    expect(() => verifyCaBundle({ response: jsonOf(bundleAnswer) as CaBundleResponseBody, psk: new Uint8Array(32).fill(1), clientNonce: nonce })).to.throw().with.property('code', 'ERR_AUTH_PSK_PROOF');
    const map = jsonOf(await get(LOCAL_VIP, '/api/v1/clusterMap?since=0')) as { nodes: { nodeId: string }[] };
    const keys = await generateNodeKeys({ dataDir: mkdtempSync(join(dir, 'keys-')) });
    // An id already registered: the proof verifies (and its nonce is spent), the registration is refused.
    const nodeId = map.nodes[0]!.nodeId;
    const built = buildRegistrationRequest({
      clusterId: bundle.clusterId, nodeId, az: 'az1', addresses: { api: '127.71.0.99:8443', raft: '127.71.0.99:7480' },
      ...makeNodeCsrs({ keys, nodeId, az: 'az1', hosts: ['127.71.0.99'] }),
      auth: { psk, serverNonce: bundle.serverNonce }, nowMs: Date.now(),
    });
    const body = Buffer.from(built.body).toString('utf8');
    const first = await https(LOCAL_VIP, '/api/v1/registrations', body, { authorization: built.authorization });
    expect((jsonOf(first) as { error: { code: string } }).error.code).to.equal('ERR_ALREADY_EXISTS');
    const replay = await https(LOCAL_VIP, '/api/v1/registrations', body, { authorization: built.authorization });
    expect([replay.status, (jsonOf(replay) as { error: { code: string } }).error.code]).to.deep.equal([401, 'ERR_AUTH_PSK_PROOF']);
    const after = jsonOf(await get(LOCAL_VIP, '/api/v1/clusterMap?since=0')) as { nodes: unknown[] };
    expect(after.nodes).to.deep.equal(map.nodes);
  });

  it('kill -9 of the node holding both leader roles under issuance load: VIPs move, service resumes, nothing acknowledged is lost', async () => {
    const acknowledged: Issued[] = [];
    let stop = false;
    let afterKill = 0;
    let killed = false;
    const client = async (n: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const r = await https(LOCAL_VIP, '/api/v1/certificates', { csr: csr(`c${n}-${i}.example`), profile: 'serverLeaf' }).catch(() => null);
        if (r !== null && (r.status === 201 || r.status === 200)) {
          acknowledged.push(jsonOf(r) as Issued);
          if (killed) afterKill++;
        } else {
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    };
    // A revocation of a follower's certificate, acknowledged before the kill.
    const victim = jsonOf(await https('127.71.0.13', '/api/v1/certificates', { csr: csr('victim.example'), profile: 'serverLeaf' })) as Issued;
    const revoked = await https(GLOBAL_VIP, '/api/v1/revocations', { serialHex: victim.serialHex, reason: 'keyCompromise' });
    expect(revoked.status, revoked.body.toString()).to.equal(200);
    const load = [client(1), client(2)];
    while (acknowledged.length < 5) await new Promise((res) => setTimeout(res, 50));
    const leader = jsonOf(await get(LOCAL_VIP, '/api/v1/status')) as { nodeId: string };
    const map = jsonOf(await get(LOCAL_VIP, '/api/v1/clusterMap?since=0')) as { nodes: { nodeId: string; addresses: { api: string } }[] };
    const leaderHost = map.nodes.find((n) => n.nodeId === leader.nodeId)!.addresses.api.split(':')[0];
    const proc = cluster.procs.find((p) => p.host === leaderHost)!;
    proc.child!.kill('SIGKILL');
    killed = true;
    const deadline = Date.now() + 60_000;
    while (afterKill < 5 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    stop = true;
    await Promise.all(load);
    expect(afterKill, 'issuances acknowledged after the kill').to.be.at.least(5);
    // The seat moves to the new local leader, which then wins the global election and takes the global VIP.
    let now = { nodeId: '', pkiGlobalLeader: false };
    while (Date.now() < deadline + 30_000) {
      now = jsonOf(await get(GLOBAL_VIP, '/api/v1/status').catch(() => get(LOCAL_VIP, '/api/v1/status'))) as typeof now;
      if (now.pkiGlobalLeader && now.nodeId !== leader.nodeId) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(now.nodeId).to.not.equal(leader.nodeId);
    expect(now.pkiGlobalLeader).to.equal(true);
    expect((jsonOf(await get(LOCAL_VIP, '/api/v1/status')) as { nodeId: string }).nodeId).to.equal(now.nodeId);
    for (const cert of acknowledged) {
      const r = await httpCall(`https://${LOCAL_VIP}:${DEV_PORTS.https}/api/v1/certificates/${cert.serialHex}`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, ca: rootPem, serverNode: true, localAddress: CLIENT });
      expect(r.status, `certificate ${cert.serialHex}`).to.equal(200);
    }
    await expectRevokedInCrl(victim);
    // The killed node restarts from its data directory and rejoins as a follower.
    cluster.restart(proc);
    const back = await pollFor('the restarted node following the new local leader', async () => {
      const r = await get(proc.host, '/api/v1/status').catch(() => null);
      const s = r?.status === 200 ? (jsonOf(r) as { nodeId: string; ready: boolean; local: { leaderId: string | null } }) : null;
      return s !== null && s.ready && s.local.leaderId === now.nodeId ? s : null;
    }, 30_000);
    expect(back.nodeId).to.equal(leader.nodeId);
  });

  it('the CLI issues with a key generated locally (0600) and shows the AZ with its local leader', async () => {
    const out = join(dir, 'cli-leaf');
    writeFileSync(join(dir, 'root.pem'), rootPem);
    const cli = (args: string[]): string =>
      execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', CLI_PATH, ...args], { encoding: 'utf8', timeout: 60_000 });
    const issued = cli(['issue', '--url', `https://${LOCAL_VIP}:${DEV_PORTS.https}`, '--ca', join(dir, 'root.pem'), '--token-file', cluster.secrets.adminTokenFile, '--profile', 'serverLeaf', '--cn', 'cli.example', '--san', 'dns:cli.example', '--out', out, '--from', CLIENT]);
    expect(issued).to.match(/^issued serial [0-9a-f]+/);
    expect(statSync(`${out}.key`).mode & 0o777).to.equal(0o600);
    expect(verify({ serialHex: '', issuerId: '', certificatePem: readFileSync(`${out}.crt`, 'utf8'), chainPem: readFileSync(`${out}.chain.pem`, 'utf8') })).to.contain('OK');
    const status = cli(['status', '--url', `http://${GLOBAL_VIP}:${DEV_PORTS.http}`, '--from', CLIENT]);
    expect(status).to.match(/az1\s+local VIP 127\.71\.0\.1\s+local leader [0-9a-f-]{36} term \d+\s+\(global leader\)/);
  });

  /** The follower's node ICA CRL lists the revoked serial, and openssl verify -crl_check refuses the leaf. */
  async function expectRevokedInCrl(victim: Issued): Promise<void> {
    const crl = await pollFor('the CRL listing the revoked certificate', async () => {
      const r = await get('127.71.0.13', `/crl/${victim.issuerId}.crl`);
      return r.status === 200 && opensslCrlSerials(dir, r.body, victim.chainPem + rootPem).has(normalSerial(victim.serialHex)) ? r.body : null;
    }, 30_000, 250);
    expect(opensslRevocationVerdict(dir, rootPem, crl, victim)).to.match(/certificate revoked/);
  }
});
