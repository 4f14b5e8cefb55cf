import { expect } from 'chai';
import { PkiTestCluster, buildTwoAzCluster, eventually, issueVia } from './node-cluster-harness.ts';
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

});
