// Renewal by the holder of a leaf (PkiNodeApi.renew): the new certificate keeps the profile and the
// SANs of the current one, read from its DER; a revoked or expired certificate never renews, on any
// node of the issuing AZ, from the moment the revocation is acknowledged, wherever it was asked.
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { buildCsr } from '../src/node/ca/ca-node-keys.ts';
import { toPem } from '../src/ca/pem.ts';
import { PkiTestCluster, buildTwoAzCluster, eventually } from './node-cluster-harness.ts';
import { expectPkiRejects } from './expect-code.ts';
import { openssl } from './ca-fixtures.ts';

const COMMA_URI = 'https://svc.example/a,b,c';

function freshCsr(cn: string): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return toPem(buildCsr({ subject: `CN=${cn}`, privateKey }), 'CERTIFICATE REQUEST');
}

describe('PkiNode: renewal by the certificate holder', function () {
  this.timeout(120_000);
  let c: PkiTestCluster;
  before(async () => {
    c = new PkiTestCluster();
    await buildTwoAzCluster(c);
  });
  after(() => c.stop());

  async function issueServerClient(name: string) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const csr = toPem(buildCsr({ subject: `CN=${name}`, privateKey }), 'CERTIFICATE REQUEST');
    const a1 = c.nodes.get('a1')!;
    return eventually(`issue ${name}`, () =>
      a1.issue({ csr, profile: 'serverClientLeaf', sans: [`dns:${name}.svc.example`, `uri:${COMMA_URI}`, 'ip:10.1.7.7'], requester: `test:${name}` }),
    );
  }

  it('keeps profile and SANs from the DER (a URI with commas included), on another node of the AZ, with a new key', async () => {
    const current = await issueServerClient('renew-ok');
    const csr = freshCsr('ignored');
    const renewed = await eventually('renew via a2', () => c.nodes.get('a2')!.renew({ currentCertDer: current.certificateDer, csr }));
    expect(renewed.serialHex).to.not.equal(current.serialHex);
    const before = new X509Certificate(Buffer.from(current.certificateDer));
    const after = new X509Certificate(Buffer.from(renewed.certificateDer));
    expect(after.subjectAltName).to.equal(before.subjectAltName);
    // Node quotes a URI with commas in its display string; OpenSSL prints it as it is.
    const printed = openssl(['x509', '-noout', '-ext', 'subjectAltName'], renewed.certificatePem);
    expect(printed.stdout).to.contain(`URI:${COMMA_URI}`);
    expect(after.publicKey.export({ format: 'der', type: 'spki' }).equals(before.publicKey.export({ format: 'der', type: 'spki' }))).to.equal(false);
    const record = (await c.nodes.get('a2')!.getCertificate(renewed.serialHex))[0];
    expect(record?.kind === 'leaf' ? record.profile : null).to.equal('serverClientLeaf');
  });

  it('refuses a revoked certificate (ERR_REVOKED) on every node of the issuing AZ as soon as the revocation is acknowledged, also when it was asked of another AZ', async () => {
    const current = await issueServerClient('renew-revoked');
    // Asked of az2: handed to az1, acknowledged after az1 applied it.
    await eventually('revoke via b2', () => c.nodes.get('b2')!.revoke({ serialHex: current.serialHex, reason: 'keyCompromise', requestedBy: 'test' }));
    for (const id of ['a1', 'a2', 'a3']) {
      await expectPkiRejects(c.nodes.get(id)!.renew({ currentCertDer: current.certificateDer, csr: freshCsr('x') }), 'ERR_REVOKED');
    }
    const serials = await c.nodes.get('a1')!.getCertificate(current.serialHex);
    expect(serials.length, 'nothing was issued').to.equal(1);
  });

  it('refuses an expired certificate (ERR_EXPIRED) and one the AZ did not issue as a leaf (ERR_NOT_FOUND)', async () => {
    const current = await issueServerClient('renew-expired');
    await expectPkiRejects(c.nodes.get('b1')!.renew({ currentCertDer: current.certificateDer, csr: freshCsr('x') }), 'ERR_NOT_FOUND');
    const notAfter = new Date(new X509Certificate(Buffer.from(current.certificateDer)).validTo).getTime();
    c.clockOffsetMs = notAfter - Date.now() + 60_000;
    try {
      await expectPkiRejects(c.nodes.get('a3')!.renew({ currentCertDer: current.certificateDer, csr: freshCsr('x') }), 'ERR_EXPIRED');
    } finally {
      c.clockOffsetMs = 0;
    }
  });
});
