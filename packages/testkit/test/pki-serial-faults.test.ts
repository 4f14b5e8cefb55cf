// The serial faults of PKI runs (src/cluster/pki-serial-faults.ts) on a formed cluster: the tiny
// serial source makes a node ICA's serials small, a buggy proposer's duplicate `Issued` is refused
// by every replica, and the checker reports a duplicate that was accepted or changed a replica.
import { SeededRandom } from '@adrestia/consensus';
import { expect } from 'chai';
import {
  PkiLedger,
  PkiSimCluster,
  TINY_SERIAL_RANGE,
  TinySerialRandom,
  duplicateSerialViolations,
  injectDuplicateIssued,
  issueVia,
  revokeVia,
  runUntilSettled,
  type PkiIssued,
} from '../src/cluster/index.ts';

describe('PKI serial faults (tiny serial source, duplicate Issued)', function () {
  this.timeout(60_000);

  it('TinySerialRandom: serial draws give 1..range while enabled, the inner draws otherwise', () => {
    let on = false;
    const tiny = new TinySerialRandom(new SeededRandom(3), () => on);
    const plain = new SeededRandom(3);
    expect([tiny.nextInt(0x1_0000), tiny.nextInt(10)]).to.deep.equal([plain.nextInt(0x1_0000), plain.nextInt(10)]);
    on = true;
    for (let serial = 0; serial < 20; serial++) {
      const draws = Array.from({ length: 8 }, () => tiny.nextInt(0x1_0000));
      expect(draws.slice(0, 7)).to.deep.equal([0, 0, 0, 0, 0, 0, 0]);
      expect(draws[7]).to.be.within(1, TINY_SERIAL_RANGE);
    }
  });

  it('a duplicate Issued under an acknowledged serial is refused with ERR_SERIAL_REUSED; the checker flags one accepted or one that changed a replica', async () => {
    const cluster = new PkiSimCluster({ seed: 11 });
    try {
      expect(await cluster.form(60_000_000)).to.equal(true);
      cluster.tinySerials = true;
      const ledger = new PkiLedger();
      const deadline = cluster.scheduler.nowUs + 20_000_000;
      const via = cluster.localLeaderOf('az1')!.id;
      const leaves: PkiIssued[] = [];
      for (let i = 0; leaves.length < 2 && i < 20; i++) {
        const leaf = await runUntilSettled(cluster, issueVia(cluster, via, `tiny-${i}`, ledger), deadline);
        if (leaf !== null) leaves.push(leaf);
      }
      expect(leaves).to.have.length(2);
      for (const leaf of leaves) expect(parseInt(leaf.serialHex, 16)).to.be.within(1, TINY_SERIAL_RANGE);
      expect(await runUntilSettled(cluster, revokeVia(cluster, via, leaves[1]!, ledger), deadline)).to.equal(true);

      const injected = await injectDuplicateIssued(cluster, ledger.issued, ledger.revoked, () => 0);
      expect(injected).to.not.equal(null);
      await runUntilSettled(cluster, injected!.settled, deadline);
      expect(injected!.injection).to.include({ issuerId: leaves[0]!.issuerId, serialHex: leaves[0]!.serialHex, outcome: 'ERR_SERIAL_REUSED' });
      expect(await duplicateSerialViolations(cluster, [injected!.injection])).to.deep.equal([]);

      const accepted = { ...injected!.injection, outcome: 'accepted' };
      expect(await duplicateSerialViolations(cluster, [accepted])).to.deep.equal([`a duplicate Issued under ${leaves[0]!.issuerId}/${leaves[0]!.serialHex} was accepted`]);
      const changed = { ...injected!.injection, originalDer: leaves[1]!.der };
      expect((await duplicateSerialViolations(cluster, [changed])).filter((m) => m.includes('holds another certificate'))).to.have.length(3);
    } finally {
      await cluster.stopAll();
    }
  });
});
