// RFC 5280 §5.2.5 indirect CRLs as OpenSSL reads them: a leaf's CRL distribution point names a
// CRL its issuer's own CA signs (cRLIssuer = the AZ ICA), the CRL carries a critical issuing
// distribution point with indirectCRL, and each run of entries names its certificates' issuer
// (§5.3.3). `openssl verify -crl_check -extended_crl` takes it in place of the issuer's own CRL.
import { expect } from 'chai';
import { join } from 'node:path';
import { readCertificateFields } from '../src/ca/cert-fields.ts';
import { buildCrl } from '../src/ca/crl.ts';
import { issueCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { at, buildHierarchy, days, nameDer, openssl, SERVER_LEAF, T0, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';

const INDIRECT_URL = 'http://127.1.0.1:8080/crl/az-indirect.crl';

describe('RFC 5280 §5.2.5 indirect CRLs', function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let dir: string;
  let cleanup: () => void;
  let azName: Uint8Array;
  let nodeName: Uint8Array;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);

  before(async () => {
    ({ dir, cleanup } = tempDir('crl-indirect'));
    h = await buildHierarchy('ecdsa-p256', 12);
    azName = readCertificateFields(h.az.cert.der).subjectNameDer;
    nodeName = readCertificateFields(h.node.cert.der).subjectNameDer;
    for (const [name, serial] of [['gone', '0b01'], ['kept', '0b02']] as const) {
      const leaf = await issueCertificate({
        issuer: { certDer: h.node.cert.der, signer: h.node.signer },
        subjectDer: nameDer([['commonName', `${name}.example`]]),
        spkiDer: (await generateCaKeyPair('ecdsa-p256')).spkiDer,
        serial,
        notBefore: at(T0, days(1)),
        notAfter: at(now, days(30)),
        extensions: { ...SERVER_LEAF, crlDistributionPoints: ['http://127.1.0.1:8080/crl/node.crl', { url: INDIRECT_URL, crlIssuerNameDer: azName }] },
      });
      writeFile(dir, `${name}.pem`, leaf.pem);
    }
    writeFile(dir, 'root.pem', h.root.cert.pem);
    writeFile(dir, 'chain.pem', h.az.cert.pem + h.node.cert.pem);
  });
  after(() => cleanup());

  const indirectCrl = (entries: { serialHex: string; issuer: Uint8Array }[]) =>
    buildCrl({
      issuer: h.az.cert.der,
      signer: h.az.signer,
      crlNumber: 1,
      thisUpdate: now,
      nextUpdate: at(now, 3_600_000),
      revoked: entries.map((e) => ({ serialHex: e.serialHex, revokedAt: at(now, -60_000), reason: 'keyCompromise' as const, certificateIssuerNameDer: e.issuer })),
      indirect: { distributionPointUrl: INDIRECT_URL },
    });

  const verify = (leaf: string, crl: string): string => {
    const r = openssl(['verify', '-crl_check', '-extended_crl', '-CRLfile', join(dir, crl), '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, leaf)]);
    return r.stdout + r.stderr;
  };

  it('the leaf names both CRLs; the indirect CRL is critical-IDP indirect and names the issuer of each run', async () => {
    const leafText = openssl(['x509', '-in', join(dir, 'gone.pem'), '-noout', '-text']).stdout;
    expect(leafText).to.include(`URI:${INDIRECT_URL}`);
    expect(leafText).to.match(/CRL Issuer:\s+DirName:/);
    // Two entries of one issuer: only the first names it.
    const crl = await indirectCrl([{ serialHex: '0b01', issuer: nodeName }, { serialHex: '0b09', issuer: nodeName }]);
    const text = openssl(['crl', '-in', writeFile(dir, 'indirect.pem', crl.pem), '-noout', '-text']).stdout;
    expect(text).to.match(/Issuing Distribution Point: critical/);
    expect(text).to.include('Indirect CRL');
    expect(text.match(/Certificate Issuer: critical/g)?.length).to.equal(1);
  });

  it('openssl -crl_check -extended_crl: the indirect CRL revokes the listed leaf, the other verifies', async () => {
    writeFile(dir, 'indirect.pem', (await indirectCrl([{ serialHex: '0b01', issuer: nodeName }])).pem);
    expect(verify('gone.pem', 'indirect.pem')).to.match(/certificate revoked/);
    expect(verify('kept.pem', 'indirect.pem')).to.match(/kept\.pem: OK/);
  });

  it('an entry is for its named issuer only: the same serial under another issuer revokes nothing here', async () => {
    writeFile(dir, 'other.pem', (await indirectCrl([{ serialHex: '0b01', issuer: azName }])).pem);
    expect(verify('gone.pem', 'other.pem')).to.match(/gone\.pem: OK/);
  });

  it('misuse is a TypeError: an indirect entry without its issuer, an indirect CRL with deltas', async () => {
    const base = { issuer: h.az.cert.der, signer: h.az.signer, crlNumber: 2, thisUpdate: now, nextUpdate: at(now, 3_600_000), indirect: { distributionPointUrl: INDIRECT_URL } };
    let error: unknown;
    try {
      await buildCrl({ ...base, revoked: [{ serialHex: '0b01', revokedAt: now }] });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(TypeError);
    error = undefined;
    try {
      await buildCrl({ ...base, revoked: [], freshestCrlUrl: 'http://x/crl' });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(TypeError);
  });
});
