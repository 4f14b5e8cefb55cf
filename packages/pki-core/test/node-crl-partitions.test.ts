// Partition CRLs on a real PkiNode (node/revocation/crl-partitions.ts, docs/architecture.md §4.5):
// a node ICA created with a partition count records it, its leaves name the partition CRL of
// their serial, the node publishes every partition and re-signs the one a revocation lands in,
// and OpenSSL (`verify -crl_check`) takes each leaf's partition CRL as its CRL; the same partition
// of the AZ ICA's indirect CRL lists it too (`-extended_crl`). The complete CRL stays for relying
// parties that fetch it by hand.
import { expect } from 'chai';
import { pemBlocks, toPem } from '../src/ca/pem.ts';
import { crlPartitionOf } from '../src/state/crl-partitions.ts';
import { openssl, writeFile } from './ca-fixtures.ts';
import { azSpec, CLUSTER_ID, eventually, issueVia, PkiTestCluster } from './node-cluster-harness.ts';

const HTTP_PORT = 8080;
const PARTITIONS = 16;

describe('PkiNode partition CRLs (RFC 5280 §5.2.5 issuing distribution point = the leaf\'s CRL distribution point)', function () {
  this.timeout(120_000);
  const c = new PkiTestCluster({ publicHttpPort: HTTP_PORT, crlPartitions: PARTITIONS });
  let dir: string;

  before(async () => {
    dir = c.dataDir;
    await c.start('a1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
    await eventually('a1 ready', () => c.nodes.get('a1')!.status().ready);
  });
  after(() => c.stop());

  const cdpOf = (pemPath: string): string => {
    const ext = openssl(['x509', '-in', pemPath, '-noout', '-ext', 'crlDistributionPoints']).stdout;
    return /URI:(http:\/\/\S+\.crl)/.exec(ext)?.[1] ?? 'no CRL distribution point';
  };

  it('the node ICA records its partition count; each leaf names its partition CRL and indirect partition CRL, whose IDP is that URL; openssl -crl_check (-extended_crl): revoked and good', async () => {
    const a1 = c.nodes.get('a1')!;
    const [gone, kept] = [await issueVia(a1, c, 'part-gone'), await issueVia(a1, c, 'part-kept')];
    const ca = await a1.app.store.getCa(gone.issuerId);
    expect(ca?.crlPartitions).to.equal(PARTITIONS);
    const files = (name: string, chainPem: string) => {
      const [leaf, issuer, az, root] = pemBlocks(chainPem).map((b) => toPem(b.der));
      return { leaf: writeFile(dir, `${name}.pem`, leaf!), chain: writeFile(dir, `${name}-chain.pem`, issuer! + az!), root: writeFile(dir, 'root.pem', root!) };
    };
    const [g, k] = [files('part-gone', gone.chainPem), files('part-kept', kept.chainPem)];
    const partitionOf = (serialHex: string) => crlPartitionOf(serialHex, PARTITIONS);
    expect(cdpOf(g.leaf)).to.equal(`http://10.1.0.1:${HTTP_PORT}/crl/${gone.issuerId}-p${partitionOf(gone.serialHex)}.crl`);
    expect(cdpOf(k.leaf)).to.equal(`http://10.1.0.1:${HTTP_PORT}/crl/${kept.issuerId}-p${partitionOf(kept.serialHex)}.crl`);

    // Every partition is published, not only those with revocations: a good leaf needs its CRL too.
    await eventually('every partition CRL published', async () => {
      for (let p = 0; p < PARTITIONS; p++) if ((await a1.getPartitionCrl(gone.issuerId, p)) === null) return false;
      return true;
    });
    expect(await a1.getPartitionCrl(gone.issuerId, PARTITIONS)).to.equal(null);

    const before = await a1.app.store.latestPartitionCrl(gone.issuerId, partitionOf(gone.serialHex));
    const untouched = (partitionOf(gone.serialHex) + 1) % PARTITIONS;
    const otherBefore = await a1.app.store.latestPartitionCrl(gone.issuerId, untouched);
    await eventually('revoke', () => a1.revoke({ serialHex: gone.serialHex, reason: 'keyCompromise', requestedBy: 'test' }));
    const crlText = (name: string, der: Uint8Array): { path: string; text: string } => {
      const path = writeFile(dir, `${name}.crl.pem`, toPem(der, 'X509 CRL'));
      return { path, text: openssl(['crl', '-in', path, '-noout', '-text']).stdout };
    };
    const goneCrl = await eventually('the revoked leaf\'s partition CRL lists it', async () => {
      const der = await a1.getPartitionCrl(gone.issuerId, partitionOf(gone.serialHex));
      const crl = der === null ? null : crlText('gone-partition', der);
      return crl !== null && crl.text.toUpperCase().includes(gone.serialHex.toUpperCase()) ? crl : null;
    });
    // Only the partition with the new revocation was signed again (crl-partitions.ts).
    const after = await a1.app.store.latestPartitionCrl(gone.issuerId, partitionOf(gone.serialHex));
    expect(after!.crlNumber).to.equal(before!.crlNumber + 1);
    expect((await a1.app.store.latestPartitionCrl(gone.issuerId, untouched))?.crlNumber).to.equal(otherBefore!.crlNumber);

    expect(/Full Name:\s+URI:(\S+)/.exec(goneCrl.text)?.[1]).to.equal(cdpOf(g.leaf));
    const keptCrl = crlText('kept-partition', (await a1.getPartitionCrl(kept.issuerId, partitionOf(kept.serialHex)))!);
    expect(/Full Name:\s+URI:(\S+)/.exec(keptCrl.text)?.[1]).to.equal(cdpOf(k.leaf));
    // OpenSSL takes the CRL whose IDP matches the leaf's distribution point from those it is given.
    const verify = (f: { leaf: string; chain: string; root: string }) => {
      const r = openssl(['verify', '-crl_check', '-CRLfile', goneCrl.path, '-CRLfile', keptCrl.path, '-CAfile', f.root, '-untrusted', f.chain, f.leaf]);
      return r.stdout + r.stderr;
    };
    expect(verify(g)).to.match(/certificate revoked/);
    expect(verify(k)).to.match(/part-kept\.pem: OK/);

    // RFC 5280 §5.2.5: the second distribution point is partition k of the AZ ICA's indirect CRL
    // (cRLIssuer: the AZ ICA); that CRL lists the revocation, the unpartitioned one does not.
    const indirectOf = (pemPath: string) => {
      const ext = openssl(['x509', '-in', pemPath, '-noout', '-ext', 'crlDistributionPoints']).stdout;
      const m = /URI:(http:\/\/\S+\/crl\/([0-9a-f]+)-indirect-p(\d+)\.crl)/.exec(ext);
      return { url: m?.[1] ?? 'no indirect distribution point', azIca: m?.[2] ?? '', partition: Number(m?.[3]) };
    };
    const [gi, ki] = [indirectOf(g.leaf), indirectOf(k.leaf)];
    expect([gi.partition, ki.partition]).to.deep.equal([partitionOf(gone.serialHex), partitionOf(kept.serialHex)]);
    const goneIndirect = await eventually('the indirect partition CRL lists it', async () => {
      const der = await a1.getIndirectCrl(gi.azIca, gi.partition);
      const crl = der === null ? null : crlText('gone-indirect', der);
      return crl !== null && crl.text.toUpperCase().includes(gone.serialHex.toUpperCase()) ? crl : null;
    });
    expect(/Full Name:\s+URI:(\S+)/.exec(goneIndirect.text)?.[1]).to.equal(gi.url);
    expect(goneIndirect.text).to.include('Indirect CRL');
    const keptIndirect = crlText('kept-indirect', (await eventually('the kept leaf\'s indirect partition', () => a1.getIndirectCrl(ki.azIca, ki.partition))));
    const whole = crlText('whole-indirect', (await a1.getIndirectCrl(gi.azIca))!);
    expect(whole.text.toUpperCase()).to.not.include(gone.serialHex.toUpperCase());
    expect(await a1.getIndirectCrl(gi.azIca, PARTITIONS)).to.equal(null);
    const verifyIndirect = (f: { leaf: string; chain: string; root: string }) => {
      const r = openssl(['verify', '-crl_check', '-extended_crl', '-CRLfile', goneIndirect.path, '-CRLfile', keptIndirect.path, '-CAfile', f.root, '-untrusted', f.chain, f.leaf]);
      return r.stdout + r.stderr;
    };
    expect(verifyIndirect(g)).to.match(/certificate revoked/);
    expect(verifyIndirect(k)).to.match(/part-kept\.pem: OK/);

    // The complete CRL (no IDP: it covers every certificate of the issuer) lists it as well.
    const complete = await eventually('the complete CRL lists it', async () => {
      const der = await a1.getCrl(gone.issuerId);
      const crl = der === null ? null : crlText('complete', der);
      return crl !== null && crl.text.toUpperCase().includes(gone.serialHex.toUpperCase()) ? crl : null;
    });
    expect(complete.text).to.not.include('Issuing Distribution Point');
  });

  it('crlPartitions other than 0 or a power of two up to 1024 is a TypeError naming the option, before the node starts', async () => {
    for (const crlPartitions of [3, 2048, -1]) {
      const bad = new PkiTestCluster({ publicHttpPort: HTTP_PORT, crlPartitions });
      try {
        const error = await bad.start('x1', 'az9', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: { name: 'az9', subnets: ['10.9.0.0/16'], localVip: '10.9.0.1' } }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, String(crlPartitions)).to.be.instanceOf(TypeError);
        expect(String(error)).to.include('crlPartitions');
      } finally {
        await bad.stop();
      }
    }
  });

  it('crlPartitions 0: the node ICA has no partition count, its leaves name its one CRL and the whole indirect CRL', async () => {
    const plain = new PkiTestCluster({ publicHttpPort: HTTP_PORT, crlPartitions: 0 });
    try {
      const b1 = await plain.start('b1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
      await eventually('b1 ready', () => b1.status().ready);
      const leaf = await issueVia(b1, plain, 'plain');
      expect((await b1.app.store.getCa(leaf.issuerId))?.crlPartitions).to.equal(undefined);
      const path = writeFile(plain.dataDir, 'plain.pem', toPem(pemBlocks(leaf.chainPem)[0]!.der));
      const ext = openssl(['x509', '-in', path, '-noout', '-ext', 'crlDistributionPoints']).stdout;
      expect(cdpOf(path)).to.equal(`http://10.1.0.1:${HTTP_PORT}/crl/${leaf.issuerId}.crl`);
      expect(ext).to.match(/\/crl\/[0-9a-f]+-indirect\.crl/);
      expect(await b1.getPartitionCrl(leaf.issuerId, 0)).to.equal(null);
    } finally {
      await plain.stop();
    }
  });
});
