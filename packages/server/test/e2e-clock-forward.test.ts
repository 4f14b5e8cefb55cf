// End-to-end: the real dev cluster (`adrestia-pki dev`, 1 AZ × 3 real serve processes) under
// libfaketime (Debian `faketime`), its wall clock moved forward past the AZ ICA lifetime (5 years).
// First while it runs (a timestamp file libfaketime re-reads): the nodes renew their TLS key and
// certificate and serve the new ones without a restart, and the AZ still commits. Then restarted
// with the clock `+Nd` ahead (libfaketime's FAKETIME, as `faketime -f '+Nd'` sets it) in steps
// shorter than a third of the shortest CA lifetime (node ICA: 3 y + 30 d), each step waiting
// until the renewals the next one needs are in, and after each an issuance (curl under
// `faketime -f`) with the profile's default lifetime that `openssl verify -attime` accepts at the
// moved time. Monotonic clocks are left alone (DONT_FAKE_MONOTONIC): Raft and the VIP fence run
// on them. Needs the Debian packages faketime, curl and openssl. Addresses: 127.131.0.0/16 (dev
// plan, base 130).
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { expect } from 'chai';
import { pemBlocks, toPem } from '@adrestia/pki-core';
import { devNodes, DEV_PORTS } from '../src/dev/layout.ts';
import { CLI_PATH, loaderArgs } from '../src/dev/processes.ts';
import { httpCall } from '../src/peer/http-request.ts';
import { leafCsrPem } from './helpers/e2e-openssl.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 130;
const LOCAL_VIP = '127.131.0.1';
const CLIENT = '127.131.0.200';
const NODES = devNodes(1, 3, BASE);
const DAY_MS = 24 * 3600 * 1000;
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
/** Past two thirds of the node TLS lifetime (2 y): renewed while the cluster runs. */
const LIVE_OFFSET_DAYS = 500;
/** Restarts 350 days apart (< 1125 d / 3) up to past the first AZ ICA's end (1825 d). */
const RESTART_OFFSETS_DAYS = [850, 1200, 1550, 1900];
const READY_TIMEOUT_MS = 90_000;

interface Issued {
  certificatePem: string;
  chainPem: string;
}

describe('e2e: the dev cluster with its clock moved forward past the AZ ICA lifetime (faketime)', function () {
  this.timeout(600_000);
  let dir: string;
  let dev: ChildProcess | null = null;
  let devOutput = '';
  let failed = false;

  before(function () {
    const tools = [
      ['faketime', spawnSync('faketime', ['-f', '+1d', 'true']).status === 0],
      [LIBFAKETIME, existsSync(LIBFAKETIME)],
      ['curl', spawnSync('curl', ['--version']).status === 0],
    ] as const;
    for (const [what, ok] of tools) {
      if (!ok) throw new Error(`${what} is missing: install the Debian packages faketime and curl`);
    }
    dir = mkdtempSync(join(tmpdir(), 'adrestia-clock-'));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    await stopDev();
    if (!failed) rmSync(dir, { recursive: true, force: true });
  });

  const fakeEnv = (): NodeJS.ProcessEnv => ({ ...process.env, DONT_FAKE_MONOTONIC: '1' });
  const tlsCertOf = (name: string): X509Certificate => new X509Certificate(readFileSync(join(dir, 'data', name, 'node-tls.crt')));
  const rootPem = (): string => readFileSync(join(dir, 'data', NODES[0]!.name, 'cluster-root.crt'), 'utf8');

  /** `adrestia-pki dev` over `dir`, under libfaketime: through `faketime -f`, or a timestamp file. */
  async function startDev(clock: { offsetDays: number } | { timestampFile: string }): Promise<void> {
    const cli = [...loaderArgs(), CLI_PATH, 'dev', '--azs', '1', '--nodes', '3', '--base', String(BASE), '--dir', dir, '--log-level', 'warn'];
    devOutput = '';
    // What `faketime -f` sets, given directly: the wrapper forks, so a SIGTERM to it would not
    // reach `dev` (which stops its nodes on SIGTERM).
    const clockEnv = 'offsetDays' in clock ? { FAKETIME: `+${clock.offsetDays}d` } : { FAKETIME_TIMESTAMP_FILE: clock.timestampFile, FAKETIME_CACHE_DURATION: '1' };
    dev = spawn(process.execPath, cli, { env: { ...fakeEnv(), LD_PRELOAD: LIBFAKETIME, ...clockEnv } });
    dev.stdout?.on('data', (b: Buffer) => (devOutput += b.toString('utf8')));
    dev.stderr?.on('data', (b: Buffer) => (devOutput += b.toString('utf8')));
    const started = dev;
    await pollFor('the dev cluster ready', async () => (devOutput.includes('Ctrl-C stops every node.') || started.exitCode !== null ? true : null), READY_TIMEOUT_MS);
    expect(devOutput.match(/✔ az1-node\d ready/g)?.length, `every node ready (logs in ${dir}/logs):\n${devOutput}`).to.equal(3);
  }

  async function stopDev(): Promise<void> {
    const child = dev;
    dev = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  /**
   * One issuance with serverLeaf's default lifetime through the AZ's local VIP, by curl under the
   * same moved clock (its TLS checks the cluster's certificates at that time).
   */
  function issueAt(offsetDays: number, cn: string): Issued {
    const body = join(dir, `${cn}.json`);
    writeFileSync(body, JSON.stringify({ csr: leafCsrPem(cn), profile: 'serverLeaf' }));
    writeFileSync(join(dir, 'root.pem'), rootPem());
    const token = readFileSync(join(dir, 'secrets', 'admin-token'), 'utf8').trim();
    const out = execFileSync('faketime', ['-f', `+${offsetDays}d`, 'curl', '-sS', '--fail-with-body', '--max-time', '30', '--retry', '10', '--retry-delay', '1', '--retry-all-errors', '--location-trusted',
      '--interface', CLIENT, '--cacert', join(dir, 'root.pem'), '-H', `authorization: Bearer ${token}`, '-H', 'content-type: application/json',
      '--data-binary', `@${body}`, `https://${LOCAL_VIP}:${DEV_PORTS.https}/api/v1/certificates`], { encoding: 'utf8', env: fakeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out) as Issued;
  }

  /** `openssl verify -attime` at the moved clock; the leaf's chain is what the cluster handed out. */
  function verifyAt(offsetDays: number, leaf: Issued, cn: string): string {
    writeFileSync(join(dir, `${cn}.crt`), leaf.certificatePem);
    writeFileSync(join(dir, `${cn}.chain.pem`), leaf.chainPem);
    const atSeconds = Math.floor((Date.now() + offsetDays * DAY_MS) / 1000);
    return execFileSync('openssl', ['verify', '-attime', String(atSeconds), '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'root.pem'),
      '-untrusted', join(dir, `${cn}.chain.pem`), join(dir, `${cn}.crt`)], { encoding: 'utf8' });
  }

  /** The certificate a node's HTTPS listener presents now (not verified: the test's clock is not moved). */
  async function servedCertificate(host: string): Promise<X509Certificate> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port: DEV_PORTS.https, rejectUnauthorized: false }, () => {
        const cert = socket.getPeerX509Certificate();
        socket.destroy();
        if (cert === undefined) reject(new Error(`${host} presented no certificate`));
        else resolve(cert);
      });
      socket.once('error', reject);
    });
  }

  /** Whether every node's TLS certificate and node ICA (GET /api/v1/ca on the node) outlast `untilMs`. */
  async function credentialsOutlast(untilMs: number): Promise<boolean> {
    for (const n of NODES) {
      if (Date.parse(tlsCertOf(n.name).validTo) <= untilMs) return false;
      const r = await httpCall(`http://${n.host}:${DEV_PORTS.http}/api/v1/ca`, { timeoutMs: 5_000, maxResponseBytes: 1 << 20, localAddress: CLIENT }).catch(() => null);
      const chainPem = r?.status === 200 ? (JSON.parse(r.body.toString('utf8')) as { chainPem?: string }).chainPem : undefined;
      const nodeIca = chainPem === undefined ? undefined : pemBlocks(chainPem)[0];
      if (nodeIca === undefined || Date.parse(new X509Certificate(toPem(nodeIca.der)).validTo) <= untilMs) return false;
    }
    return true;
  }

  it('while it runs, every node renews its TLS certificate, serves the new one, and the AZ still commits', async function () {
    const timestampFile = join(dir, 'faketime');
    writeFileSync(timestampFile, '+0d\n');
    await startDev({ timestampFile });
    const before = new Map(NODES.map((n) => [n.name, tlsCertOf(n.name).fingerprint256]));
    writeFileSync(timestampFile, `+${LIVE_OFFSET_DAYS}d\n`);
    await pollFor('every node TLS certificate renewed', async () => (NODES.every((n) => tlsCertOf(n.name).fingerprint256 !== before.get(n.name)) ? true : null), 120_000, 500);
    for (const n of NODES) {
      const renewed = tlsCertOf(n.name);
      expect(Date.parse(renewed.validFrom), `${n.name}: the successor begins at the moved clock`).to.be.greaterThan(Date.now() + (LIVE_OFFSET_DAYS - 1) * DAY_MS);
      const served = await pollFor(`${n.name} serving its renewed certificate`, async () => {
        const cert = await servedCertificate(n.host);
        return cert.fingerprint256 === renewed.fingerprint256 ? cert : null;
      }, 30_000, 500);
      expect(served.fingerprint256).to.equal(renewed.fingerprint256);
    }
    // A commit needs two of the three nodes over the mesh, which now admits only the new certificates.
    const leaf = issueAt(LIVE_OFFSET_DAYS, 'live.example');
    expect(verifyAt(LIVE_OFFSET_DAYS, leaf, 'live.example')).to.match(/: OK\s*$/);
    await stopDev();
  });

  it('restarted in 350-day steps to past 5 years: each step issues a default-lifetime leaf that openssl verifies at that time', async function () {
    const steps = [LIVE_OFFSET_DAYS, ...RESTART_OFFSETS_DAYS];
    for (let i = 1; i < steps.length; i++) {
      const offsetDays = steps[i] as number;
      await startDev({ offsetDays });
      const cn = `step-${offsetDays}.example`;
      const leaf = issueAt(offsetDays, cn);
      expect(verifyAt(offsetDays, leaf, cn), `+${offsetDays} d`).to.match(/: OK\s*$/);
      const next = steps[i + 1];
      // The next step starts only once every credential it needs was renewed (a cluster off for
      // longer than a certificate's remaining life is recovery after downtime, not this test).
      if (next !== undefined) await pollFor(`credentials renewed for +${next} d`, async () => ((await credentialsOutlast(Date.now() + next * DAY_MS)) ? true : null), 120_000, 1_000);
      await stopDev();
    }
    expect(steps.at(-1)! * DAY_MS, 'the last step is past the first AZ ICA lifetime').to.be.greaterThan(5 * 365 * DAY_MS);
  });
});
