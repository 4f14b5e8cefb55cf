// Root rollover (node/ca/root-rollover.ts): a new root with cross certificates both ways, every
// AZ ICA re-issued under it, and OpenSSL verifying a leaf issued before and one issued after the
// rollover against the old root and against the new one (through a cross certificate).
import { expect } from 'chai';
import { toPem } from '../src/ca/pem.ts';
import type { CaRecord } from '../src/state/records.ts';
import { CLUSTER_ID, PkiTestCluster, azSpec, eventually, issueVia } from './node-cluster-harness.ts';
import { expectVerifies, writeFile } from './node-ca-fixtures.ts';

describe('PkiNode.rotateRoot: root rollover with cross certificates (RFC 4158 §2.3)', function () {
  this.timeout(60_000);
  const c = new PkiTestCluster();
  after(() => c.stop());

  it('installs a new root, re-issues the AZ ICA under it, and both chains verify against both roots', async () => {
    const a1 = await c.start('a1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
    await eventually('a1 ready', () => a1.status().ready);
    const before = await issueVia(a1, c, 'before');
    const oldRoot = (await a1.caBundle()).rootPem;
    const oldAzIca = (await a1.app.store.cas()).find((ca) => ca.role === 'az')!;

    const rotated = await a1.rotateRoot();
    expect(rotated.previousRootIssuerId).to.not.equal(rotated.rootIssuerId);
    expect(rotated.azIcas.map((x) => x.az)).to.deep.equal(['az1']);
    const store = a1.app.store;
    expect((await store.cluster())!.rootIssuerId).to.equal(rotated.rootIssuerId);
    const azIcas = (await store.cas()).filter((ca): ca is CaRecord => ca.role === 'az');
    const renewed = azIcas.find((ca) => ca.issuerId === rotated.azIcas[0]!.issuerId)!;
    expect(renewed.parentIssuerId).to.equal(rotated.rootIssuerId);
    // The old AZ ICA stays valid (unrevoked): what it signed keeps verifying.
    expect(azIcas.find((ca) => ca.issuerId === oldAzIca.issuerId)!.revokedAt).to.equal(null);

    const bundle = await a1.caBundle();
    expect(bundle.rootPem).to.equal(toPem(rotated.rootCertDer));
    expect(bundle.rootsPem).to.include(oldRoot).and.include(bundle.rootPem);
    const cross = bundle.crossCertificatesPem;
    expect(cross.match(/BEGIN CERTIFICATE/g)).to.have.length(2);

    const after = await issueVia(a1, c, 'after');
    const dir = c.dataDir;
    const roots = { old: writeFile(dir, 'old-root.pem', oldRoot), new: writeFile(dir, 'new-root.pem', bundle.rootPem) };
    // The new AZ ICA, so a chain may also run through it.
    const extra = toPem(renewed.certDer) + cross;
    for (const [name, leaf] of [['before', before], ['after', after]] as const) {
      const leafPath = writeFile(dir, `${name}.pem`, leaf.certificatePem);
      // The answer's chain ends with the root of the moment: only its intermediates are untrusted here.
      const intermediates = pemBlocksOf(leaf.chainPem).filter((pem) => pem !== oldRoot && pem !== bundle.rootPem).join('');
      const untrusted = writeFile(dir, `${name}-untrusted.pem`, intermediates + extra);
      for (const root of [roots.old, roots.new]) expectVerifies(['-x509_strict', '-CAfile', root, '-untrusted', untrusted, leafPath]);
    }
    // The new AZ ICA verifies against the old root through the cross certificate.
    const newIca = writeFile(dir, 'new-ica.pem', toPem(renewed.certDer));
    expectVerifies(['-x509_strict', '-CAfile', roots.old, '-untrusted', writeFile(dir, 'cross.pem', cross), newIca]);
  });
});

function pemBlocksOf(text: string): string[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g) ?? []).map((b) => (b.endsWith('\n') ? b : `${b}\n`));
}
