import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openssl } from './ca-fixtures.ts';
import { PkiTestCluster, azSpec, eventually } from './node-cluster-harness.ts';
import { isPkiError } from '../src/errors.ts';
import { toPem } from '../src/ca/pem.ts';
import type { PkiNode } from '../src/node/pki-node.ts';

const CLUSTER_ID = '7c0e5a1b-2d3f-4a5b-8c9d-0e1f2a3b4c5d';
const AZ3 = azSpec(3);

async function codeOf(p: Promise<unknown>): Promise<{ code: string; field: string | undefined }> {
  try {
    await p;
  } catch (e) {
    if (isPkiError(e)) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error('expected a refusal');
}

function csrPem(dir: string, name: string): string {
  const key = join(dir, `${name}.key`);
  expect(openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]).status).to.equal(0);
  return openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}.svc.example`, '-addext', `subjectAltName=DNS:${name}.svc.example`]).stdout;
}

function issueVia(node: PkiNode, c: PkiTestCluster, name: string) {
  const csr = csrPem(c.dataDir, name);
  return eventually(`issue ${name} via ${node.nodeId}`, () => node.issue({ csr, profile: 'serverLeaf', requester: `test:${name}` }));
}

const localMembers = (n: PkiNode): string[] => {
  const cs = n.consensus.status().local.confState;
  return [...cs.voters, ...cs.learners];
};
const seatMembers = (n: PkiNode): string[] => {
  const cs = n.consensus.status().seat?.confState;
  return cs ? [...cs.voters, ...cs.learners] : [];
};

/** The AZ phases and node ids every live node holds: what a refusal must leave untouched. */
async function mapOf(c: PkiTestCluster): Promise<string[]> {
  const views = await Promise.all(
    c.live().map(async (n) => JSON.stringify([(await n.app.store.azs()).map((a) => `${a.name}:${a.phase}`), (await n.app.store.nodes()).map((x) => x.nodeId).sort()])),
  );
  return [...new Set(views)];
}

describe('admin (docs/spec.md §9): add and remove an AZ, remove a node of another AZ (3 AZs in one process)', function () {
  this.timeout(120_000);
  let c: PkiTestCluster;
  before(async () => {
    c = new PkiTestCluster();
    await c.start('a1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
    await c.start('a2', 'az1', { mode: 'join', localLeaderId: 'a1' });
    await c.start('b1', 'az2', { mode: 'foundAz', azSpec: azSpec(2), globalLeaderId: 'a1' });
    for (const id of ['b2', 'b3']) await c.start(id, 'az2', { mode: 'join', localLeaderId: 'b1' });
    await eventually('every node ready', () => c.live().every((n) => n.status().ready));
  });
  after(() => c.stop());

  it('declaring an AZ validates name, CIDRs, overlaps and VIP, naming the field; a valid one is committed as declared everywhere', async () => {
    const a1 = c.nodes.get('a1')!;
    const before = await mapOf(c);
    const refusals = [
      [{ name: '-bad', subnets: AZ3.subnets, localVip: AZ3.localVip }, 'ERR_INPUT_INVALID', 'name'],
      [{ name: 'az1', subnets: AZ3.subnets, localVip: AZ3.localVip }, 'ERR_ALREADY_EXISTS', 'name'],
      [{ name: 'az3', subnets: [], localVip: AZ3.localVip }, 'ERR_INPUT_INVALID', 'subnets'],
      [{ name: 'az3', subnets: ['10.3.0.1/16'], localVip: AZ3.localVip }, 'ERR_INPUT_INVALID', 'subnets[0]'],
      [{ name: 'az3', subnets: ['10.3.0.0/16', '10.3.4.0/24'], localVip: AZ3.localVip }, 'ERR_INPUT_INVALID', 'subnets[1]'],
      [{ name: 'az3', subnets: ['10.3.0.0/16', '10.2.128.0/17'], localVip: AZ3.localVip }, 'ERR_INPUT_INVALID', 'subnets[1]'],
      [{ name: 'az3', subnets: AZ3.subnets, localVip: '10.3.0.300' }, 'ERR_INPUT_INVALID', 'localVip'],
      [{ name: 'az3', subnets: AZ3.subnets, localVip: '10.4.0.1' }, 'ERR_INPUT_INVALID', 'localVip'],
      [{ name: 'az3', subnets: AZ3.subnets, localVip: '10.3.255.255' }, 'ERR_INPUT_INVALID', 'localVip'],
      [{ name: 'az3', subnets: ['10.3.0.0/16'], localVip: '10.2.0.1' }, 'ERR_INPUT_INVALID', 'localVip'],
    ] as const;
    for (const [spec, code, field] of refusals) {
      expect(await codeOf(a1.addAz(spec as never, 'test')), JSON.stringify(spec)).to.deep.equal({ code, field });
    }
    expect(await mapOf(c)).to.deep.equal(before);
    const declared = await c.nodes.get('b2')!.addAz(AZ3, 'test'); // any node: the event is global
    expect(declared.created).to.equal(true);
    expect(declared.az).to.deep.include({ name: 'az3', phase: 'declared', founderNodeId: null });
    await eventually('az3 declared on a1', async () => (await a1.app.store.getAz('az3')) !== undefined);
    expect((await a1.addAz({ ...AZ3, subnets: [...AZ3.subnets] }, 'test')).created, 'the same declaration again').to.equal(false);
    expect(await codeOf(a1.addAz({ ...AZ3, localVip: '10.3.0.2' }, 'test'))).to.deep.equal({ code: 'ERR_ALREADY_EXISTS', field: 'name' });
    for (const n of c.live()) await eventually(`az3 declared on ${n.nodeId}`, async () => (await n.app.store.getAz('az3'))?.phase === 'declared');
  });

  it('a node configured otherwise is refused ERR_AZ_MISMATCH; the first node founds the declared AZ, a second joins, its seat becomes a voter', async () => {
    const wrongVip = { ...AZ3, localVip: '10.3.0.2' };
    expect(await codeOf(c.start('cx', 'az3', { mode: 'foundAz', azSpec: wrongVip, globalLeaderId: 'a1' }))).to.deep.equal({ code: 'ERR_AZ_MISMATCH', field: undefined });
    expect((await c.nodes.get('a1')!.app.store.getAz('az3'))?.phase, 'the refusal founded nothing').to.equal('declared');
    await c.start('c1', 'az3', { mode: 'foundAz', azSpec: AZ3, globalLeaderId: 'a1' });
    await c.start('c2', 'az3', { mode: 'join', localLeaderId: 'c1' });
    await eventually('az3 nodes ready', () => ['c1', 'c2'].every((id) => c.nodes.get(id)!.status().ready));
    for (const n of c.live()) {
      await eventually(`az3 founded by c1 on ${n.nodeId}`, async () => {
        const az = await n.app.store.getAz('az3');
        return az?.phase === 'active' && az.founderNodeId === 'c1';
      });
    }
    await eventually('seat az3 is a global voter', () => c.globalLeader()?.consensus.status().seat?.confState.voters.includes('az3'));
    // One founder per AZ: another node asking to found it now is told to join.
    const g = c.globalLeader()!;
    const csrs = { addresses: { api: '127.0.0.98:8443', raft: '127.0.0.98:7000' }, icaCsrDer: new Uint8Array([0x30, 0]), tlsCsrDer: new Uint8Array([0x30, 0]) };
    expect(await g.handlePeer('c9', { kind: 'foundAz', az: AZ3, nodeId: 'c9', ...csrs })).to.include({ kind: 'error', code: 'ERR_ALREADY_EXISTS' });
    await issueVia(c.nodes.get('c2')!, c, 'in-az3');
  });

  it("removing a node of another AZ (its local leader) takes it out of that AZ's local group after a leadership hand-off", async () => {
    const victim = await eventually('az2 local leader', () => c.localLeader('az2'));
    await c.nodes.get('a2')!.removeNode(victim.nodeId, 'test');
    const next = await eventually('az2 led by another node without the removed one', () => {
      const l = c.live().find((n) => n.az === 'az2' && n !== victim && n.consensus.isLocalLeader());
      return l && !localMembers(l).includes(victim.nodeId) ? l : null;
    });
    expect(localMembers(next)).to.have.lengthOf(2);
    await eventually('the removed node no longer reports ready', () => !victim.status().ready);
    await issueVia(next, c, 'after-node-removal');
    await c.crash(victim.nodeId); // its host is gone; the tests below use the rest
  });

  it('refusals change nothing: unknown AZ, own AZ, the global leader seat\'s AZ, a removal leaving no live voter majority', async () => {
    const before = await mapOf(c);
    const b = await eventually('az2 local leader', () => c.localLeader('az2'));
    expect(await codeOf(b.removeAz('az9', 'test'))).to.deep.equal({ code: 'ERR_AZ_UNKNOWN', field: 'name' });
    expect(await codeOf(b.removeAz('no such/name', 'test'))).to.deep.equal({ code: 'ERR_INPUT_INVALID', field: 'name' });
    expect((await codeOf(c.nodes.get('c2')!.removeAz('az3', 'test'))).code, 'asked through a follower of az3').to.equal('ERR_AZ_SELF');
    expect(c.globalLeader()?.az).to.equal('az1');
    await eventually("az2's seat knows the global leader", () => b.consensus.status().seat?.leaderId === 'az1');
    expect(await codeOf(b.removeAz('az1', 'test'))).to.deep.equal({ code: 'ERR_AZ_GLOBAL_LEADER', field: 'name' });
    // With az2 down, removing az3 would leave az1 alone among voters {az1, az2}: no majority.
    const az2 = c.live().filter((n) => n.az === 'az2').map((n) => n.nodeId);
    for (const id of az2) await c.crash(id);
    const a1 = c.nodes.get('a1')!;
    await eventually('the global leader no longer hears az2', () => !a1.otherAzLeaders().has('az2') && a1.consensus.status().seat?.progress?.['az2']?.recentActive === false);
    expect(await codeOf(a1.removeAz('az3', 'test'))).to.deep.equal({ code: 'ERR_GLOBAL_MAJORITY', field: 'name' });
    for (const id of az2) await c.start(id, 'az2', { mode: 'restart' });
    await eventually('az2 back', () => c.localLeader('az2') && c.live().every((n) => n.status().ready));
    expect(await mapOf(c)).to.deep.equal(before);
  });

  it('removes az3 (resuming a partial run): seat out of the global group, nodes revoked and in its CRL (openssl), issuance and global commits go on', async () => {
    const a1 = c.nodes.get('a1')!;
    const a2 = c.nodes.get('a2')!;
    // A partial run, as a crashed first attempt leaves it: removal started, one node withdrawn.
    await a1.commitOk({ type: 'AzRemovalStarted', name: 'az3', requestedBy: 'test', at: Date.now() }, 'global');
    await a1.removeNode('c2', 'test');
    const azIca = (await a1.app.store.cas()).find((x) => x.role === 'az' && x.az === 'az3')!;
    const nodeIcas = (await a1.app.store.cas()).filter((x) => x.role === 'node' && x.az === 'az3');
    // A follower: handed to its local leader. Removal refuses (ERR_GLOBAL_MAJORITY) until az2's
    // seat, restarted by the test before, answers again; resuming the removal is idempotent.
    const removal = await eventually('az3 removed once the remaining seats answer', async () => {
      try {
        return await a2.removeAz('az3', 'test');
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_GLOBAL_MAJORITY') return null;
        throw e;
      }
    });
    expect(removal.nodes.map((n) => n.nodeId)).to.deep.equal(['c1']);
    expect(removal.revoked).to.deep.equal([{ issuerId: azIca.parentIssuerId, serialHex: azIca.serialHex }]);
    expect(seatMembers(c.globalLeader()!)).to.not.include('az3');
    for (const n of c.live().filter((x) => x.az !== 'az3')) {
      await eventually(`az3 gone on ${n.nodeId}`, async () => (await n.app.store.getAz('az3')) === undefined);
      expect((await n.app.store.nodes()).filter((x) => x.az === 'az3')).to.deep.equal([]);
      const map = await n.clusterMap(0);
      expect(map.unchanged ? [] : map.map.azs.map((z) => z.name)).to.not.include('az3');
    }
    expect(await codeOf(a1.removeAz('az3', 'test')), 'a retry after completion').to.deep.equal({ code: 'ERR_AZ_UNKNOWN', field: 'name' });
    // RFC 5280 §5.3.1: the node ICAs listed cessationOfOperation in the AZ ICA's final CRL.
    const crl = (await a1.app.store.latestCrl(azIca.issuerId))!;
    const dir = c.dataDir;
    writeFileSync(join(dir, 'az3.crl'), crl.crlDer);
    writeFileSync(join(dir, 'az3-ica.pem'), toPem(azIca.certDer));
    const text = openssl(['crl', '-inform', 'DER', '-in', join(dir, 'az3.crl'), '-CAfile', join(dir, 'az3-ica.pem'), '-noout', '-text']);
    expect(text.stderr).to.match(/verify OK/);
    for (const ica of nodeIcas) expect(text.stdout.toUpperCase()).to.include(`SERIAL NUMBER: ${ica.serialHex.toUpperCase()}`);
    expect(text.stdout).to.include('Cessation Of Operation');
    // The root CRL (the global leader's scheduled work) lists the AZ ICA.
    await eventually('root CRL lists the az3 ICA', async () => {
      const root = await a1.app.store.latestCrl(azIca.parentIssuerId!);
      const revs = await a1.app.store.listRevoked(azIca.parentIssuerId!);
      return root !== undefined && revs.some((r) => r.serialHex === azIca.serialHex) && revs.every((r) => r.index <= root.index);
    });
    // The rest of the cluster goes on: issuance in az1 and az2, a global commit.
    await issueVia(a2, c, 'after-az-removal-1');
    const leaf = await issueVia(c.localLeader('az2')!, c, 'after-az-removal-2');
    await c.localLeader('az2')!.revoke({ serialHex: leaf.serialHex, reason: 'superseded', requestedBy: 'test' });
    // az3's node still running signs nothing more.
    expect(['ERR_AZ_REMOVING', 'ERR_NODE_REVOKED']).to.include((await codeOf(c.nodes.get('c1')!.issue({ csr: csrPem(dir, 'late'), profile: 'serverLeaf', requester: 'test' }))).code);
  });
});
