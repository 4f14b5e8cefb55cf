// The read-only CertificateView (pkijs) reads back what the DER builder wrote, and chain assembly
// orders leaf → … → root from an unordered pool, refusing an incomplete chain.
import { expect } from 'chai';
import { assembleChain, assembleChainPem } from '../src/ca/chain.ts';
import { bytesEqual, toHex } from '../src/ca/der.ts';
import { keyIdentifier } from '../src/ca/extensions.ts';
import { issueCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { fromPem, pemBlocks } from '../src/ca/pem.ts';
import { viewCertificate } from '../src/ca/view.ts';
import { isPkiError } from '../src/errors.ts';
import { at, buildHierarchy, CLIENT_LEAF, days, epochSeconds, nameDer, openssl, T0, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';

describe('CertificateView and chain assembly', function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let leaf: { der: Uint8Array; pem: string; serialHex: string };
  let leafSpki: Uint8Array;

  before(async () => {
    h = await buildHierarchy('ecdsa-p256', 21);
    const key = await generateCaKeyPair('ecdsa-p256');
    leafSpki = key.spkiDer;
    leaf = await issueCertificate({
      issuer: { certDer: h.node.cert.der, signer: h.node.signer },
      subjectDer: nameDer([['organization', 'Adrestia'], ['commonName', 'client-7']]),
      spkiDer: key.spkiDer,
      sans: [
        { type: 'uri', value: 'spiffe://adrestia/client/7' },
        { type: 'ip', value: 'fd00::7' },
      ],
      serial: '00ab01',
      notBefore: T0,
      notAfter: at(T0, days(45)),
      extensions: CLIENT_LEAF,
    });
  });

  it('reads subject, issuer, serial, validity, SKI/AKI, SANs and constraints back', () => {
    const v = viewCertificate(leaf.der);
    expect(v.subject).to.equal('CN=client-7,O=Adrestia');
    expect(v.issuer).to.equal('CN=Node ICA ecdsa-p256,O=Adrestia');
    expect(v.serialHex).to.equal('ab01');
    expect(leaf.serialHex).to.equal('ab01');
    expect(v.notBefore.toISOString()).to.equal(T0.toISOString());
    expect(v.notAfter.toISOString()).to.equal(at(T0, days(45)).toISOString());
    expect(v.subjectKeyIdHex).to.equal(toHex(keyIdentifier(leafSpki)));
    expect(v.authorityKeyIdHex).to.equal(toHex(keyIdentifier(h.node.key.spkiDer)));
    expect(v.sans).to.deep.equal([
      { type: 'uri', value: 'spiffe://adrestia/client/7' },
      { type: 'ip', value: 'fd00::7' },
    ]);
    expect(v.basicConstraints).to.deep.equal({ ca: false });
    expect(v.isCA).to.equal(false);
    expect(v.keyUsage).to.deep.equal(['digitalSignature']);
    expect(v.extKeyUsage).to.deep.equal(['clientAuth']);
    expect(bytesEqual(v.spkiDer, leafSpki)).to.equal(true);
    const root = viewCertificate(h.root.cert.der);
    expect(root.isCA).to.equal(true);
    expect(root.isSelfIssued).to.equal(true);
    expect(root.basicConstraints).to.deep.equal({ ca: true, pathLen: 2 });
    expect(root.keyUsage).to.deep.equal(['digitalSignature', 'keyCertSign', 'cRLSign']);
  });

  it('refuses bytes that are not a certificate with ERR_CERT_MALFORMED', () => {
    expect(() => viewCertificate(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01))).to.throw().that.satisfies((e: unknown) => isPkiError(e, 'ERR_CERT_MALFORMED'));
  });

  it('orders an unordered pool leaf → node ICA → AZ ICA (→ root), ignoring strangers; OpenSSL accepts the bundle', async () => {
    const stranger = await buildHierarchy('ecdsa-p256', 22);
    const pool = [stranger.node.cert.der, h.root.cert.der, h.az.cert.der, stranger.root.cert.der, h.node.cert.der];
    const withRoot = assembleChain(leaf.der, pool, { includeRoot: true });
    expect(withRoot.map((d) => viewCertificate(d).subject)).to.deep.equal([
      'CN=client-7,O=Adrestia',
      'CN=Node ICA ecdsa-p256,O=Adrestia',
      'CN=AZ az-1 ICA ecdsa-p256,O=Adrestia',
      'CN=Adrestia Root ecdsa-p256,O=Adrestia',
    ]);
    const bundle = assembleChainPem(leaf.der, pool);
    expect(pemBlocks(bundle)).to.have.length(3);
    expect(bytesEqual(fromPem(bundle, 'CERTIFICATE'), leaf.der)).to.equal(true);
    const { dir, cleanup } = tempDir('chain');
    try {
      // The leaf is the bundle's first block; `openssl verify` takes it from the same file.
      const bundlePath = writeFile(dir, 'bundle.pem', bundle);
      const r = openssl(['verify', '-x509_strict', '-purpose', 'sslclient', '-attime', epochSeconds(at(T0, days(1))), '-CAfile', writeFile(dir, 'root.pem', h.root.cert.pem), '-untrusted', bundlePath, bundlePath]);
      expect(r.stdout.trim(), r.stderr).to.equal(`${bundlePath}: OK`);
    } finally {
      cleanup();
    }
  });

  it('an incomplete chain fails with ERR_ISSUER_UNKNOWN unless requireRoot is false', () => {
    expect(() => assembleChain(leaf.der, [h.node.cert.der, h.root.cert.der])).to.throw().that.satisfies((e: unknown) => isPkiError(e, 'ERR_ISSUER_UNKNOWN'));
    expect(assembleChain(leaf.der, [h.node.cert.der], { requireRoot: false })).to.have.length(2);
  });
});
