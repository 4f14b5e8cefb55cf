// End-to-end: recovery after long downtime (docs/architecture.md §21). The real dev cluster
// (`adrestia-pki dev`, 1 AZ × 3 real serve processes) issues a leaf, is stopped, and is started
// again under libfaketime with its wall clock moved past the node TLS lifetime (2 y) while it was
// off: every node's TLS certificate, and every peer's, has expired, so the mesh and the peer
// endpoint admit the exactly pinned expired certificates, the AZ elects a local leader, and each
// node renews its TLS certificate. Stopped again and moved past the node ICA lifetime (3 y +
// 30 d): each node's ICA has expired and its AZ ICA re-issues it. A second cluster, restarted past
// the AZ ICA lifetime (5 y), has its AZ ICA re-issued by the root through the global leader. After each restart an issuance
// with the default profile (curl under the moved clock) is verified by `openssl verify -attime`
// at that time against the root. Past the root's lifetime nothing can be recovered: a node then
// refuses to start with ERR_EXPIRED. Needs the Debian packages faketime, curl and openssl.
// Addresses: 127.221.0.0/16 (dev plan, base 220).
import type { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { DAY_MS, faketimeDevSuite, type FaketimeDev } from './helpers/faketime-dev.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 220;
/** Past the node TLS lifetime (730 d), before the node ICA is due (two thirds of 1125 d = 750 d). */
const PAST_TLS_DAYS = 740;
/** Past the node ICA lifetime (1125 d), before the TLS certificates renewed at 740 d end (1470 d) or the first AZ ICA (1825 d). */
const PAST_NODE_ICA_DAYS = 1200;
/** Past the AZ ICA lifetime (1825 d), for a cluster restarted for the first time since founding. */
const PAST_AZ_ICA_DAYS = 1900;
/** Past the root's 20 years: out of scope for recovery, refused with a clear error. */
const PAST_ROOT_DAYS = 20 * 365 + 30;
const RECOVERY_TIMEOUT_MS = 60_000;

/** Every node answers its status naming its AZ's local leader, the same within each AZ, and one node leads the global group. */
async function clusterFormed(dev: FaketimeDev): Promise<boolean> {
  const leaders = new Map<string, Set<string | null>>();
  let globalLeaders = 0;
  for (const n of dev.nodes) {
    const s = (await dev.statusOf(n.host)) as { local?: { leaderId?: string | null }; pkiGlobalLeader?: boolean } | null;
    if (s === null) return false;
    if (!leaders.has(n.az)) leaders.set(n.az, new Set());
    leaders.get(n.az)!.add(s.local?.leaderId ?? null);
    if (s.pkiGlobalLeader === true) globalLeaders++;
  }
  return [...leaders.values()].every((l) => l.size === 1 && !l.has(null)) && globalLeaders === 1;
}

describe('e2e: recovery after long downtime — restarted past the node TLS and node ICA lifetimes (faketime)', function () {
  this.timeout(300_000);
  const suite = faketimeDevSuite('adrestia-downtime-', BASE);
  let dev: FaketimeDev;
  before(() => (dev = suite()));

  it('founded at the real time, it issues a leaf, then stops', async function () {
    await dev.start({ offsetDays: 0 });
    const leaf = dev.issueAt(0, 'before.example');
    expect(dev.verifyAt(0, leaf, 'before.example')).to.match(/: OK\s*$/);
    await dev.stop();
  });

  it(`restarted ${PAST_TLS_DAYS} days later (every node TLS certificate expired): the AZ forms, each node renews its TLS certificate, a new leaf verifies`, async function () {
    const movedNowMs = Date.now() + PAST_TLS_DAYS * DAY_MS;
    const expired = new Map(dev.nodes.map((n) => [n.name, dev.tlsCertOf(n.name)]));
    for (const [name, cert] of expired) expect(Date.parse(cert.validTo), `${name}: its TLS certificate ends before the moved clock`).to.be.lessThan(movedNowMs);
    await dev.start({ offsetDays: PAST_TLS_DAYS });
    await pollFor('a local leader and a global leader, seen by every node', async () => ((await clusterFormed(dev)) ? true : null), RECOVERY_TIMEOUT_MS, 500);
    for (const n of dev.nodes) {
      const renewed = await pollFor(`${n.name} renewing its expired TLS certificate`, async () => {
        const cert = dev.tlsCertOf(n.name);
        return cert.fingerprint256 !== expired.get(n.name)?.fingerprint256 ? cert : null;
      }, RECOVERY_TIMEOUT_MS, 500);
      expect(Date.parse(renewed.validFrom), `${n.name}: the successor begins at the moved clock`).to.be.greaterThan(movedNowMs - DAY_MS);
      await pollFor(`${n.name} serving its renewed certificate`, async () => ((await dev.servedCertificate(n.host)).fingerprint256 === renewed.fingerprint256 ? true : null), 30_000, 500);
    }
    const leaf = dev.issueAt(PAST_TLS_DAYS, 'after-tls-expiry.example');
    expect(dev.verifyAt(PAST_TLS_DAYS, leaf, 'after-tls-expiry.example')).to.match(/: OK\s*$/);
    // The next step needs node ICAs that end before it: they were not due yet here.
    for (const n of dev.nodes) {
      const ica = await dev.nodeIcaOf(n.host);
      expect(ica, `${n.name}: its node ICA`).to.not.equal(null);
      expect(Date.parse(ica!.validTo), `${n.name}: its node ICA ends before +${PAST_NODE_ICA_DAYS} d`).to.be.lessThan(Date.now() + PAST_NODE_ICA_DAYS * DAY_MS);
    }
    await dev.stop();
  });

  it(`restarted ${PAST_NODE_ICA_DAYS} days after founding (every node ICA expired): each AZ ICA re-issues its node ICAs, a new leaf verifies`, async function () {
    const movedNowMs = Date.now() + PAST_NODE_ICA_DAYS * DAY_MS;
    await dev.start({ offsetDays: PAST_NODE_ICA_DAYS });
    await pollFor('a local leader and a global leader, seen by every node', async () => ((await clusterFormed(dev)) ? true : null), RECOVERY_TIMEOUT_MS, 500);
    for (const n of dev.nodes) {
      const ica = await pollFor(`${n.name} renewing its expired node ICA`, async () => {
        const cert = await dev.nodeIcaOf(n.host);
        return cert !== null && Date.parse(cert.validTo) > movedNowMs ? cert : null;
      }, RECOVERY_TIMEOUT_MS, 500);
      expect(Date.parse(ica.validFrom), `${n.name}: the new node ICA begins at the moved clock`).to.be.greaterThan(movedNowMs - DAY_MS);
    }
    const leaf = dev.issueAt(PAST_NODE_ICA_DAYS, 'after-ica-expiry.example');
    expect(dev.verifyAt(PAST_NODE_ICA_DAYS, leaf, 'after-ica-expiry.example')).to.match(/: OK\s*$/);
    await dev.stop();
  });

  it(`restarted ${PAST_ROOT_DAYS} days after founding (the root expired): a node refuses to start with ERR_EXPIRED naming the root`, async function () {
    const node = dev.nodes[0]!;
    const { code, output } = await dev.serveOnce(node.name, PAST_ROOT_DAYS, 30_000);
    expect(code, output).to.equal(1);
    expect(output).to.match(/ERR_EXPIRED: the cluster root expired \(/);
  });
});

describe('e2e: recovery after long downtime — restarted past the AZ ICA lifetime, everything below the root expired (faketime)', function () {
  this.timeout(300_000);
  const suite = faketimeDevSuite('adrestia-downtime-az-', BASE);
  let dev: FaketimeDev;
  let expiredAzIca: X509Certificate;
  before(() => (dev = suite()));

  it('founded at the real time, then stopped', async function () {
    await dev.start({ offsetDays: 0 });
    const chain = await pollFor('the CA chain of the first node', () => dev.caChainOf(dev.nodes[0]!.host), 10_000);
    expiredAzIca = chain.find((c) => chain[0]!.checkIssued(c))!;
    expect(expiredAzIca, 'the AZ ICA above the node ICA').to.not.equal(undefined);
    await dev.stop();
  });

  it(`restarted ${PAST_AZ_ICA_DAYS} days later (TLS, node ICA and AZ ICA expired): the root re-issues the AZ ICA through the global leader, every node renews, a new leaf verifies`, async function () {
    const movedNowMs = Date.now() + PAST_AZ_ICA_DAYS * DAY_MS;
    expect(Date.parse(expiredAzIca.validTo), 'the AZ ICA ends before the moved clock').to.be.lessThan(movedNowMs);
    await dev.start({ offsetDays: PAST_AZ_ICA_DAYS });
    await pollFor('a local leader and a global leader, seen by every node', async () => ((await clusterFormed(dev)) ? true : null), RECOVERY_TIMEOUT_MS, 500);
    for (const n of dev.nodes) {
      const chain = await pollFor(`${n.name} renewing its node ICA under a new AZ ICA`, async () => {
        const c = await dev.caChainOf(n.host);
        return c !== null && c.length >= 2 && c.every((x) => Date.parse(x.validTo) > movedNowMs) ? c : null;
      }, RECOVERY_TIMEOUT_MS, 500);
      const azIca = chain.find((c) => chain[0]!.checkIssued(c))!;
      expect(azIca.fingerprint256, `${n.name}: its node ICA is under a re-issued AZ ICA`).to.not.equal(expiredAzIca.fingerprint256);
      expect(Date.parse(azIca.validFrom)).to.be.greaterThan(movedNowMs - DAY_MS);
      await pollFor(`${n.name} renewing its TLS certificate`, async () => (Date.parse(dev.tlsCertOf(n.name).validTo) > movedNowMs ? true : null), RECOVERY_TIMEOUT_MS, 500);
    }
    const leaf = dev.issueAt(PAST_AZ_ICA_DAYS, 'after-az-ica-expiry.example');
    expect(dev.verifyAt(PAST_AZ_ICA_DAYS, leaf, 'after-az-ica-expiry.example')).to.match(/: OK\s*$/);
  });
});

describe('e2e: recovery after long downtime — 2 AZs × 2 nodes restarted past the node TLS lifetime (faketime)', function () {
  // Both tiers over the pinned mesh (docs/architecture.md §21): each AZ's local group and the
  // global group of their seats elect again with every node TLS certificate expired.
  this.timeout(300_000);
  const suite = faketimeDevSuite('adrestia-downtime-2az-', BASE, { azs: 2, nodesPerAz: 2 });
  let dev: FaketimeDev;
  before(() => (dev = suite()));

  it('founded at the real time, both AZs issue, then it stops', async function () {
    await dev.start({ offsetDays: 0 });
    for (const az of [1, 2]) expect(dev.verifyAt(0, dev.issueAt(0, `before-${az}.example`, az), `before-${az}.example`)).to.match(/: OK\s*$/);
    await dev.stop();
  });

  it(`restarted ${PAST_TLS_DAYS} days later: both AZs and the global group form, every node renews its TLS certificate, both AZs issue`, async function () {
    const movedNowMs = Date.now() + PAST_TLS_DAYS * DAY_MS;
    const expired = new Map(dev.nodes.map((n) => [n.name, dev.tlsCertOf(n.name)]));
    for (const [name, cert] of expired) expect(Date.parse(cert.validTo), `${name}: its TLS certificate ends before the moved clock`).to.be.lessThan(movedNowMs);
    await dev.start({ offsetDays: PAST_TLS_DAYS });
    await pollFor('a local leader per AZ and one global leader, seen by every node', async () => ((await clusterFormed(dev)) ? true : null), RECOVERY_TIMEOUT_MS, 500);
    for (const n of dev.nodes) {
      await pollFor(`${n.name} renewing its expired TLS certificate`, async () => (Date.parse(dev.tlsCertOf(n.name).validTo) > movedNowMs ? true : null), RECOVERY_TIMEOUT_MS, 500);
    }
    for (const az of [1, 2]) {
      const cn = `after-${az}.example`;
      expect(dev.verifyAt(PAST_TLS_DAYS, dev.issueAt(PAST_TLS_DAYS, cn, az), cn)).to.match(/: OK\s*$/);
    }
  });
});
