// A node whose TLS renewal was committed while it was cut off from its AZ's log
// (node/ca/node-renewal.ts `takeUpRenewedTls`): its peers pin the new certificate, so the node
// cannot be sent the entry that registers it until it presents that certificate; it takes the
// certificate up from a peer instead, only when it certifies the pending key and an AZ ICA of its
// AZ signed it. Then the log, once healed, names the same certificate.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { expect } from 'chai';
import { defaultCaKeyType } from '../src/ca/keys.ts';
import { fromPem } from '../src/ca/pem.ts';
import { buildCsr, FileNodeKeyStore } from '../src/node/ca/ca-node-keys.ts';
import { openssl } from './ca-fixtures.ts';
import { PkiTestCluster, buildTwoAzCluster, eventually } from './node-cluster-harness.ts';

const spkiOf = (der: Uint8Array): Buffer => new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });

describe('PkiNode: taking up a TLS renewal committed while the node was cut off', function () {
  this.timeout(120_000);
  let c: PkiTestCluster;
  before(async () => {
    c = new PkiTestCluster();
    await buildTwoAzCluster(c);
  });
  after(() => c.stop());

  it('takes up only the certificate an AZ ICA of its AZ signed for the pending key; the healed log names the same one', async () => {
    const a3 = c.nodes.get('a3')!;
    await eventually('a local leader of az1 other than a3', () => c.localLeader('az1') !== undefined && !a3.status().pkiLocalLeader);
    const leader = c.localLeader('az1')!;
    const registered = (await a3.app.store.getNode('a3'))!.tlsCertDer;
    c.localNet.isolate('a3');
    expect(await a3.tlsRenewalPending()).to.equal(false);

    // What a3's maintenance does when its certificate is due: a durable pending key, its CSR to the local leader.
    const pending = await new FileNodeKeyStore(c.nodeDir('a3')).createRenewalKey('tls', defaultCaKeyType);
    const answer = await eventually('the renewal committed', () => leader.handlePeer('a3', { kind: 'renewNode', nodeId: 'a3', tlsCsrDer: buildCsr({ subject: 'CN=a3,OU=az1', privateKey: pending.privateKey }) }));
    if (answer.kind !== 'registered') throw new Error(`unexpected answer ${answer.kind}`);
    const renewed = answer.tlsCertDer;
    expect(Buffer.from((await leader.app.store.getNode('a3'))!.tlsCertDer).equals(Buffer.from(renewed)), 'the leader registers the renewal').to.equal(true);
    expect(Buffer.from((await a3.app.store.getNode('a3'))!.tlsCertDer).equals(Buffer.from(registered)), 'a3, cut off, has not applied it').to.equal(true);
    expect(await a3.tlsRenewalPending()).to.equal(true);

    // Refused: the registered certificate (another key), a self-signed certificate for the pending key, bytes that are no certificate.
    expect(await a3.takeUpRenewedTls(registered)).to.equal(false);
    const selfSigned = openssl(['req', '-x509', '-key', join(c.nodeDir('a3'), 'node-tls.next.key'), '-subj', '/CN=a3', '-days', '30']);
    expect(selfSigned.status, selfSigned.stderr).to.equal(0);
    expect(await a3.takeUpRenewedTls(fromPem(selfSigned.stdout))).to.equal(false);
    expect(await a3.takeUpRenewedTls(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]))).to.equal(false);
    expect(await a3.tlsRenewalPending(), 'nothing was promoted').to.equal(true);
    expect(Buffer.from(a3.nodeKeys()!.tls.spkiDer).equals(spkiOf(registered))).to.equal(true);

    expect(await a3.takeUpRenewedTls(renewed)).to.equal(true);
    expect(Buffer.from(a3.nodeKeys()!.tls.spkiDer).equals(spkiOf(renewed)), 'the pending key is the key in use').to.equal(true);
    expect(await a3.tlsRenewalPending()).to.equal(false);
    expect(await a3.takeUpRenewedTls(renewed), 'once only').to.equal(false);

    c.localNet.heal();
    await eventually('a3 applies its renewal', async () => Buffer.from((await a3.app.store.getNode('a3'))!.tlsCertDer).equals(Buffer.from(renewed)));
    expect(Buffer.from(a3.nodeKeys()!.tls.spkiDer).equals(spkiOf(renewed))).to.equal(true);
  });
});
