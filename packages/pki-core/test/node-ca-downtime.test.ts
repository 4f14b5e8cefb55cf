// Recovery after long downtime (docs/architecture.md §21), the CA side: the cluster's wall clock
// jumps past the AZ ICA lifetime (5 y) at once, as when a cluster is switched on again after
// years off. No AZ ICA is valid any more, so the global leader re-issues each under the root
// (node/ca/az-ica-renewal.ts, replacing the newest expired one), then every node renews its
// expired node ICA and TLS certificate under the new AZ ICA (node/ca/node-renewal.ts), and a new
// leaf verifies with OpenSSL at the moved time. (The TLS mesh that lets an AZ form again on
// expired certificates is the server's: packages/server/test/e2e-downtime.test.ts.)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { readCertificateFields } from '../src/ca/cert-fields.ts';
import { latestCa } from '../src/node/ca/current-ca.ts';
import type { CaRecord } from '../src/state/records.ts';
import { PkiTestCluster, buildTwoAzCluster, eventually, issueVia } from './node-cluster-harness.ts';
import { attime, DAY_MS, expectVerifies } from './node-ca-fixtures.ts';

describe('PkiNode: recovery with the clock moved past the AZ ICA lifetime (docs/architecture.md §21)', function () {
  this.timeout(180_000);
  let c: PkiTestCluster;
  let initialAzIcas: CaRecord[];
  /** Past the AZ ICA's 5 years (1825 d), inside the root's 20. */
  const OFFSET_MS = 1900 * DAY_MS;

  before(async () => {
    c = new PkiTestCluster();
    await buildTwoAzCluster(c);
    initialAzIcas = (await c.nodes.get('a1')!.app.store.cas()).filter((x) => x.role === 'az');
    for (const ica of initialAzIcas) expect(ica.notAfter, `AZ ICA of ${ica.az} ends before the moved clock`).to.be.lessThan(Date.now() + OFFSET_MS);
    c.clockOffsetMs = OFFSET_MS;
  });
  after(() => c.stop());

  it('latestCa names the newest unrevoked CA of a role even when it has expired', () => {
    for (const az of ['az1', 'az2']) expect(latestCa(initialAzIcas, { azIcaOf: az })?.issuerId).to.equal(initialAzIcas.find((x) => x.az === az)!.issuerId);
  });

  it('the global leader re-issues every expired AZ ICA under the root, once, with a new wrapped key', async () => {
    const store = c.nodes.get('a1')!.app.store;
    const azIcas = await eventually('both AZ ICAs re-issued', async () => {
      const all = (await store.cas()).filter((x) => x.role === 'az');
      return all.length === 4 ? all : null;
    }, 60_000);
    for (const az of ['az1', 'az2']) {
      const [old, next] = azIcas.filter((x) => x.az === az).sort((a, b) => a.installedAt - b.installedAt) as [CaRecord, CaRecord];
      expect(old.issuerId).to.equal(initialAzIcas.find((x) => x.az === az)!.issuerId);
      expect(next.parentIssuerId).to.equal(old.parentIssuerId);
      expect(next.wrappedKey).to.not.equal(null);
      expect(readCertificateFields(next.certDer).notBefore.getTime()).to.be.greaterThan(Date.now() + OFFSET_MS - 10 * 60_000);
    }
  });

  it('every node renews its expired node ICA and TLS certificate under the new AZ ICA', async () => {
    for (const [id, node] of c.nodes) {
      const record = await eventually(`${id} renewed`, async () => {
        const r = await node.app.store.getNode(id);
        const ica = r === undefined ? undefined : await node.app.store.getCa(r.icaIssuerId);
        return r && ica && ica.notAfter > Date.now() + OFFSET_MS && readCertificateFields(r.tlsCertDer).notAfter.getTime() > Date.now() + OFFSET_MS ? { r, ica } : null;
      }, 60_000);
      const azIca = initialAzIcas.find((x) => x.az === record.r.az)!;
      expect(record.ica.parentIssuerId, `${id}: its node ICA is signed by the re-issued AZ ICA`).to.not.equal(azIca.issuerId);
    }
  });

  it('issues a leaf that OpenSSL verifies at the moved time', async () => {
    const b2 = c.nodes.get('b2')!;
    const issued = await eventually('issued by a renewed node ICA', async () => {
      const leaf = await issueVia(b2, c, `downtime-${Date.now()}`);
      return leaf.issuerId === (await b2.app.store.getNode('b2'))!.icaIssuerId ? leaf : null;
    });
    const dir = c.dataDir;
    writeFileSync(join(dir, 'root.pem'), (await b2.caBundle()).rootPem);
    writeFileSync(join(dir, 'leaf.pem'), issued.certificatePem);
    writeFileSync(join(dir, 'chain.pem'), issued.chainPem);
    expectVerifies(['-x509_strict', '-attime', attime(Date.now() + OFFSET_MS), '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, 'leaf.pem')]);
  });
});
