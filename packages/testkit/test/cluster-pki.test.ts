// PkiNodes (pki-core's library entry point) on the cluster simulator: 3 AZs × 3 nodes formed as
// the product forms a cluster, clients issuing and revoking under crashes, restarts, partitions
// and lossy links, and the PKI invariants of DESIGN "Tests" checked after recovery.
import { expect } from 'chai';
import { PkiLedger, PkiSimCluster, pkiViolations, runPkiSeed, serialReuse } from '../src/cluster/index.ts';

describe('PKI invariants on the simulated cluster (PkiNode × 9)', function () {
  this.timeout(120_000);

  it('forms 3 AZs × 3 nodes as the product does (found, found AZ via the global leader, join as learner then voter)', async () => {
    const cluster = new PkiSimCluster({ seed: 11 });
    try {
      expect(await cluster.form(60_000_000)).to.equal(true);
      const g = cluster.globalLeader()!;
      expect(g.node!.consensus.status().seat!.confState.voters).to.have.members(['az1', 'az2', 'az3']);
      for (const az of cluster.azs) {
        expect(cluster.localLeaderOf(az.name)!.node!.consensus.status().local.confState.voters).to.have.length(3);
      }
      expect(cluster.alive().every((n) => n.node!.status().ready)).to.equal(true);
      expect(await serialReuse(cluster)).to.deep.equal([]);
    } finally {
      await cluster.stopAll();
    }
  });

  it('the checks see an acknowledged certificate or revocation that a node does not hold', async () => {
    const cluster = new PkiSimCluster({ seed: 12 });
    try {
      expect(await cluster.form(60_000_000)).to.equal(true);
      const ledger = new PkiLedger();
      ledger.issued.push({ az: 'az1', requester: 'ghost', issuerId: 'no-such-issuer', serialHex: '01', der: '00' });
      ledger.revoked.push({ az: 'az2', issuerId: 'no-such-issuer', serialHex: '02' });
      const found = await pkiViolations(cluster, ledger);
      expect(found.filter((m) => m.includes('lacks acknowledged certificate'))).to.have.length(3); // az1's nodes
      expect(found.filter((m) => m.includes('lacks acknowledged revocation'))).to.have.length(9); // every node
    } finally {
      await cluster.stopAll();
    }
  });

  for (const seed of [1, 2]) {
    it(`seed ${seed}: no serial used twice, every acknowledged certificate in its AZ and every revocation in every AZ after recovery`, async () => {
      const r = await runPkiSeed({ seed });
      expect(r.violations, JSON.stringify(r.faults)).to.deep.equal([]);
      expect(r.issued, 'certificates acknowledged').to.be.greaterThan(10);
      expect(r.revoked, 'revocations acknowledged').to.be.greaterThan(2);
    });
  }
});
