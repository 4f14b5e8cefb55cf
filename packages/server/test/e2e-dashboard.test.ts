// The dashboard (src/dashboard/) in a real browser: Playwright (playwright-core) drives Debian's
// chromium-headless-shell against a dev cluster of 3 AZs × 3 real `serve` processes. The page,
// opened once at the global VIP, must show every AZ with the local leader the nodes themselves
// report; after kill -9 of the local leader of an AZ without the global role it must show that
// AZ's new local leader and the dead node unreachable, pushed over its event stream — the page is
// never reloaded. Screenshots before and after go to a folder under the OS temp dir (printed).
// Addresses (dev layout, base 120): AZ n on 127.(120+n).0.0/16, global VIP 127.120.10.1.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { DEV_PORTS, devAzs, devNodes, globalVipOf, type DevAz } from '../src/dev/layout.ts';
import { httpCall, jsonOf } from '../src/peer/http-request.ts';
import { e2eClient } from './helpers/e2e-http.ts';
import { leafCsrPem } from './helpers/e2e-openssl.ts';
import { refuseBusyAddresses } from './helpers/busy-addresses.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 120;
const AZS = devAzs(3, BASE);
const PER_AZ = 3;
const GLOBAL_VIP = globalVipOf(BASE);
/** Debian's chromium-headless-shell (`.ci/run` installs it); CHROMIUM_PATH overrides. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium-headless-shell';
/** Generous bounds for a loaded 2-core machine; nothing asserts on speed. */
const READY_TIMEOUT_MS = 40_000;
const GROUPS_TIMEOUT_MS = 60_000;
const PAGE_TIMEOUT_MS = 30_000;

interface Report {
  status: { nodeId: string; az: string; pkiGlobalLeader: boolean; local: { role: string; term: number } };
  operator: { local: { voters: string[] } };
}

describe('e2e: the dashboard in chromium-headless-shell on 3 AZs × 3 nodes, before and after kill -9 of a local leader', function () {
  this.timeout(120_000);
  let cluster: DevCluster | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let dir: string;
  let shots: string;
  let navigations = 0;
  let failed = false;
  const hostOf = new Map<string, string>();

  const reportAt = async (host: string): Promise<Report | null> => {
    const r = await httpCall(`http://${host}:${DEV_PORTS.http}/api/v1/nodeReport`, { timeoutMs: 2_000, maxResponseBytes: 1 << 20 }).catch(() => null);
    return r?.status === 200 ? (jsonOf(r) as Report) : null;
  };
  /** The local leader as the AZ's nodes report it (the highest term wins), over the hosts still alive. */
  const localLeaderOf = async (az: DevAz, hosts: readonly string[]): Promise<Report | null> => {
    const reports = (await Promise.all(hosts.map(reportAt))).filter((r): r is Report => r !== null && r.status.az === az.name);
    return reports.filter((r) => r.status.local.role === 'leader').sort((a, b) => b.status.local.term - a.status.local.term)[0] ?? null;
  };
  const hostsOf = (az: DevAz): string[] => devNodes(AZS.length, PER_AZ, BASE).filter((n) => n.az === az.name).map((n) => n.host);
  const shownLeader = (az: DevAz): Promise<string | null> => page.locator(`[data-az="${az.name}"]`).getAttribute('data-local-leader');

  before(async function () {
    this.timeout((AZS.length + 1) * READY_TIMEOUT_MS + GROUPS_TIMEOUT_MS + 30_000);
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install the Debian package chromium-headless-shell (or set CHROMIUM_PATH)`);
    await refuseBusyAddresses(BASE, AZS.length, PER_AZ);
    dir = mkdtempSync(join(tmpdir(), 'adrestia-e2e-dashboard-'));
    shots = mkdtempSync(join(tmpdir(), 'adrestia-e2e-dashboard-shots-'));
    console.log(`      screenshots in ${shots}`);
    cluster = await startDevCluster({ azCount: AZS.length, perAz: PER_AZ, dir, base: BASE, logLevel: 'info', readyTimeoutMs: READY_TIMEOUT_MS });
    expect(cluster.ok, `nodes ready (logs in ${dir}/logs)`).to.equal(true);
    for (const az of AZS) {
      // Every AZ's group has its 3 voters, so each AZ can lose a node, as the page will say.
      await pollFor(`${az.name}: a local leader with ${PER_AZ} voters`, async () => {
        const leader = await localLeaderOf(az, hostsOf(az));
        return leader !== null && leader.operator.local.voters.length === PER_AZ ? leader : null;
      }, GROUPS_TIMEOUT_MS);
    }
    for (const host of devNodes(AZS.length, PER_AZ, BASE).map((n) => n.host)) {
      const r = await pollFor(`the report of ${host}`, () => reportAt(host), GROUPS_TIMEOUT_MS);
      hostOf.set(r.status.nodeId, host);
    }
    await issueSome();
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1500, height: 1200 } });
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    await page.goto(`http://${GLOBAL_VIP}:${DEV_PORTS.http}/dashboard`);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    if (failed && browser !== undefined) await page.screenshot({ path: join(shots, 'failed.png'), fullPage: true }).catch(() => undefined);
    await browser?.close();
    await cluster?.stop();
    // The cluster's logs stay for a failed run; the screenshots always stay.
    if (!failed && cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  /** Another cluster on this address base (e.g. a second run of this file) would answer in ours. */
  /** A few certificates per AZ, so the issuance figures have something to show. */
  async function issueSome(): Promise<void> {
    const c = cluster as DevCluster;
    const rootPem = readFileSync(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8');
    const adminToken = readFileSync(c.secrets.adminTokenFile, 'utf8').trim();
    for (const az of AZS) {
      const client = e2eClient({ from: az.localVip.replace(/\.1$/, '.200'), rootPem, adminToken, timeoutMs: 15_000 });
      for (let i = 0; i < 3; i++) {
        const r = await client.postFollowing(az.localVip, '/api/v1/certificates', { csr: leafCsrPem(`${az.name}-${i}.dash.example`), profile: 'serverLeaf' });
        expect(r.status, `issuance in ${az.name}: ${r.body.toString('utf8').slice(0, 200)}`).to.equal(201);
      }
    }
  }

  it('shows the three AZs, each with the local leader its nodes report, the global leader, and that each AZ can lose a node', async () => {
    for (const az of AZS) {
      const leader = (await localLeaderOf(az, hostsOf(az))) as Report;
      await page.locator(`[data-az="${az.name}"][data-local-leader="${leader.status.nodeId}"]`).waitFor({ timeout: PAGE_TIMEOUT_MS });
      await page.locator(`[data-az="${az.name}"] .tol`, { hasText: `${az.name} can lose 1 node` }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    }
    const global = (await Promise.all([...hostOf.values()].map(reportAt))).find((r) => r?.status.pkiGlobalLeader === true);
    expect(global, 'a node reports the global role').to.not.equal(undefined);
    await page.locator(`[data-global-leader="${global?.status.nodeId}"]`).waitFor({ timeout: PAGE_TIMEOUT_MS });
    expect(await page.locator('#connection').getAttribute('data-state')).to.equal('live');
    await page.screenshot({ path: join(shots, 'before-kill.png'), fullPage: true });
  });

  it('after kill -9 of the local leader of an AZ without the global role, shows its new local leader and the dead node unreachable, without a reload', async () => {
    const c = cluster as DevCluster;
    const globalAz = (await Promise.all([...hostOf.values()].map(reportAt))).find((r) => r?.status.pkiGlobalLeader === true)?.status.az;
    const az = AZS.find((a) => a.name !== globalAz) as DevAz;
    const old = (await localLeaderOf(az, hostsOf(az))) as Report;
    expect(await shownLeader(az)).to.equal(old.status.nodeId);
    const victimHost = hostOf.get(old.status.nodeId) as string;
    const killedAtMs = Date.now();
    c.procs.find((p) => p.host === victimHost)?.child?.kill('SIGKILL');
    const survivors = hostsOf(az).filter((h) => h !== victimHost);
    const elected = await pollFor(`a new local leader in ${az.name}`, async () => {
      const r = await localLeaderOf(az, survivors);
      return r !== null && r.status.nodeId !== old.status.nodeId ? r : null;
    }, GROUPS_TIMEOUT_MS);
    await page.locator(`[data-az="${az.name}"][data-local-leader="${elected.status.nodeId}"]`).waitFor({ timeout: PAGE_TIMEOUT_MS });
    console.log(`      kill -9 to the page showing ${az.name}'s new local leader: ${Date.now() - killedAtMs} ms`);
    await page.locator(`[data-az="${az.name}"] tr[data-node="${old.status.nodeId}"]`, { hasText: 'unreachable' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    await page.locator(`[data-az="${az.name}"] .tol`, { hasText: `${az.name} can lose 0 nodes` }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    expect(navigations, 'the page was loaded once and never reloaded').to.equal(1);
    await page.screenshot({ path: join(shots, 'after-kill.png'), fullPage: true });
  });
});
