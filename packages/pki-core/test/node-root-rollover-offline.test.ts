// A root rollover under a root held offline (node/ca/root-rollover-offline.ts): the cluster is
// founded on an OpenSSL-made root whose key never enters it (founding.ts `offlineRoot`, the AZ ICA
// signed with `openssl dgst`); the rollover then needs one offline signature, over the TBS of
// "new root certified by the old one". OpenSSL does that signing and verifies leaves issued
// before and after against the offline root and the new one (RFC 4158 §2.3).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemRandom } from '@adrestia/consensus';
import { expect } from 'chai';
import { fromPem, pemBlocks, toPem } from '../src/ca/pem.ts';
import { isPkiError } from '../src/errors.ts';
import { prepareOfflineAzIntermediate } from '../src/node/founding/ca-offline-root.ts';
import { openssl } from './ca-fixtures.ts';
import { CLUSTER_ID, PkiTestCluster, azSpec, eventually, issueVia } from './node-cluster-harness.ts';
import { expectVerifies, writeFile } from './node-ca-fixtures.ts';

/** node-cluster-harness.ts gives every node this KEK. */
const KEK = new Uint8Array(32).fill(7);

function run(args: string[]): void {
  const r = openssl(args);
  expect(r.status, r.stderr).to.equal(0);
}

describe('root rollover under an offline root: one TBS signed out of band (openssl dgst)', function () {
  this.timeout(90_000);
  const c = new PkiTestCluster();
  const dir = c.dataDir;
  after(() => c.stop());

  /** The offline root's signature over `tbs` (DER Ecdsa-Sig-Value), made by OpenSSL with `key`. */
  function signOffline(name: string, tbs: Uint8Array, key: string): Uint8Array {
    const tbsPath = writeFile(dir, `${name}.tbs`, tbs);
    run(['dgst', '-sha256', '-sign', key, '-out', join(dir, `${name}.sig`), tbsPath]);
    return new Uint8Array(readFileSync(join(dir, `${name}.sig`)));
  }

  it('founds on the offline root, refuses the online path, completes with the offline signature, and both chains verify against both roots', async () => {
    const rootKey = join(dir, 'offline-root.key');
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', rootKey]);
    run(['req', '-x509', '-new', '-key', rootKey, '-sha256', '-days', '3650', '-subj', '/OU=ops/CN=Offline Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', join(dir, 'offline-root.pem')]);
    const rootPem = readFileSync(join(dir, 'offline-root.pem'), 'utf8');
    const rootCert = fromPem(rootPem);
    const azPending = await prepareOfflineAzIntermediate({ rootCert, az: 'az1', clusterId: CLUSTER_ID, kek: KEK, nowMs: Date.now(), serials: systemRandom });
    const a1 = await c.start('a1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1), offlineRoot: { rootCert, pending: azPending, signature: signOffline('az1', azPending.tbsDer, rootKey) } });
    await eventually('a1 ready', () => a1.status().ready);
    const cluster = (await a1.app.store.cluster())!;
    expect((await a1.app.store.getCa(cluster.rootIssuerId))!.wrappedKey).to.equal(null);
    const before = await issueVia(a1, c, 'offline-before');

    const online = await a1.rotateRoot().then(() => null, (e: unknown) => e);
    expect(isPkiError(online, 'ERR_ROOT_OFFLINE'), String(online)).to.equal(true);

    const pending = await a1.prepareRootRollover();
    expect(pending.previousRootIssuerId).to.equal(cluster.rootIssuerId);
    expect(pending.signatureAlgorithm).to.equal('ecdsa-with-SHA256');
    // A signature by another key is refused and nothing is committed.
    const otherKey = join(dir, 'other.key');
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey]);
    const forged = await a1.completeRootRollover({ pending, signature: signOffline('forged', pending.tbsDer, otherKey) }).then(() => null, (e: unknown) => e);
    expect(isPkiError(forged, 'ERR_INPUT_INVALID') && forged.field === 'signature', String(forged)).to.equal(true);
    expect((await a1.app.store.cluster())!.rootIssuerId).to.equal(cluster.rootIssuerId);

    const rotated = await a1.completeRootRollover({ pending, signature: signOffline('cross', pending.tbsDer, rootKey) });
    expect(rotated.rootIssuerId).to.equal(pending.rootIssuerId);
    expect(rotated.azIcas.map((a) => a.az)).to.deep.equal(['az1']);
    const store = a1.app.store;
    expect((await store.cluster())!.rootIssuerId).to.equal(rotated.rootIssuerId);
    // The new root's key is in the state: the cluster signs with it from now on.
    expect((await store.getCa(rotated.rootIssuerId))!.wrappedKey).to.not.equal(null);
    expect((await store.getCa(rotated.azIcas[0]!.issuerId))!.parentIssuerId).to.equal(rotated.rootIssuerId);

    const after = await issueVia(a1, c, 'offline-after');
    const bundle = await a1.caBundle();
    const cross = bundle.crossCertificatesPem;
    expect(cross.match(/BEGIN CERTIFICATE/g)).to.have.length(2);
    const roots = { old: writeFile(dir, 'old.pem', rootPem), new: writeFile(dir, 'new.pem', bundle.rootPem) };
    const rootDers = new Set([toPem(rootCert), bundle.rootPem]);
    const extra = toPem((await store.getCa(rotated.azIcas[0]!.issuerId))!.certDer) + cross;
    for (const [name, leaf] of [['before', before], ['after', after]] as const) {
      const leafPath = writeFile(dir, `offline-${name}.pem`, leaf.certificatePem);
      const intermediates = pemBlocks(leaf.chainPem).map((b) => toPem(b.der)).filter((p) => !rootDers.has(p)).join('');
      const untrusted = writeFile(dir, `offline-${name}-untrusted.pem`, intermediates + extra);
      for (const root of [roots.old, roots.new]) expectVerifies(['-x509_strict', '-CAfile', root, '-untrusted', untrusted, leafPath]);
    }
    // The cross certificate the offline root signed certifies the new root.
    const newByOld = writeFile(dir, 'new-by-old.pem', toPem(rotated.crossCertificates[0]!.certDer));
    expectVerifies(['-x509_strict', '-CAfile', roots.old, newByOld]);
  });
});
