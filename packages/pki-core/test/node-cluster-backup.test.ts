import { expect } from 'chai';
import { PkiTestCluster, azSpec, buildTwoAzCluster, eventually, issueVia } from './node-cluster-harness.ts';
import { crlListedSerials } from '../src/ca/crl-entries.ts';
import { isPkiError } from '../src/errors.ts';
import { decodeBackup, encodeBackup, type ClusterBackup } from '../src/node/admin/backup-file.ts';
import { PkiStateStore } from '../src/state/store.ts';
import type { IssuedLeaf } from '../src/node/pki-node-api.ts';

function codeOf(fn: () => unknown): { code: string; field: string | undefined } {
  try {
    fn();
  } catch (e) {
    if (isPkiError(e)) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error('expected a refusal');
}

async function stateOf(backup: ClusterBackup, az: string): Promise<PkiStateStore> {
  const part = backup.azs.find((a) => a.az === az);
  expect(part, `backup holds AZ ${az}`).to.not.equal(undefined);
  const store = await PkiStateStore.inMemory();
  await store.restore(part!.snapshot);
  return store;
}

describe('cluster backup (node/admin/backup.ts): every AZ read at a linearizable point, one checked file', function () {
  this.timeout(90_000);
  let c: PkiTestCluster;
  let file: Uint8Array;
  let leafA: IssuedLeaf;
  let leafB: IssuedLeaf;
  before(async () => {
    c = new PkiTestCluster();
    await buildTwoAzCluster(c);
    leafA = await issueVia(c.localLeader('az1')!, c, 'backup-a');
    leafB = await issueVia(c.localLeader('az2')!, c, 'backup-b');
    await c.localLeader('az2')!.revoke({ serialHex: leafB.serialHex, reason: 'keyCompromise', requestedBy: 'test' });
    // The backup holds the CRLs published so far: wait for the issuing node's CRL to list it.
    await eventually('node ICA CRL listing the revocation', async () => {
      const crl = await c.localLeader('az2')!.getCrl(leafB.issuerId);
      return crl !== null && [...crlListedSerials(crl)].includes(leafB.serialHex) ? crl : null;
    });
    // Asked of a follower of az1: it reads az1 itself and asks az2 over the peer protocol.
    const follower = c.live().find((n) => n.az === 'az1' && !n.status().pkiLocalLeader)!;
    file = await eventually('backup', () => follower.backup());
  });
  after(() => c.stop());

  it('holds both AZs: each its own leaves, every revocation, the wrapped AZ ICA keys and no node ICA key', async () => {
    const backup = decodeBackup(file);
    expect(backup.clusterId).to.equal((await c.localLeader('az1')!.app.store.cluster())!.clusterId);
    expect(backup.azs.map((a) => a.az)).to.deep.equal(['az1', 'az2']);
    const [az1, az2] = [await stateOf(backup, 'az1'), await stateOf(backup, 'az2')];
    expect((await az1.findBySerial(leafA.serialHex)).map((r) => r.issuerId)).to.deep.equal([leafA.issuerId]);
    expect(await az1.findBySerial(leafB.serialHex)).to.deep.equal([]);
    expect((await az2.findBySerial(leafB.serialHex)).map((r) => r.issuerId)).to.deep.equal([leafB.issuerId]);
    for (const s of [az1, az2]) {
      expect((await s.getRevocation(leafB.issuerId, leafB.serialHex))?.reason).to.equal('keyCompromise');
      const cas = await s.cas();
      expect(cas.filter((ca) => ca.role === 'az').map((ca) => ca.wrappedKey !== null)).to.deep.equal([true, true]);
      expect(cas.filter((ca) => ca.role === 'node')).to.have.length.greaterThan(0);
      expect(cas.filter((ca) => ca.role === 'node').every((ca) => ca.wrappedKey === null)).to.equal(true);
    }
  });

  it('refuses a corrupt, truncated or foreign file with ERR_INPUT_INVALID naming the backup', () => {
    const flipped = new Uint8Array(file);
    flipped[flipped.length - 10]! ^= 0x01;
    for (const bad of [flipped, file.subarray(0, file.length - 100), file.subarray(0, 10), new TextEncoder().encode('{"not":"a backup"}')]) {
      expect(codeOf(() => decodeBackup(bad))).to.deep.equal({ code: 'ERR_INPUT_INVALID', field: 'backup' });
    }
  });

  it('refuses a file whose checksum holds but whose AZ snapshot does not', () => {
    const backup = decodeBackup(file);
    const broken = encodeBackup({ ...backup, azs: [{ az: 'az1', snapshot: new Uint8Array([1, 2, 3]) }] });
    expect(codeOf(() => decodeBackup(broken))).to.deep.equal({ code: 'ERR_INPUT_INVALID', field: 'backup' });
  });


  describe('cluster restore (node/founding/restore-plan.ts): a new cluster founded from the file', () => {
    let r: PkiTestCluster;
    before(async () => {
      const backup = decodeBackup(file);
      r = new PkiTestCluster();
      await r.start('n1', 'az1', { mode: 'foundCluster', clusterId: backup.clusterId, azSpec: azSpec(1), restore: backup });
      await r.start('m1', 'az2', { mode: 'foundAz', azSpec: azSpec(2), globalLeaderId: 'n1', restore: backup });
      await eventually('every node ready', () => r.live().every((n) => n.status().ready));
    });
    after(() => r.stop());

    it('finds every leaf in the AZ that issued it, every revocation, and the former node ICA CRL listing it', async () => {
      const [n1, m1] = [r.nodes.get('n1')!, r.nodes.get('m1')!];
      expect((await n1.getCertificate(leafA.serialHex)).map((x) => x.issuerId)).to.deep.equal([leafA.issuerId]);
      const restoredB = await eventually('az2 leaves restored', async () => ((await m1.getCertificate(leafB.serialHex)).length > 0 ? m1.getCertificate(leafB.serialHex) : null));
      expect(restoredB.map((x) => x.issuerId)).to.deep.equal([leafB.issuerId]);
      for (const n of [n1, m1]) expect((await n.app.store.getRevocation(leafB.issuerId, leafB.serialHex))?.reason).to.equal('keyCompromise');
      const crl = await eventually('az2 node ICA CRL', () => m1.getCrl(leafB.issuerId));
      expect([...crlListedSerials(crl)]).to.include(leafB.serialHex);
    });

    it('keeps the backed-up root and AZ ICAs, gives the new nodes new node ICAs, and issues again in both AZs', async () => {
      const old = await c.localLeader('az1')!.app.store.cas();
      const now = await r.nodes.get('m1')!.app.store.cas();
      const ids = (cas: typeof old, role: string) => cas.filter((x) => x.role === role).map((x) => x.issuerId).sort();
      expect(ids(now, 'root')).to.deep.equal(ids(old, 'root'));
      expect(ids(now, 'az')).to.deep.equal(ids(old, 'az'));
      const fresh = now.filter((x) => x.role === 'node' && (x.nodeId === 'n1' || x.nodeId === 'm1'));
      expect(fresh.map((x) => x.nodeId).sort()).to.deep.equal(['m1', 'n1']);
      const again = await issueVia(r.nodes.get('m1')!, r, 'after-restore-b');
      expect(again.issuerId).to.equal(fresh.find((x) => x.nodeId === 'm1')!.issuerId);
      await issueVia(r.nodes.get('n1')!, r, 'after-restore-a');
    });
  });
});
