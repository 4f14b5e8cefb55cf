// A revocation may be asked of any AZ: the AZ that issued the certificate holds it (Issued is a
// local event), so another AZ hands the request to a node of the issuing AZ, which commits
// Revoked globally; the answer comes back only after that commit (node/revocation/revocation-routing.ts).
import { expect } from 'chai';
import { PkiTestCluster, buildTwoAzCluster, eventually, issueVia } from './node-cluster-harness.ts';
import { expectPkiRejects } from './expect-code.ts';

describe('PkiNode: revocation asked of an AZ that did not issue the certificate', function () {
  this.timeout(120_000);
  let c: PkiTestCluster;
  before(async () => {
    c = new PkiTestCluster();
    await buildTwoAzCluster(c);
  });
  after(() => c.stop());

  it('a node of az2 revokes a certificate issued in az1, by serial alone or with its issuer; every AZ records it', async () => {
    const b2 = c.nodes.get('b2')!;
    const first = await issueVia(c.nodes.get('a2')!, c, 'routed-1');
    const second = await issueVia(c.nodes.get('a3')!, c, 'routed-2');
    expect(await b2.app.store.findBySerial(first.serialHex), 'az2 does not hold az1 certificates').to.deep.equal([]);
    const bySerial = await eventually('revoke by serial via b2', () => b2.revoke({ serialHex: first.serialHex, reason: 'keyCompromise', requestedBy: 'test' }));
    const withIssuer = await eventually('revoke with issuer via b2', () =>
      b2.revoke({ serialHex: second.serialHex, issuerId: second.issuerId, reason: 'superseded', requestedBy: 'test' }),
    );
    expect(bySerial.revokedAt).to.be.a('number');
    expect(withIssuer.revokedAt).to.be.a('number');
    for (const n of c.live()) {
      for (const leaf of [first, second]) {
        await eventually(`${n.nodeId} holds the revocation of ${leaf.serialHex}`, async () => (await n.app.store.getRevocation(leaf.issuerId, leaf.serialHex)) !== undefined);
      }
    }
    const revocation = await c.nodes.get('a1')!.app.store.getRevocation(first.issuerId, first.serialHex);
    expect(revocation?.reason).to.equal('keyCompromise');
  });

  it('the refusals of the issuing AZ come back as they are; a serial no AZ issued is ERR_NOT_FOUND; nothing is recorded', async () => {
    const b1 = c.nodes.get('b1')!;
    const leaf = await issueVia(c.nodes.get('a1')!, c, 'routed-3');
    await eventually('first revocation via b1', () => b1.revoke({ serialHex: leaf.serialHex, reason: 'keyCompromise', requestedBy: 'test' }));
    await expectPkiRejects(b1.revoke({ serialHex: leaf.serialHex, reason: 'keyCompromise', requestedBy: 'test' }), 'ERR_ALREADY_REVOKED');
    const unknown = '7a5e0c1d2b3f4a5e6d7c8b9a0f1e2d3c';
    await expectPkiRejects(b1.revoke({ serialHex: unknown, reason: 'keyCompromise', requestedBy: 'test' }), 'ERR_NOT_FOUND');
    await expectPkiRejects(b1.revoke({ serialHex: unknown, issuerId: leaf.issuerId, reason: 'keyCompromise', requestedBy: 'test' }), 'ERR_NOT_FOUND');
    for (const n of c.live()) expect(await n.app.store.getRevocation(leaf.issuerId, unknown), n.nodeId).to.equal(undefined);
  });
});
