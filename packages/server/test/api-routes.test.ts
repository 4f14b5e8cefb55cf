// The HTTP(S) API of one node, in process: `serve` with a real PkiNode (LevelDB on disk, real
// sockets on 127.61.0.0/16), checked with OpenSSL where certificates and CRLs are involved.
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildCsr, toPem } from '@adrestia/pki-core';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, jsonOf, type HttpCallOptions, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 60;
const HOST = '127.61.0.11';
const CLIENT = '127.61.0.200';

interface Issued {
  serialHex: string;
  issuerId: string;
  certificatePem: string;
  chainPem: string;
}

describe('server API over a real PkiNode (one founding node)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-api-'));
  let handle: ServeHandle;
  let root: string;
  let token: string;

  before(async () => {
    const secrets = await writeSecrets(dir);
    const node = devNodes(1, 1, BASE)[0]!;
    const config = await loadConfig(await writeNodeConfig(dir, node, 1, BASE, secrets, 'silent'));
    handle = await serve(config, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true });
    root = readFileSync(join(config.dataDir, 'cluster-root.crt'), 'utf8');
    token = readFileSync(secrets.adminTokenFile, 'utf8').trim();
  });

  after(async () => {
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string): Promise<HttpCallResult> =>
    httpCall(`http://${HOST}:${DEV_PORTS.http}${path}`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, localAddress: CLIENT });
  const post = (path: string, body: unknown, extra: Partial<HttpCallOptions> = {}): Promise<HttpCallResult> =>
    httpCall(`https://${HOST}:${DEV_PORTS.https}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: Buffer.from(JSON.stringify(body)),
      timeoutMs: 20_000,
      maxResponseBytes: 1 << 20,
      ca: root,
      serverNode: true,
      localAddress: CLIENT,
      ...extra,
    });
  /** /metrics is served on HTTPS to the admin token's holder (config `metrics.serve`, default `https`). */
  const metricsText = async (): Promise<string> => {
    const r = await httpCall(`https://${HOST}:${DEV_PORTS.https}/metrics`, { headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000, maxResponseBytes: 1 << 20, ca: root, serverNode: true, localAddress: CLIENT });
    expect(r.status, r.body.toString('utf8').slice(0, 200)).to.equal(200);
    return r.body.toString('utf8');
  };
  const csr = (cn: string, key: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey): string =>
    toPem(buildCsr({ subject: `CN=${cn}`, privateKey: key, sans: [{ type: 'dns', value: cn }] }), 'CERTIFICATE REQUEST');
  const openssl = (args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' });
  const file = (name: string, content: string | Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('docs/spec.md §7.2: clusterMap?since=<generation> or <ETag> of the current map is 304 with the ETag; another one gets the map', async () => {
    const first = await get('/api/v1/clusterMap?since=0');
    expect(first.status).to.equal(200);
    const map = jsonOf(first) as { generation: number; azs: { name: string }[] };
    expect(map.azs.map((a) => a.name)).to.deep.equal(['az1']);
    const etag = String(first.headers.etag);
    expect(etag).to.match(new RegExp(`^"${map.generation}\\.[0-9a-f]{64}"$`));
    const same = await get(`/api/v1/clusterMap?since=${map.generation}`);
    expect(same.status).to.equal(304);
    expect(same.headers.etag).to.equal(etag);
    const byEtag = await get(`/api/v1/clusterMap?since=${etag.slice(1, -1)}`);
    expect(byEtag.status).to.equal(304);
    expect(byEtag.headers.etag).to.equal(etag);
    expect((await get(`/api/v1/clusterMap?since=${encodeURIComponent(etag)}`)).status, 'the ETag with its quotes').to.equal(304);
    const otherContent = `${map.generation}.${'0'.repeat(64)}`;
    const stale = await get(`/api/v1/clusterMap?since=${otherContent}`);
    expect(stale.status, 'the same generation with other content').to.equal(200);
    expect(jsonOf(stale)).to.deep.equal(map);
    expect((await get(`/api/v1/clusterMap?since=${map.generation - 1}`)).status).to.equal(200);
    for (const bad of ['x', `${map.generation}.abc`, '1.5']) {
      const r = jsonOf(await get(`/api/v1/clusterMap?since=${bad}`)) as { error: { code: string; field?: string } };
      expect(r.error.code, bad).to.equal('ERR_INPUT_INVALID');
    }
  });

  it('GET /api/v1/ca and /ca/<issuerId>.crt serve the root and ICAs that OpenSSL reads', async () => {
    const bundle = jsonOf(await get('/api/v1/ca')) as { rootPem: string; azIcaPem: string; chainPem: string };
    expect(bundle.rootPem).to.equal(root);
    openssl(['verify', '-CAfile', file('root.pem', root), file('az.pem', bundle.azIcaPem)]);
    const issued = jsonOf(await post('/api/v1/certificates', { csr: csr('dl.example'), profile: 'serverLeaf' })) as Issued;
    const ca = await get(`/ca/${issued.issuerId}.crt`);
    expect(ca.status).to.equal(200);
    expect(ca.headers['content-type']).to.equal('application/pkix-cert');
    expect(openssl(['x509', '-inform', 'DER', '-in', file('node-ica.der', ca.body), '-noout', '-subject'])).to.match(/ICA/);
    expect((await get('/ca/nosuchissuer.crt')).status).to.equal(404);
  });

  it('RFC 5280 §5: a revocation is acknowledged once, the issuer CRL lists it (openssl crl -verify, verify -crl_check)', async () => {
    const issued = jsonOf(await post('/api/v1/certificates', { csr: csr('rev.example'), profile: 'serverLeaf' })) as Issued;
    const revoked = await post('/api/v1/revocations', { serialHex: issued.serialHex, reason: 'superseded' });
    expect(revoked.status, revoked.body.toString()).to.equal(200);
    const again = await post('/api/v1/revocations', { serialHex: issued.serialHex });
    expect([again.status, (jsonOf(again) as { error: { code: string } }).error.code]).to.deep.equal([409, 'ERR_ALREADY_REVOKED']);
    const deadline = Date.now() + 20_000;
    let crlText = '';
    while (!crlText.toUpperCase().includes(issued.serialHex.toUpperCase())) {
      if (Date.now() > deadline) throw new Error('CRL never listed the serial');
      await new Promise((r) => setTimeout(r, 200));
      const crl = await get(`/crl/${issued.issuerId}.crl`);
      if (crl.status !== 200) continue;
      expect(crl.headers['content-type']).to.equal('application/pkix-crl');
      file('crl.der', crl.body);
      crlText = openssl(['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-noout', '-text']);
    }
    openssl(['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-out', join(dir, 'crl.pem')]);
    const chain = file('chain.pem', issued.chainPem);
    // `openssl crl -verify` reports on stderr.
    const crlVerify = spawnSync('openssl', ['crl', '-in', join(dir, 'crl.pem'), '-noout', '-verify', '-CAfile', chain], { encoding: 'utf8' });
    expect(crlVerify.stderr).to.contain('verify OK');
    let out = '';
    try {
      openssl(['verify', '-crl_check', '-CRLfile', join(dir, 'crl.pem'), '-CAfile', file('root.pem', root), '-untrusted', chain, file('rev.pem', issued.certificatePem)]);
    } catch (err) {
      out = String((err as { stdout?: string }).stdout) + String((err as { stderr?: string }).stderr);
    }
    expect(out).to.match(/certificate revoked/);
  });

  it('RFC 5280 §5.2.5: /crl/<issuer>-p<k>.crl serves the partition CRL a leaf names (IDP = CDP; openssl -crl_check); unknown partitions are 404', async () => {
    const issued = jsonOf(await post('/api/v1/certificates', { csr: csr('part.example'), profile: 'serverLeaf' })) as Issued;
    const leaf = file('part.pem', issued.certificatePem);
    const cdp = new URL(/URI:(http:\/\/\S+\.crl)/.exec(openssl(['x509', '-in', leaf, '-noout', '-ext', 'crlDistributionPoints']))?.[1] ?? 'http://missing/');
    const partition = /^\/crl\/([0-9a-f]+)-p(\d+)\.crl$/.exec(cdp.pathname);
    expect(partition?.[1], cdp.pathname).to.equal(issued.issuerId);
    expect(Number(partition![2])).to.be.within(0, 255);
    const revoked = await post('/api/v1/revocations', { serialHex: issued.serialHex, reason: 'keyCompromise' });
    expect(revoked.status, revoked.body.toString()).to.equal(200);
    const deadline = Date.now() + 20_000;
    let crlText = '';
    while (!crlText.toUpperCase().includes(issued.serialHex.toUpperCase())) {
      if (Date.now() > deadline) throw new Error('the partition CRL never listed the serial');
      await new Promise((r) => setTimeout(r, 200));
      const crl = await get(cdp.pathname);
      if (crl.status !== 200) continue;
      expect(crl.headers['content-type']).to.equal('application/pkix-crl');
      file('part.crl.der', crl.body);
      crlText = openssl(['crl', '-inform', 'DER', '-in', join(dir, 'part.crl.der'), '-noout', '-text']);
    }
    expect(/Issuing Distribution Point: critical\s+Full Name:\s+URI:(\S+)/.exec(crlText)?.[1]).to.equal(cdp.href);
    openssl(['crl', '-inform', 'DER', '-in', join(dir, 'part.crl.der'), '-out', join(dir, 'part.crl.pem')]);
    const r = spawnSync('openssl', ['verify', '-crl_check', '-CRLfile', join(dir, 'part.crl.pem'), '-CAfile', file('root.pem', root), '-untrusted', file('part-chain.pem', issued.chainPem), leaf], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).to.match(/certificate revoked/);
    // Partition k of the AZ ICA's indirect CRL, the leaf's second distribution point, is served too.
    const indirect = new URL(/URI:(http:\/\/\S+-indirect-p\d+\.crl)/.exec(openssl(['x509', '-in', leaf, '-noout', '-ext', 'crlDistributionPoints']))?.[1] ?? 'http://missing/');
    expect(indirect.pathname).to.match(new RegExp(`^/crl/[0-9a-f]+-indirect-p${partition![2]}\\.crl$`));
    // The AZ ICA's lease holder publishes it in its own maintenance round, after the node ICA's.
    let indirectText = '';
    while (!indirectText.toUpperCase().includes(issued.serialHex.toUpperCase())) {
      if (Date.now() > deadline) throw new Error('the indirect partition CRL never listed the serial');
      await new Promise((r) => setTimeout(r, 200));
      const indirectCrl = await get(indirect.pathname);
      if (indirectCrl.status !== 200) continue;
      indirectText = openssl(['crl', '-inform', 'DER', '-in', file('part-indirect.crl.der', indirectCrl.body), '-noout', '-text']);
    }
    expect(indirectText).to.include(`URI:${indirect.href}`);
    const azIca = /^\/crl\/([0-9a-f]+)-indirect/.exec(indirect.pathname)![1]!;
    // A partition the node ICA does not have (it has 256), a non-canonical name, an unknown issuer.
    for (const path of [`/crl/${issued.issuerId}-p256.crl`, `/crl/${issued.issuerId}-p007.crl`, '/crl/abcdef-p1.crl', `/crl/${azIca}-indirect-p256.crl`, `/crl/${azIca}-indirect-p01.crl`]) {
      const missing = await get(path);
      expect(missing.status, path).to.equal(404);
      expect((jsonOf(missing) as { error: { code: string } }).error.code, path).to.match(/^ERR_(ISSUER_UNKNOWN|NOT_FOUND)$/);
    }
  });

  it('docs/spec.md §5.8 renewal: authenticated by the current certificate over mTLS, same profile and SANs, new key', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const current = jsonOf(await post('/api/v1/certificates', { csr: csr('renew.example', key), profile: 'serverClientLeaf' })) as Issued;
    const withoutCert = await post('/api/v1/certificates/renew', { csr: csr('renew.example') });
    expect([withoutCert.status, (jsonOf(withoutCert) as { error: { code: string } }).error.code]).to.deep.equal([401, 'ERR_CLIENT_CERT_REQUIRED']);
    const chainWithoutRoot = current.chainPem.replace(root, '');
    const renewed = await post('/api/v1/certificates/renew', { csr: csr('other-name.example') }, {
      headers: { 'content-type': 'application/json' },
      cert: chainWithoutRoot,
      key: key.export({ format: 'pem', type: 'pkcs8' }) as string,
    });
    expect(renewed.status, renewed.body.toString()).to.equal(201);
    // The same certificate is no licence to issue for other names, nor to speak as a node.
    const mtls = { headers: { 'content-type': 'application/json' }, cert: chainWithoutRoot, key: key.export({ format: 'pem', type: 'pkcs8' }) as string };
    const issueWithCert = await post('/api/v1/certificates', { csr: csr('stolen.example'), profile: 'serverLeaf' }, mtls);
    expect([issueWithCert.status, (jsonOf(issueWithCert) as { error: { code: string } }).error.code]).to.deep.equal([401, 'ERR_UNAUTHORIZED']);
    const asNode = await post('/internal/v1/peer', {}, { ...mtls, headers: { 'content-type': 'application/msgpack' } });
    expect([asNode.status, (jsonOf(asNode) as { error: { code: string } }).error.code]).to.deep.equal([403, 'ERR_FORBIDDEN']);
    const next = jsonOf(renewed) as Issued;
    expect(next.serialHex).to.not.equal(current.serialHex);
    // The SANs come from the current certificate, not from the CSR.
    expect(openssl(['x509', '-in', file('renewed.pem', next.certificatePem), '-noout', '-ext', 'subjectAltName'])).to.contain('DNS:renew.example');
    openssl(['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', file('root.pem', root), '-untrusted', file('renewed-chain.pem', next.chainPem), join(dir, 'renewed.pem')]);
  });

  it('a revoked certificate cannot renew itself: 403 ERR_REVOKED as soon as the revocation is acknowledged, nothing issued', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const current = jsonOf(await post('/api/v1/certificates', { csr: csr('revoked-renew.example', key), profile: 'serverClientLeaf' })) as Issued;
    const revoked = await post('/api/v1/revocations', { serialHex: current.serialHex, reason: 'keyCompromise' });
    expect(revoked.status, revoked.body.toString()).to.equal(200);
    const before = await metricsText();
    const renewed = await post('/api/v1/certificates/renew', { csr: csr('revoked-renew.example') }, {
      headers: { 'content-type': 'application/json' },
      cert: current.chainPem.replace(root, ''),
      key: key.export({ format: 'pem', type: 'pkcs8' }) as string,
    });
    expect([renewed.status, (jsonOf(renewed) as { error: { code: string } }).error.code]).to.deep.equal([403, 'ERR_REVOKED']);
    const issuedCount = (text: string): string => /adrestia_issuance_total\{[^}]*profile="renewal"[^}]*result="renewed"[^}]*\} (\d+)/.exec(text)?.[1] ?? '0';
    expect(issuedCount(await metricsText())).to.equal(issuedCount(before));
  });

  it('docs/spec.md §4: a client in no AZ (127.0.0.1) is served by the AZ it reached: status, issuance', async () => {
    const status = await httpCall(`http://${HOST}:${DEV_PORTS.http}/api/v1/status`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, localAddress: '127.0.0.1' });
    expect(status.status, status.body.toString()).to.equal(200);
    const issued = await post('/api/v1/certificates', { csr: csr('no-az.example'), profile: 'serverLeaf' }, { localAddress: '127.0.0.1' });
    expect(issued.status, issued.body.toString()).to.equal(201);
    const discovering = await httpCall(`http://${HOST}:${DEV_PORTS.http}/api/v1/status?az=az9`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, localAddress: '127.0.0.1' });
    expect([discovering.status, (jsonOf(discovering) as { error: { code: string } }).error.code]).to.deep.equal([404, 'ERR_AZ_UNKNOWN']);
  });

  it('/metrics exports issuance counts and latency, Raft terms and commit indexes, leader changes and VIP moves', async () => {
    await new Promise((r) => setTimeout(r, 600)); // one sampling period
    // The operator gauges are sampled every few seconds: wait for a sample after the revocation above.
    // The VIP is acquired a lease after the node leads (vip-fence.ts): a sample taken before shows 0.
    const text = await pollFor('operator gauges sampled after a revocation and the VIPs acquired', async () => {
      const t = await metricsText();
      return /adrestia_revocations\{/.test(t) && /adrestia_vip_held\{vip="127\.61\.0\.1",scope="local"\} 1/.test(t) ? t : null;
    }, 20_000, 500);
    expect(text).to.match(/adrestia_issuance_total\{[^}]*profile="serverLeaf"[^}]*result="issued"[^}]*\} [1-9]/);
    expect(text).to.match(/adrestia_issuance_duration_seconds_count\{/);
    expect(text).to.match(/adrestia_raft_term\{group="local"\} [1-9]/);
    expect(text).to.match(/adrestia_raft_commit_index\{group="global"\} [1-9]/);
    expect(text).to.match(/adrestia_raft_leader_changes_total\{group="(local|global)"\} [1-9]/);
    expect(text).to.match(/adrestia_vip_transitions_total\{vip="127\.61\.0\.1",action="acquire",result="ok"\} 1/);
    // The operator gauges (serve/node-metrics.ts): this lone node holds both VIPs, its CAs expire
    // in the future, its CRLs exist, and a revocation was committed above.
    expect(text).to.match(/adrestia_vip_held\{vip="127\.61\.0\.1",scope="local"\} 1/);
    expect(text).to.match(/adrestia_ca_expiry_seconds\{[^}]*role="root"[^}]*\} [1-9]/);
    expect(text).to.match(/adrestia_crl_age_seconds\{issuer="[^"]+"\} \d/);
    expect(text).to.match(/adrestia_crl_bytes\{issuer="[^"]+"\} [1-9]/);
    expect(text).to.match(/adrestia_revocations\{issuer="[^"]+"\} [1-9]/);
    expect(text).to.match(/adrestia_raft_apply_lag_entries\{group="local"\} \d/);
  });

  it('/metrics is not on the public HTTP port, and on HTTPS only with the admin token', async () => {
    expect((await get('/metrics')).status).to.equal(404);
    const anonymous = await httpCall(`https://${HOST}:${DEV_PORTS.https}/metrics`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, ca: root, serverNode: true, localAddress: CLIENT });
    expect([anonymous.status, (jsonOf(anonymous) as { error: { code: string } }).error.code]).to.deep.equal([401, 'ERR_UNAUTHORIZED']);
  });

  it('GET /api/v1/certificates/<serial> finds an issued certificate; an unknown serial is 404, a malformed one 400', async () => {
    const issued = jsonOf(await post('/api/v1/certificates', { csr: csr('find.example'), profile: 'serverLeaf' })) as Issued;
    const lookup = (serial: string) => httpCall(`https://${HOST}:${DEV_PORTS.https}/api/v1/certificates/${serial}`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, ca: root, serverNode: true, localAddress: CLIENT });
    const found = jsonOf(await lookup(issued.serialHex)) as { certificates: { serialHex: string; profile: string; certificatePem: string }[] };
    expect(found.certificates.map((c) => [c.serialHex, c.profile])).to.deep.equal([[issued.serialHex, 'serverLeaf']]);
    expect(found.certificates[0]!.certificatePem).to.equal(issued.certificatePem);
    expect((await lookup('0badc0de')).status).to.equal(404);
    expect((jsonOf(await lookup('zz')) as { error: { code: string } }).error.code).to.equal('ERR_SERIAL_INVALID');
  });
});
