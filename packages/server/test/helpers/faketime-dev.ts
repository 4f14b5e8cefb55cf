// The real dev cluster (`adrestia-pki dev`, 1 AZ × 3 real serve processes unless told) under libfaketime
// (Debian `faketime`), for the end-to-end tests that move its wall clock: e2e-clock-forward
// (renewal keeping up) and e2e-downtime (recovery after the cluster was off for longer than its
// certificates live). Monotonic clocks are left alone (DONT_FAKE_MONOTONIC): Raft and the VIP
// fence run on them. Needs the Debian packages faketime, curl and openssl.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { expect } from 'chai';
import { pemBlocks, toPem } from '@adrestia/pki-core';
import { devNodes, DEV_PORTS, type DevNode } from '../../src/dev/layout.ts';
import { CLI_PATH, loaderArgs } from '../../src/dev/processes.ts';
import { httpCall } from '../../src/peer/http-request.ts';
import { leafCsrPem } from './e2e-openssl.ts';
import { pollFor } from './wait.ts';

export const DAY_MS = 24 * 3600 * 1000;
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const READY_TIMEOUT_MS = 90_000;

export interface Issued {
  certificatePem: string;
  chainPem: string;
}

/** Throws naming what is missing unless faketime, libfaketime and curl are installed. */
function requireFaketimeTools(): void {
  const tools = [
    ['faketime', spawnSync('faketime', ['-f', '+1d', 'true']).status === 0],
    [LIBFAKETIME, existsSync(LIBFAKETIME)],
    ['curl', spawnSync('curl', ['--version']).status === 0],
  ] as const;
  for (const [what, ok] of tools) {
    if (!ok) throw new Error(`${what} is missing: install the Debian packages faketime and curl`);
  }
}

/**
 * The mocha hooks of a suite over one FaketimeDev: the tools checked and a cluster over a fresh
 * directory (`dirPrefix` under the system temporary directory) before it; the cluster stopped
 * after each test (a failed one leaves it running, and the next start would find its addresses
 * taken) and at the end; the directory removed unless a test failed. Returns the cluster, for
 * use once `before` has run.
 */
export function faketimeDevSuite(dirPrefix: string, base: number, layout?: { azs: number; nodesPerAz: number }): () => FaketimeDev {
  let dev: FaketimeDev | undefined;
  let failed = false;
  before(function () {
    requireFaketimeTools();
    dev = new FaketimeDev(mkdtempSync(join(tmpdir(), dirPrefix)), base, layout);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') failed = true;
    await dev?.stop();
  });
  after(async () => {
    await dev?.stop();
    if (!failed && dev !== undefined) rmSync(dev.dir, { recursive: true, force: true });
  });
  return () => {
    if (dev === undefined) throw new Error('faketimeDevSuite: the cluster is made in its before hook');
    return dev;
  };
}

/**
 * One dev cluster over `dir` at address base `base` (AZ n on 127.<base+n>.0.0/16), started and
 * stopped under a moved clock. Issuance and reads go through AZ 1 (its local VIP, a client address
 * of it) unless a node's own AZ is named.
 */
export class FaketimeDev {
  readonly nodes: readonly DevNode[];
  private readonly base: number;
  private readonly client: string;
  private dev: ChildProcess | null = null;
  output = '';

  constructor(
    readonly dir: string,
    base: number,
    private readonly layout: { azs: number; nodesPerAz: number } = { azs: 1, nodesPerAz: 3 },
  ) {
    this.nodes = devNodes(layout.azs, layout.nodesPerAz, base);
    this.client = `127.${base + 1}.0.200`;
    this.base = base;
  }

  /** A client address inside `node`'s AZ: a node answers its own AZ's clients without a redirect. */
  private clientOf(host: string): string {
    const node = this.nodes.find((n) => n.host === host);
    return node === undefined ? this.client : `127.${this.base + node.azIndex}.0.200`;
  }

  private fakeEnv(): NodeJS.ProcessEnv {
    return { ...process.env, DONT_FAKE_MONOTONIC: '1' };
  }

  tlsCertOf(name: string): X509Certificate {
    return new X509Certificate(readFileSync(join(this.dir, 'data', name, 'node-tls.crt')));
  }

  rootPem(): string {
    return readFileSync(join(this.dir, 'data', this.nodes[0]!.name, 'cluster-root.crt'), 'utf8');
  }

  /** `adrestia-pki dev` over `dir`, under libfaketime: through `faketime -f`, or a timestamp file. */
  async start(clock: { offsetDays: number } | { timestampFile: string }): Promise<void> {
    const cli = [...loaderArgs(), CLI_PATH, 'dev', '--azs', String(this.layout.azs), '--nodes', String(this.layout.nodesPerAz), '--base', String(this.base), '--dir', this.dir, '--log-level', 'warn'];
    this.output = '';
    // What `faketime -f` sets, given directly: the wrapper forks, so a SIGTERM to it would not
    // reach `dev` (which stops its nodes on SIGTERM).
    const clockEnv = 'offsetDays' in clock ? { FAKETIME: `+${clock.offsetDays}d` } : { FAKETIME_TIMESTAMP_FILE: clock.timestampFile, FAKETIME_CACHE_DURATION: '1' };
    const dev = spawn(process.execPath, cli, { env: { ...this.fakeEnv(), LD_PRELOAD: LIBFAKETIME, ...clockEnv } });
    this.dev = dev;
    dev.stdout?.on('data', (b: Buffer) => (this.output += b.toString('utf8')));
    dev.stderr?.on('data', (b: Buffer) => (this.output += b.toString('utf8')));
    await pollFor('the dev cluster ready', async () => (this.output.includes('Ctrl-C stops every node.') || dev.exitCode !== null ? true : null), READY_TIMEOUT_MS);
    expect(this.output.match(/✔ az\d-node\d ready/g)?.length, `every node ready (logs in ${this.dir}/logs):\n${this.output}`).to.equal(this.nodes.length);
  }

  async stop(): Promise<void> {
    const child = this.dev;
    this.dev = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  /**
   * One issuance with serverLeaf's default lifetime through AZ `azIndex`'s local VIP, by curl under
   * the same moved clock (its TLS checks the cluster's certificates at that time).
   */
  issueAt(offsetDays: number, cn: string, azIndex = 1): Issued {
    const body = join(this.dir, `${cn}.json`);
    writeFileSync(body, JSON.stringify({ csr: leafCsrPem(cn), profile: 'serverLeaf' }));
    writeFileSync(join(this.dir, 'root.pem'), this.rootPem());
    const token = readFileSync(join(this.dir, 'secrets', 'admin-token'), 'utf8').trim();
    const out = execFileSync('faketime', ['-f', `+${offsetDays}d`, 'curl', '-sS', '--fail-with-body', '--max-time', '30', '--retry', '10', '--retry-delay', '1', '--retry-all-errors', '--location-trusted',
      '--interface', `127.${this.base + azIndex}.0.200`, '--cacert', join(this.dir, 'root.pem'), '-H', `authorization: Bearer ${token}`, '-H', 'content-type: application/json',
      '--data-binary', `@${body}`, `https://127.${this.base + azIndex}.0.1:${DEV_PORTS.https}/api/v1/certificates`], { encoding: 'utf8', env: this.fakeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out) as Issued;
  }

  /** `openssl verify -attime` at the moved clock; the leaf's chain is what the cluster handed out. */
  verifyAt(offsetDays: number, leaf: Issued, cn: string): string {
    writeFileSync(join(this.dir, `${cn}.crt`), leaf.certificatePem);
    writeFileSync(join(this.dir, `${cn}.chain.pem`), leaf.chainPem);
    const atSeconds = Math.floor((Date.now() + offsetDays * DAY_MS) / 1000);
    return execFileSync('openssl', ['verify', '-attime', String(atSeconds), '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(this.dir, 'root.pem'),
      '-untrusted', join(this.dir, `${cn}.chain.pem`), join(this.dir, `${cn}.crt`)], { encoding: 'utf8' });
  }

  /** The certificate a node's HTTPS listener presents now (not verified: the test's clock is not moved). */
  async servedCertificate(host: string): Promise<X509Certificate> {
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

  /** The CA chain a node's `GET /api/v1/ca` names (its node ICA first, then the AZ ICA above it), or null while it does not answer. */
  async caChainOf(host: string): Promise<X509Certificate[] | null> {
    const r = await httpCall(`http://${host}:${DEV_PORTS.http}/api/v1/ca`, { timeoutMs: 5_000, maxResponseBytes: 1 << 20, localAddress: this.clientOf(host) }).catch(() => null);
    const chainPem = r?.status === 200 ? (JSON.parse(r.body.toString('utf8')) as { chainPem?: string }).chainPem : undefined;
    return chainPem === undefined ? null : pemBlocks(chainPem).map((b) => new X509Certificate(toPem(b.der)));
  }

  /** A node's own ICA (the first certificate of its `GET /api/v1/ca` chain), or null while it does not answer. */
  async nodeIcaOf(host: string): Promise<X509Certificate | null> {
    return (await this.caChainOf(host))?.[0] ?? null;
  }

  /**
   * One node's `adrestia-pki serve` over its dev configuration under the moved clock, for a start
   * expected to be refused: its exit code and output once it exits (killed after `timeoutMs`).
   */
  async serveOnce(name: string, offsetDays: number, timeoutMs: number): Promise<{ code: number | null; output: string }> {
    const config = join(this.dir, 'config', `${name}.json`);
    const child = spawn(process.execPath, [...loaderArgs(), CLI_PATH, 'serve', '--config', config], { env: { ...this.fakeEnv(), LD_PRELOAD: LIBFAKETIME, FAKETIME: `+${offsetDays}d` } });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    return { code, output };
  }

  /** A node's `GET /api/v1/status` (plain HTTP, from the test's client address), or null while it does not answer. */
  async statusOf(host: string): Promise<Record<string, unknown> | null> {
    const r = await httpCall(`http://${host}:${DEV_PORTS.http}/api/v1/status`, { timeoutMs: 5_000, maxResponseBytes: 1 << 20, localAddress: this.clientOf(host) }).catch(() => null);
    return r?.status === 200 ? (JSON.parse(r.body.toString('utf8')) as Record<string, unknown>) : null;
  }

  /** Whether every node's TLS certificate and node ICA outlast `untilMs`. */
  async credentialsOutlast(untilMs: number): Promise<boolean> {
    for (const n of this.nodes) {
      if (Date.parse(this.tlsCertOf(n.name).validTo) <= untilMs) return false;
      const nodeIca = await this.nodeIcaOf(n.host);
      if (nodeIca === null || Date.parse(nodeIca.validTo) <= untilMs) return false;
    }
    return true;
  }
}
