// PkiNodes (pki-core's library entry point) on the cluster simulator: 3 AZs × 3 nodes formed as
// the product forms a cluster, clients issuing and revoking under crashes, restarts, partitions
// and lossy links, and the PKI invariants of docs/architecture.md §11 checked after recovery.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { toPem } from '@adrestia/pki-core';
import { PkiLedger, PkiSimCluster, pkiViolations, runPkiSeed, serialReuse } from '../src/cluster/index.ts';

/** Virtual time starts at 2026-01-01T00:00:00Z: certificates are checked as of that day + 1 h. */
const SIM_ATTIME = String(Date.UTC(2026, 0, 1, 1) / 1000);

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

  it('seed 1 with signed audit checkpoints every virtual second: the history of every node verifies, checkpoints included (docs/architecture.md §18)', async () => {
    const r = await runPkiSeed({ seed: 1, auditCheckpointEverySeconds: 1 });
    expect(r.violations, JSON.stringify(r.faults)).to.deep.equal([]);
    expect(r.auditCheckpointsVerified, 'signed checkpoints verified in the live histories').to.be.greaterThan(9);
  });

  // Seeds whose chaos stalls a VIP holder past the new leader's wait (PkiSimCluster.stall): the
  // stalled holder must release at its first step after resuming (vip-fence.ts stepStallWatch).
  // The same seeds draw tiny-range serials that collide and a buggy proposer's duplicate `Issued`
  // (pki-serial-faults.ts): refused with ERR_SERIAL_REUSED, the replicas keep the acknowledged one.
  for (const seed of [6, 13]) {
    it(`seed ${seed}: a VIP holder stalled past the new leader's wait releases as it resumes; duplicate serials are refused`, async () => {
      const r = await runPkiSeed({ seed, instantDisks: true });
      expect(r.faults.some((f) => / stall /.test(f)), JSON.stringify(r.faults)).to.equal(true);
      expect(r.vipStallOverlaps, 'acquisitions over a stalled holder').to.be.greaterThan(0);
      expect(r.violations, JSON.stringify(r.faults)).to.deep.equal([]);
      expect(r.failures['ERR_SERIAL_REUSED'], 'issuances that drew a used serial').to.be.greaterThan(0);
      expect(r.duplicateOutcomes.length, 'duplicate Issued events injected').to.be.greaterThan(0);
      expect(r.duplicateOutcomes.every((o) => o === 'ERR_SERIAL_REUSED'), JSON.stringify(r.duplicateOutcomes)).to.equal(true);
    });
  }

  // A seed whose chaos stalls an AZ's local leader until a successor takes over: as it resumes it
  // steps the successor's higher term behind a slow disk, and its seat must stop acting at once
  // (two-tier-node.ts seatActsLive), not when the driver reports the step-down.
  it('seed 12: a local leader deposed during a stall stops acting for its seat before the driver reports it', async () => {
    const r = await runPkiSeed({ seed: 12, instantDisks: true });
    expect(r.faults.some((f) => /stall c1/.test(f)), JSON.stringify(r.faults)).to.equal(true);
    expect(r.violations, JSON.stringify(r.faults)).to.deep.equal([]);
  });

  it('a seed replays bit for bit: the same trace, the same certificates (DER) in the same order', async () => {
    const a = await runPkiSeed({ seed: 7, chaosMs: 1_500 });
    const b = await runPkiSeed({ seed: 7, chaosMs: 1_500 });
    expect(a.violations).to.deep.equal([]);
    expect(a.issuedDer.length, 'certificates acknowledged').to.be.greaterThan(5);
    expect(b.traceHash).to.equal(a.traceHash);
    expect(b.eventsRun).to.equal(a.eventsRun);
    expect(b.issuedDer).to.deep.equal(a.issuedDer);
    expect(b.caCertsDer.map((d) => Buffer.from(d).toString('hex'))).to.deep.equal(a.caCertsDer.map((d) => Buffer.from(d).toString('hex')));
    const c = await runPkiSeed({ seed: 8, chaosMs: 1_500 });
    expect(c.traceHash, 'another seed, another run').to.not.equal(a.traceHash);
  });

  it('OpenSSL verifies every certificate acknowledged in a faulty run: leaf → node ICA → AZ ICA → cluster root', async () => {
    const r = await runPkiSeed({ seed: 3, chaosMs: 2_000 });
    expect(r.violations).to.deep.equal([]);
    expect(r.issuedDer.length).to.be.greaterThan(5);
    const dir = mkdtempSync(join(tmpdir(), 'adrestia-sim-verify-'));
    try {
      const [root, ...intermediates] = r.caCertsDer;
      writeFileSync(join(dir, 'root.pem'), toPem(root!, 'CERTIFICATE'));
      writeFileSync(join(dir, 'chain.pem'), intermediates.map((d) => toPem(d, 'CERTIFICATE')).join(''));
      const leaves = r.issuedDer.map((hex, i) => {
        const path = join(dir, `leaf-${i}.pem`);
        writeFileSync(path, toPem(Buffer.from(hex, 'hex'), 'CERTIFICATE'));
        return path;
      });
      const out = execFileSync(
        'openssl',
        ['verify', '-x509_strict', '-purpose', 'sslserver', '-attime', SIM_ATTIME, '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), ...leaves],
        { encoding: 'utf8' },
      );
      expect(out.trim().split('\n').filter((l) => l.endsWith(': OK'))).to.have.length(leaves.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
