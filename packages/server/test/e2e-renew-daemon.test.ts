// End-to-end: `adrestia-pki renew --daemon` against a real 3-node AZ (the dev cluster of real
// serve processes) with a 50-second profile: it renews before 2/3 of each lifetime, across a kill -9
// of the local leader, runs its --exec each time, renews at once on SIGHUP, and stops (exit 1, no
// retries) once its certificate is revoked. Addresses: 127.141.0.0/16 (dev plan, base 140).
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { BUILTIN_PROFILES, buildCsr, toPem } from '@adrestia/pki-core';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { DEV_PORTS } from '../src/dev/layout.ts';
import { CLI_PATH } from '../src/dev/processes.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { renewalThresholdMs } from '../src/cli/renew-schedule.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 140;
const LOCAL_VIP = '127.141.0.1';
const CLIENT = '127.141.0.200';
const URL_HTTPS = `https://${LOCAL_VIP}:${DEV_PORTS.https}`;
const LIFETIME_SECONDS = 50;
const CLI_ARGS = ['--conditions=source', '--import', 'tsx', CLI_PATH];

interface Renewed {
  serial: string;
  cert: X509Certificate;
}

describe('e2e: the renewal daemon keeps a certificate renewed through a local leader kill -9', function () {
  this.timeout(120_000);
  let cluster: DevCluster;
  let dir: string;
  let daemon: ChildProcess | null = null;
  let daemonOutput = '';
  let failed = false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adrestia-renewd-'));
    cluster = await startDevCluster({ azCount: 1, perAz: 3, dir, base: BASE, logLevel: 'warn', readyTimeoutMs: 60_000 });
    expect(cluster.ok, `nodes ready (logs in ${dir}/logs)`).to.equal(true);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    if (daemon !== null && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    await cluster?.stop();
    if (!failed && cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  const admin = (): { ca: string; headers: Record<string, string> } => ({
    ca: readFileSync(join(dir, 'root.pem'), 'utf8'),
    headers: { authorization: `Bearer ${readFileSync(cluster.secrets.adminTokenFile, 'utf8').trim()}`, 'content-type': 'application/json' },
  });
  const adminCall = (method: 'PUT' | 'POST', path: string, body: unknown): Promise<HttpCallResult> =>
    httpCall(`${URL_HTTPS}${path}`, { method, body: Buffer.from(JSON.stringify(body)), ...admin(), timeoutMs: 20_000, maxResponseBytes: 1 << 20, serverNode: true, localAddress: CLIENT });
  /** The certificates --exec saw, in order (it copies each chain under its serial). */
  const renewals = (): Renewed[] => {
    const log = join(dir, 'exec.log');
    if (!existsSync(log)) return [];
    return readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((serial) => ({ serial, cert: new X509Certificate(readFileSync(join(dir, `chain-${serial}.pem`))) }));
  };
  const waitRenewals = async (n: number): Promise<Renewed[]> => {
    try {
      return await pollFor(`${n} renewals`, async () => {
        const r = renewals();
        return r.length >= n || daemon?.exitCode !== null ? r : null;
      }, 60_000, 100);
    } finally {
      if (renewals().length < n) expect.fail(`${renewals().length} of ${n} renewals; the daemon said:\n${daemonOutput}`);
    }
  };
  /** When the cluster signed a renewal: the profile's lifetime before notAfter (notBefore is backdated). */
  const issuedAtMs = (c: X509Certificate): number => Date.parse(c.validTo) - LIFETIME_SECONDS * 1000;
  const lifetimeMs = (c: X509Certificate): number => Date.parse(c.validTo) - Date.parse(c.validFrom);
  const validity = (c: X509Certificate): { notBeforeMs: number; notAfterMs: number } => ({ notBeforeMs: Date.parse(c.validFrom), notAfterMs: Date.parse(c.validTo) });

  it('SIGHUP renews at once; then it renews before 2/3 of each lifetime across a kill -9 of the local leader, running --exec each time', async () => {
    writeFileSync(join(dir, 'root.pem'), readFileSync(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8'));
    // serverClientLeaf: renewal is authenticated by the certificate itself, so it must be good for clientAuth.
    const profile = { ...BUILTIN_PROFILES.serverClientLeaf, name: 'renewShort', lifetime: { defaultSeconds: LIFETIME_SECONDS, minSeconds: 1, maxSeconds: 3600 } };
    expect((await adminCall('PUT', '/api/v1/profiles/renewShort', profile)).status).to.equal(200);
    // The first certificate lives an hour, so the daemon has time to start; each renewal then lives LIFETIME_SECONDS.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const csr = toPem(buildCsr({ subject: 'CN=svc.example', privateKey, sans: [{ type: 'dns', value: 'svc.example' }] }), 'CERTIFICATE REQUEST');
    const issued = await adminCall('POST', '/api/v1/certificates', { csr, profile: 'renewShort', lifetimeSeconds: 3600 });
    expect(issued.status, issued.body.toString()).to.equal(201);
    const svc = join(dir, 'svc');
    writeFileSync(`${svc}.key`, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    writeFileSync(`${svc}.chain.pem`, (jsonOf(issued) as { chainPem: string }).chainPem);
    const first = new X509Certificate(readFileSync(`${svc}.chain.pem`));
    // --exec keeps a copy of each chain it is told about, named by its serial.
    const exec = `cp "$ADRESTIA_CERT" "${dir}/chain-$ADRESTIA_SERIAL.pem" && echo "$ADRESTIA_SERIAL" >> "${dir}/exec.log"`;
    daemon = spawn(process.execPath, [...CLI_ARGS, 'renew', '--daemon', '--url', URL_HTTPS, '--ca', join(dir, 'root.pem'), '--cert', `${svc}.chain.pem`, '--key', `${svc}.key`, '--exec', exec, '--from', CLIENT], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout?.on('data', (b: Buffer) => (daemonOutput += b.toString('utf8')));
    daemon.stderr?.on('data', (b: Buffer) => (daemonOutput += b.toString('utf8')));
    await pollFor('the daemon scheduling its first renewal', async () => (/renewing at/.test(daemonOutput) ? true : null), 60_000, 100);

    // SIGHUP: renewed at once, long before the first certificate's jitter window.
    daemon.kill('SIGHUP');
    const r1 = (await waitRenewals(1))[0]!;
    expect(issuedAtMs(r1.cert)).to.be.below(renewalThresholdMs(validity(first)) - lifetimeMs(first) / 20);

    // kill -9 of the node holding the local (and global) leader roles, before the next renewal is due.
    const status = jsonOf(await httpCall(`http://${LOCAL_VIP}:${DEV_PORTS.http}/api/v1/status`, { timeoutMs: 5_000, maxResponseBytes: 1 << 20, localAddress: CLIENT })) as { nodeId: string };
    const map = jsonOf(await httpCall(`http://${LOCAL_VIP}:${DEV_PORTS.http}/api/v1/clusterMap?since=0`, { timeoutMs: 5_000, maxResponseBytes: 1 << 20, localAddress: CLIENT })) as { nodes: { nodeId: string; addresses: { api: string } }[] };
    const leaderHost = map.nodes.find((n) => n.nodeId === status.nodeId)?.addresses.api.split(':')[0];
    const leader = cluster.procs.find((p) => p.host === leaderHost);
    expect(leader?.child, `the local leader ${status.nodeId} is one of ours`).to.not.equal(undefined);
    const killed = leader!.child!;
    const gone = new Promise((resolve) => killed.once('exit', resolve));
    killed.kill('SIGKILL');
    await gone;
    cluster.restart(leader!); // back as a follower (a SIGKILLed child is not stopped again: dev/processes.ts stopProcess)

    const [, r2, r3] = await waitRenewals(3);
    let previous = r1.cert;
    for (const r of [r1, r2!, r3!]) expect(r.cert.serialNumber.toLowerCase(), 'the serial --exec was given is the certificate it sees').to.equal(r.serial.toLowerCase());
    for (const r of [r2!, r3!]) {
      expect(issuedAtMs(r.cert), `renewal of ${previous.serialNumber} before 2/3 of its lifetime`).to.be.below(renewalThresholdMs(validity(previous)));
      expect(issuedAtMs(r.cert), 'not before the jitter window (2/3 less 1/20 of the lifetime)').to.be.at.least(renewalThresholdMs(validity(previous)) - lifetimeMs(previous) / 20 - 1000);
      previous = r.cert;
    }
    // The files hold the last renewal: its key (0600) matches its certificate.
    const onDisk = new X509Certificate(readFileSync(`${svc}.chain.pem`));
    expect(onDisk.serialNumber).to.equal(r3!.cert.serialNumber);
    expect(statSync(`${svc}.key`).mode & 0o777).to.equal(0o600);
    expect(onDisk.checkPrivateKey(createPrivateKey(readFileSync(`${svc}.key`)))).to.equal(true);
  });

  it('a revoked certificate is reported and not retried: the daemon exits 1', async () => {
    expect(daemon, 'the daemon of the previous test').to.not.equal(null);
    const current = new X509Certificate(readFileSync(join(dir, 'svc.chain.pem')));
    expect((await adminCall('POST', '/api/v1/revocations', { serialHex: current.serialNumber.toLowerCase(), reason: 'keyCompromise' })).status).to.equal(200);
    expect([daemon!.exitCode, daemon!.signalCode], daemonOutput).to.deep.equal([null, null]);
    const exited = new Promise<number | null>((resolve) => daemon!.once('exit', (code) => resolve(code)));
    daemon!.kill('SIGHUP');
    expect(await exited).to.equal(1);
    expect(daemonOutput).to.match(/refused: HTTP 403 ERR_REVOKED: .*; not retried/);
    expect(renewals()).to.have.length(3);
  });
});
