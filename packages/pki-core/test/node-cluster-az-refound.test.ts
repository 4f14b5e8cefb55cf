import { expect } from 'chai';
import { PkiTestCluster, azSpec, eventually, issueVia } from './node-cluster-harness.ts';
import { isPkiError } from '../src/errors.ts';
import type { PkiNode } from '../src/node/pki-node.ts';

const CLUSTER_ID = '2b7d4c1e-9a3f-4e6b-8c1d-5f0a2e3b4c6d';

async function codeOf(p: Promise<unknown>): Promise<{ code: string; field: string | undefined }> {
  try {
    await p;
  } catch (e) {
    if (isPkiError(e)) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error('expected a refusal');
}

const seatVoters = (n: PkiNode): string[] => n.consensus.status().seat?.confState.voters ?? [];

describe('cluster az refound (node/admin/az-refound.ts): a lost AZ\'s seat replaced one change at a time (Raft thesis §4.1), 3 AZs in one process', function () {
  this.timeout(120_000);
  let c: PkiTestCluster;
  before(async () => {
    c = new PkiTestCluster();
    await c.start('a1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
    await c.start('b1', 'az2', { mode: 'foundAz', azSpec: azSpec(2), globalLeaderId: 'a1' });
    await c.start('c1', 'az3', { mode: 'foundAz', azSpec: azSpec(3), globalLeaderId: 'a1' });
    await c.start('c2', 'az3', { mode: 'join', localLeaderId: 'c1' });
    await eventually('every node ready', () => c.live().every((n) => n.status().ready));
    await eventually('three seats vote', () => seatVoters(c.nodes.get('a1')!).length === 3);
  });
  after(() => c.stop());

  it('refuses an unknown AZ, the asking node\'s own AZ, and an AZ whose nodes answer, changing nothing', async () => {
    const b1 = c.nodes.get('b1')!;
    expect(await codeOf(b1.refoundAz({ name: 'az9', requestedBy: 'test', force: false }))).to.deep.equal({ code: 'ERR_AZ_UNKNOWN', field: 'name' });
    expect(await codeOf(b1.refoundAz({ name: 'az2', requestedBy: 'test', force: true }))).to.deep.equal({ code: 'ERR_AZ_SELF', field: 'name' });
    expect(await codeOf(b1.refoundAz({ name: 'az3', requestedBy: 'test', force: false }))).to.deep.equal({ code: 'ERR_AZ_LIVE', field: 'name' });
    expect(seatVoters(c.nodes.get('a1')!)).to.include('az3');
    expect((await b1.app.store.getAz('az3'))?.phase).to.equal('active');
  });

  it('with every node of the AZ gone: its seat leaves the global group, its nodes are withdrawn, it is declared again; a fresh node founds it and its seat votes again', async () => {
    const old = await issueVia(c.nodes.get('c1')!, c, 'old-az3');
    const oldAzIca = (await c.nodes.get('a1')!.app.store.cas()).find((x) => x.role === 'az' && x.az === 'az3')!;
    for (const id of ['c1', 'c2']) await c.crash(id);
    // Asked of b1, az2's only node: it leads az2 and acts for its seat.
    const b1 = c.nodes.get('b1')!;
    const done = await eventually('refound accepted', async () => {
      try {
        return await b1.refoundAz({ name: 'az3', requestedBy: 'test', force: false });
      } catch (e) {
        if (isPkiError(e, 'ERR_AZ_LIVE') || isPkiError(e, 'ERR_NO_GLOBAL_QUORUM') || isPkiError(e, 'ERR_NOT_LEADER')) return null;
        throw e;
      }
    }, 60_000);
    expect(done.refounded).to.equal(true);
    expect(done.nodes.map((n) => n.nodeId).sort()).to.deep.equal(['c1', 'c2']);
    expect(done.azIcaIssuerId).to.not.equal(oldAzIca.issuerId);
    const a1 = c.nodes.get('a1')!;
    expect(a1.consensus.status().seat?.confState.voters.sort()).to.deep.equal(['az1', 'az2']);
    expect(await a1.app.store.getAz('az3')).to.deep.include({ phase: 'declared', founderNodeId: null });
    const cas = await a1.app.store.cas();
    expect(cas.filter((x) => x.role === 'node' && x.az === 'az3').every((x) => x.revokedAt !== null), 'old node ICAs revoked').to.equal(true);
    expect(cas.find((x) => x.issuerId === oldAzIca.issuerId)?.revokedAt, 'the old AZ ICA stays valid').to.equal(null);
    expect((await b1.refoundAz({ name: 'az3', requestedBy: 'test', force: false })).refounded, 'a retry after success').to.equal(false);

    await c.start('c3', 'az3', { mode: 'foundAz', azSpec: azSpec(3), globalLeaderId: a1.status().pkiGlobalLeader ? 'a1' : 'b1' });
    await eventually('seat az3 votes again', () => seatVoters(a1).includes('az3') && seatVoters(a1).length === 3);
    const c3 = c.nodes.get('c3')!;
    const fresh = await issueVia(c3, c, 'new-az3');
    const signer = (await c3.app.store.getCa(fresh.issuerId))!;
    expect(signer.parentIssuerId, 'the new node ICA is under the new AZ ICA').to.equal(done.azIcaIssuerId);
    // The old leaf's record went with az3's local log; its revocation still commits globally.
    expect(await c3.app.store.getCertificate(old.issuerId, old.serialHex)).to.equal(undefined);
    await eventually('old leaf revoked via az1', () => a1.revoke({ serialHex: old.serialHex, issuerId: old.issuerId, reason: 'superseded', requestedBy: 'test' }));
    await eventually('the revocation in az3', async () => (await c3.app.store.getRevocation(old.issuerId, old.serialHex))?.reason === 'superseded');
    expect(await codeOf(c3.revoke({ serialHex: old.serialHex, issuerId: old.issuerId, reason: 'superseded', requestedBy: 'test' }))).to.deep.include({ code: 'ERR_ALREADY_REVOKED' });
  });
});
