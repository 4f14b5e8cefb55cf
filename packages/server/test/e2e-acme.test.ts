// ACME (RFC 8555) against a real dev cluster with unmodified clients: certbot (http-01,
// `certonly --standalone`) and every certificate it gets checked with `openssl verify` against
// the cluster root and the chain served. pebble-challtestsrv is the DNS server validation asks
// (`acme.resolver`): it answers every A query with the address the client's standalone server
// listens on. One cluster serves every case. Addresses: 127.110.0.0–127.119.255.255 (base 110;
// AZ 1 on 127.111.0.0/16, the clients and the test DNS server on 127.119.0.0/16).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { devAzs } from '../src/dev/layout.ts';

const BASE = 110;
const CLIENT_HOST = '127.119.0.2';
const DNS_HOST = '127.119.0.53';
const DNS_PORT = 8053;
const HTTP01_PORT = 5002;
const LOCAL_VIP = devAzs(1, BASE)[0]!.localVip;

/** Fails with the tool's name when it is not installed (CI installs the Debian packages). */
function requireTool(name: string, args: string[]): void {
  const r = spawnSync(name, args, { encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`${name} is required for this test (Debian package ${name === 'pebble-challtestsrv' ? 'pebble' : name}): ${r.error.message}`);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

function opensslVerify(root: string, chain: string, leaf: string): string {
  const r = run('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', root, '-untrusted', chain, leaf]);
  expect(r.status, r.out).to.equal(0);
  return r.out;
}

describe('e2e: ACME with certbot and lego against the dev cluster', function () {
  this.timeout(240_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-acme-'));
  let cluster: DevCluster | null = null;
  let dns: ChildProcess | null = null;
  let root = '';

  before(async () => {
    requireTool('certbot', ['--version']);
    requireTool('pebble-challtestsrv', ['-h']);
    requireTool('openssl', ['version']);
    dns = spawn('pebble-challtestsrv', ['-dns01', `${DNS_HOST}:${DNS_PORT}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `${DNS_HOST}:8055`, '-defaultIPv4', CLIENT_HOST, '-defaultIPv6', ''], { stdio: 'ignore' });
    cluster = await startDevCluster({
      azCount: 1,
      perAz: 3,
      dir,
      base: BASE,
      logLevel: 'warn',
      readyTimeoutMs: 40_000,
      acme: { http01Port: HTTP01_PORT, resolver: `${DNS_HOST}:${DNS_PORT}` },
    });
    expect(cluster.ok, `logs in ${dir}/logs`).to.equal(true);
    root = join(dir, 'data', cluster.procs[0]!.name, 'cluster-root.crt');
  });

  after(async () => {
    dns?.kill('SIGTERM');
    await cluster?.stop();
    if (cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  function certbot(args: string[]): { status: number | null; out: string } {
    const c = join(dir, 'certbot');
    return run(
      'certbot',
      [...args, '--non-interactive', '--config-dir', join(c, 'etc'), '--work-dir', join(c, 'work'), '--logs-dir', join(c, 'logs'), '--server', `https://${LOCAL_VIP}:8443/acme/directory`],
      { REQUESTS_CA_BUNDLE: root },
    );
  }

  it('certbot certonly --standalone (http-01) on the local VIP: the certificate verifies against the root and the served chain', () => {
    const r = certbot(['certonly', '--standalone', '--agree-tos', '--register-unsafely-without-email', '--http-01-port', String(HTTP01_PORT), '--http-01-address', CLIENT_HOST, '-d', 'www.acme.test', '-d', 'api.acme.test']);
    expect(r.status, r.out).to.equal(0);
    const live = join(dir, 'certbot', 'etc', 'live', 'www.acme.test');
    opensslVerify(root, join(live, 'chain.pem'), join(live, 'cert.pem'));
    const text = run('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', join(live, 'cert.pem')]).out;
    expect(text).to.include('DNS:www.acme.test').and.to.include('DNS:api.acme.test');
    expect(readFileSync(join(live, 'fullchain.pem'), 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 'leaf, node ICA, AZ ICA').to.equal(3);
  });
});
