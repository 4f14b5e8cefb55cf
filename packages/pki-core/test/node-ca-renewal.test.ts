// CA renewal before two thirds of each lifetime (node/ca/renewal-policy.ts), with the cluster's
// wall clock moved forward past every renewal point at once: the global leader renews each AZ
// ICA (one successor per AZ, node/ca/az-ica-renewal.ts), every node renews its node ICA and TLS
// certificate through its local leader with keys made on the node (node/ca/node-renewal.ts), the
// replaced node ICA key is kept for its CRL, and issuance keeps working with chains OpenSSL
// verifies at the moved time.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { readCertificateFields } from '../src/ca/cert-fields.ts';
import { issuerIdOf } from '../src/node/ca/ca-common.ts';
import { renewAtMs, renewalDue } from '../src/node/ca/renewal-policy.ts';
import type { CaRecord } from '../src/state/records.ts';
import { PkiTestCluster, buildTwoAzCluster, eventually, issueVia } from './node-cluster-harness.ts';
import { attime, DAY_MS, expectVerifies } from './node-ca-fixtures.ts';

const YEAR_MS = 365 * DAY_MS;

describe('renewal-policy.ts: two thirds of the lifetime, or the lead of what the certificate signs', () => {
  const window = { notBeforeMs: 0, notAfterMs: 3 * YEAR_MS };
  it('renews at two thirds when what it signs fits, earlier when it would not', () => {
    expect(renewAtMs(window, 0)).to.equal(2 * YEAR_MS);
    expect(renewAtMs(window, 30 * 86_400)).to.equal(2 * YEAR_MS);
    expect(renewAtMs(window, 2 * 365 * 86_400)).to.equal(YEAR_MS);
  });

  it('is not due before its point, nor when a successor could not end later (its issuer ends first)', () => {
    const base = { current: window, leadSeconds: 0, lifetimeSeconds: 3 * 365 * 86_400 };
    expect(renewalDue({ ...base, nowMs: 2 * YEAR_MS - 1, issuerNotAfterMs: 10 * YEAR_MS })).to.equal(false);
    expect(renewalDue({ ...base, nowMs: 2 * YEAR_MS, issuerNotAfterMs: 10 * YEAR_MS })).to.equal(true);
    expect(renewalDue({ ...base, nowMs: 2 * YEAR_MS, issuerNotAfterMs: 3 * YEAR_MS })).to.equal(false);
  });
});

describe('PkiNode: automatic CA renewal with the clock moved past every renewal point', function () {
  this.timeout(180_000);
  let c: PkiTestCluster;
  let initial: { azIcas: CaRecord[]; nodeIca: Map<string, string>; tls: Map<string, Uint8Array> };
  // Past the AZ ICA's (5 y, renewed when less than a node ICA's 3 y + 30 d remains), the node
  // ICA's (3 y + 30 d, renewed when less than the longest default leaf lifetime remains, and at
  // two thirds at the latest) and the node TLS certificate's (2 y, two thirds) renewal points.
  const OFFSET_MS = 800 * DAY_MS;

  before(async () => {
    c = new PkiTestCluster();
    await buildTwoAzCluster(c);
    const store = c.nodes.get('a1')!.app.store;
    const nodes = await store.nodes();
    initial = {
      azIcas: (await store.cas()).filter((x) => x.role === 'az'),
      nodeIca: new Map(nodes.map((n) => [n.nodeId, n.icaIssuerId])),
      tls: new Map(nodes.map((n) => [n.nodeId, n.tlsCertDer])),
    };
    c.clockOffsetMs = OFFSET_MS;
  });
  after(() => c.stop());

  it('renews each AZ ICA once, under the root, with a new wrapped key', async () => {
    const store = c.nodes.get('a1')!.app.store;
    const renewed = await eventually('both AZ ICAs renewed', async () => {
      const azIcas = (await store.cas()).filter((x) => x.role === 'az');
      return azIcas.length === 4 ? azIcas : null;
    });
    for (const az of ['az1', 'az2']) {
      const mine = renewed.filter((x) => x.az === az).sort((a, b) => a.installedAt - b.installedAt);
      expect(mine).to.have.length(2);
      const [old, next] = mine as [CaRecord, CaRecord];
      expect(old.issuerId).to.equal(initial.azIcas.find((x) => x.az === az)!.issuerId);
      expect(next.wrappedKey).to.not.equal(null);
      expect(next.parentIssuerId).to.equal(old.parentIssuerId);
      expect(next.notAfter).to.be.greaterThan(old.notAfter);
    }
  });

  it("the operator report plans the renewal of each AZ ICA in use, and of no replaced one or the root", async () => {
    const report = await c.nodes.get('a1')!.operatorReport();
    const now = Date.now() + OFFSET_MS;
    for (const az of ['az1', 'az2']) {
      const azIcas = report.cas.filter((x) => x.role === 'az' && x.az === az).sort((a, b) => a.notAfterMs - b.notAfterMs);
      expect(azIcas.map((x) => x.renewAtMs === null)).to.deep.equal([true, false]);
      // Two thirds of 5 years from now, or a node ICA's default lifetime before its end, whichever is first.
      expect(azIcas[1]!.renewAtMs!).to.be.greaterThan(now).and.lessThan(azIcas[1]!.notAfterMs);
    }
    expect(report.cas.find((x) => x.role === 'root')?.renewAtMs).to.equal(null);
  });

  it('renews every node ICA and TLS certificate with keys made on the node, and keeps the replaced ICA key', async () => {
    for (const [id, node] of c.nodes) {
      const record = await eventually(`${id} renewed`, async () => {
        const r = await node.app.store.getNode(id);
        return r && r.icaIssuerId !== initial.nodeIca.get(id) && !Buffer.from(r.tlsCertDer).equals(Buffer.from(initial.tls.get(id)!)) ? r : null;
      });
      const keys = await eventually(`${id} adopted its renewed keys`, () => {
        const k = node.nodeKeys();
        return k && issuerIdOf(k.ica.spkiDer) === record.icaIssuerId && Buffer.from(k.tls.spkiDer).equals(Buffer.from(readCertificateFields(record.tlsCertDer).spkiDer)) ? k : null;
      });
      expect((keys.previousIcas ?? []).map((k) => issuerIdOf(k.spkiDer))).to.include(initial.nodeIca.get(id));
      const tls = readCertificateFields(record.tlsCertDer);
      expect(tls.notBefore.getTime()).to.be.greaterThan(Date.now() + OFFSET_MS - 10 * 60_000);
    }
  });

  it('issues under the renewed node ICA; OpenSSL verifies the chain at the moved time', async () => {
    const a2 = c.nodes.get('a2')!;
    const issued = await eventually('issued by the renewed ICA', async () => {
      const leaf = await issueVia(a2, c, `renewed-${Date.now()}`);
      return leaf.issuerId === (await a2.app.store.getNode('a2'))!.icaIssuerId ? leaf : null;
    });
    const root = await a2.caBundle();
    const dir = c.dataDir;
    writeFileSync(join(dir, 'root.pem'), root.rootPem);
    writeFileSync(join(dir, 'leaf.pem'), issued.certificatePem);
    writeFileSync(join(dir, 'chain.pem'), issued.chainPem);
    const at = attime(Date.now() + OFFSET_MS);
    expectVerifies(['-x509_strict', '-attime', at, '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, 'leaf.pem')]);
  });

  it('keeps a replaced node ICA\'s CRL current with the kept key', async () => {
    const a1 = c.nodes.get('a1')!;
    const old = initial.nodeIca.get('a1')!;
    const crl = await eventually('a CRL of the replaced node ICA published after the move', async () => {
      const latest = await a1.app.store.latestCrl(old);
      return latest && latest.thisUpdate > Date.now() + OFFSET_MS - 10 * 60_000 ? latest : null;
    });
    expect(crl.crlNumber).to.be.greaterThan(1);
  });
});
