// RFC 5280 §4.2 extensions and §4.1.2.5 validity as OpenSSL reads them back, plus the issuance
// rules the builder enforces (lifetime inside the issuer's, signer matches issuer, profile sanity).
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { toHex } from '../src/ca/der.ts';
import { encodeKeyUsageBits, keyIdentifier } from '../src/ca/extensions.ts';
import { issueCertificate, type ExtensionChoices, type IssueCertificateInput } from '../src/ca/issue.ts';
import { generateCaKeyPair, type GeneratedKeyPair } from '../src/ca/keys.ts';
import { randomSerial } from '../src/ca/serial.ts';
import { KeyObjectSigner } from '../src/ca/signer.ts';
import { encodeTime } from '../src/ca/time.ts';
import { isPkiError } from '../src/errors.ts';
import { at, buildHierarchy, CA_EXTENSIONS, days, epochSeconds, nameDer, openssl, SERVER_LEAF, T0, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';

const pkiError = (code: string) => (e: unknown) => isPkiError(e) && e.code === code;

describe('RFC 5280 §4.2 certificate extensions, read back by OpenSSL', function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let leafKey: GeneratedKeyPair;
  let dir: string;
  let cleanup: () => void;
  const checkAt = epochSeconds(at(T0, days(10)));

  before(async () => {
    ({ dir, cleanup } = tempDir('ext'));
    h = await buildHierarchy('ecdsa-p256', 3);
    leafKey = await generateCaKeyPair('ecdsa-p256');
    writeFile(dir, 'root.pem', h.root.cert.pem);
  });
  after(() => cleanup());

  const leafInput = (over: Partial<IssueCertificateInput> = {}): IssueCertificateInput => ({
    issuer: { certDer: h.node.cert.der, signer: h.node.signer },
    subjectDer: nameDer([['commonName', 'leaf.adrestia.test']]),
    spkiDer: leafKey.spkiDer,
    sans: [{ type: 'dns', value: 'leaf.adrestia.test' }],
    serial: randomSerial(h.random),
    notBefore: T0,
    notAfter: at(T0, days(30)),
    extensions: SERVER_LEAF,
    ...over,
  });
  const text = (pem: string): string => openssl(['x509', '-in', writeFile(dir, 'x.pem', pem), '-noout', '-text']).stdout;
  const verify = (leafPem: string, untrusted: string, purpose = 'sslserver') => {
    const leaf = writeFile(dir, 'leaf.pem', leafPem);
    return openssl(['verify', '-x509_strict', '-attime', checkAt, '-purpose', purpose, '-CAfile', `${dir}/root.pem`, '-untrusted', writeFile(dir, 'chain.pem', untrusted), leaf]);
  };

  it('§4.2.1.6 SAN: DNS, IPv4, IPv6, URI and email names as OpenSSL prints them', async () => {
    const leaf = await issueCertificate(
      leafInput({
        sans: [
          { type: 'dns', value: 'leaf.adrestia.test' },
          { type: 'ip', value: '127.1.0.10' },
          { type: 'ip', value: '2001:db8::1' },
          { type: 'ip', value: '::ffff:10.0.0.1' },
          { type: 'uri', value: 'spiffe://adrestia/node/1' },
          { type: 'email', value: 'ops@adrestia.test' },
        ],
      }),
    );
    expect(text(leaf.pem)).to.include(
      'DNS:leaf.adrestia.test, IP Address:127.1.0.10, IP Address:2001:DB8:0:0:0:0:0:1, IP Address:0:0:0:0:0:FFFF:A00:1, ' +
        'URI:spiffe://adrestia/node/1, email:ops@adrestia.test',
    );
  });

  it('§4.2.1.2/§4.2.1.1 SKI is SHA-1 of the key bits and the AKI is the issuer SKI', async () => {
    const leaf = await issueCertificate(leafInput());
    // Independent of our DER reader: the uncompressed point from the JWK is the subjectPublicKey.
    const jwk = leafKey.publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    const ski = createHash('sha1').update(point).digest('hex');
    expect(toHex(keyIdentifier(leafKey.spkiDer))).to.equal(ski);
    const colons = (hex: string) => hex.toUpperCase().match(/../g)!.join(':');
    const t = text(leaf.pem);
    expect(t).to.match(new RegExp(`Subject Key Identifier: *\\n *${colons(ski)}`));
    expect(t).to.match(new RegExp(`Authority Key Identifier: *\\n *(keyid:)?${colons(toHex(keyIdentifier(h.node.key.spkiDer)))}`));
  });

  it('§4.2.1.9/§4.2.1.3 basicConstraints and keyUsage are critical with the right bits', () => {
    const root = text(h.root.cert.pem);
    expect(root).to.match(/Basic Constraints: critical\n\s+CA:TRUE, pathlen:2/);
    expect(root).to.match(/Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(text(h.node.cert.pem)).to.match(/CA:TRUE, pathlen:0/);
  });

  it('KeyUsage is a DER named BIT STRING: bit 0 is the MSB, trailing zero bits dropped', () => {
    expect(toHex(encodeKeyUsageBits(['digitalSignature']))).to.equal('03020780');
    expect(toHex(encodeKeyUsageBits(['digitalSignature', 'keyEncipherment']))).to.equal('030205a0');
    expect(toHex(encodeKeyUsageBits(['keyCertSign', 'cRLSign']))).to.equal('03020106');
    expect(toHex(encodeKeyUsageBits(['decipherOnly']))).to.equal('0303070080');
  });

  it('§4.2.1.13/§4.2.2.1 CRL distribution point and AIA (caIssuers, OCSP) from configuration', async () => {
    const leaf = await issueCertificate(
      leafInput({
        extensions: {
          ...SERVER_LEAF,
          crlDistributionPoints: ['http://127.1.0.1/crl/node-1.crl'],
          authorityInfoAccess: { caIssuers: ['http://127.1.0.1/ca/node-1.crt'], ocsp: ['http://127.1.0.1/ocsp'] },
        },
      }),
    );
    const t = text(leaf.pem);
    expect(t).to.match(/CRL Distribution Points: *\n\s+Full Name:\n\s+URI:http:\/\/127\.1\.0\.1\/crl\/node-1\.crl/);
    expect(t).to.include('OCSP - URI:http://127.1.0.1/ocsp');
    expect(t).to.include('CA Issuers - URI:http://127.1.0.1/ca/node-1.crt');
    expect(verify(leaf.pem, h.node.cert.pem + h.az.cert.pem).stdout.trim()).to.match(/: OK$/);
  });

  it('§4.2.1.10 name constraints (permitted and excluded DNS) are critical and enforced by OpenSSL', async () => {
    const icaKey = await generateCaKeyPair('ecdsa-p256');
    const constrained: ExtensionChoices = {
      ...CA_EXTENSIONS(0),
      nameConstraints: { permittedDns: ['az-1.adrestia.test'], excludedDns: ['secret.az-1.adrestia.test'] },
    };
    const ica = await issueCertificate({
      issuer: { certDer: h.az.cert.der, signer: h.az.signer },
      subjectDer: nameDer([['commonName', 'Constrained ICA']]),
      spkiDer: icaKey.spkiDer,
      serial: randomSerial(h.random),
      notBefore: T0,
      notAfter: at(T0, days(365)),
      extensions: constrained,
    });
    expect(text(ica.pem)).to.match(/Name Constraints: critical\n\s+Permitted:\n\s+DNS:az-1\.adrestia\.test\n\s+Excluded:\n\s+DNS:secret\.az-1\.adrestia\.test/);
    const issueFor = (dns: string) =>
      issueCertificate(leafInput({ issuer: { certDer: ica.der, signer: new KeyObjectSigner(icaKey.privateKey) }, subjectDer: nameDer([['commonName', dns]]), sans: [{ type: 'dns', value: dns }] }));
    const untrusted = ica.pem + h.az.cert.pem;
    expect(verify((await issueFor('n1.az-1.adrestia.test')).pem, untrusted).stdout.trim()).to.match(/: OK$/);
    const outside = verify((await issueFor('n1.az-2.adrestia.test')).pem, untrusted);
    expect(outside.status).to.not.equal(0);
    expect(outside.stdout + outside.stderr).to.match(/permitted subtree violation/);
    const excluded = verify((await issueFor('x.secret.az-1.adrestia.test')).pem, untrusted);
    expect(excluded.stdout + excluded.stderr).to.match(/excluded subtree violation/);
  });

  it('§4.1.2.6 an empty subject carries a critical SAN and still verifies strictly', async () => {
    const leaf = await issueCertificate(leafInput({ subjectDer: Uint8Array.of(0x30, 0) }));
    expect(text(leaf.pem)).to.match(/Subject Alternative Name: critical\n\s+DNS:leaf\.adrestia\.test/);
    expect(verify(leaf.pem, h.node.cert.pem + h.az.cert.pem).stdout.trim()).to.match(/: OK$/);
    await expectReject(issueCertificate(leafInput({ subjectDer: Uint8Array.of(0x30, 0), sans: [] })), pkiError('ERR_SUBJECT_INVALID'));
  });

  it('a certificate never outlives its issuer (ERR_LIFETIME_EXCEEDS_ISSUER); its issuer’s exact end is allowed', async () => {
    const issuerEnd = at(T0, days(730));
    await expectReject(issueCertificate(leafInput({ notAfter: at(issuerEnd, 1000) })), pkiError('ERR_LIFETIME_EXCEEDS_ISSUER'));
    const ok = await issueCertificate(leafInput({ notAfter: issuerEnd }));
    expect(text(ok.pem)).to.include('Not After : Feb 29 00:00:00 2028 GMT');
    await expectReject(issueCertificate(leafInput({ notAfter: T0 })), pkiError('ERR_LIFETIME_INVALID'));
  });

  it('refuses a signer whose key is not the issuer certificate’s (ERR_SIGNER_MISMATCH)', async () => {
    await expectReject(issueCertificate(leafInput({ issuer: { certDer: h.node.cert.der, signer: h.az.signer } })), pkiError('ERR_SIGNER_MISMATCH'));
  });

  it('treats inconsistent profile output as misuse (TypeError)', async () => {
    await expectReject(issueCertificate(leafInput({ extensions: { basicConstraints: { ca: false }, keyUsage: ['keyCertSign'] } })), (e) => e instanceof TypeError);
    await expectReject(issueCertificate(leafInput({ extensions: { basicConstraints: { ca: true }, keyUsage: ['digitalSignature'] } })), (e) => e instanceof TypeError);
    await expectReject(issueCertificate(leafInput({ extensions: { ...SERVER_LEAF, nameConstraints: { permittedDns: ['a.test'] } } })), (e) => e instanceof TypeError);
    await expectReject(issueCertificate(leafInput({ sans: [{ type: 'ip', value: '300.1.1.1' }] })), pkiError('ERR_SAN_INVALID'));
    // RFC 5280 §4.2.1.9: the node ICA has pathLen 0, so it cannot issue another CA.
    await expectReject(issueCertificate(leafInput({ extensions: CA_EXTENSIONS(0) })), (e) => e instanceof TypeError);
  });
});

describe('RFC 5280 §4.1.2.5 validity encoding', function () {
  this.timeout(60_000);

  it('UTCTime through 2049, GeneralizedTime from 2050, whole seconds with Z', () => {
    const ascii = (der: Uint8Array) => ({ tag: der[0], text: Buffer.from(der.subarray(2)).toString('latin1') });
    expect(ascii(encodeTime(new Date('2049-12-31T23:59:59.999Z')))).to.deep.equal({ tag: 0x17, text: '491231235959Z' });
    expect(ascii(encodeTime(new Date('2050-01-01T00:00:00.000Z')))).to.deep.equal({ tag: 0x18, text: '20500101000000Z' });
    expect(ascii(encodeTime(new Date('1999-05-06T07:08:09Z')))).to.deep.equal({ tag: 0x17, text: '990506070809Z' });
    expect(() => encodeTime(new Date('1949-12-31T23:59:59Z'))).to.throw(RangeError);
  });

  it('a hierarchy valid across 2050 verifies with OpenSSL at a 2050+ instant', async () => {
    const { dir, cleanup } = tempDir('y2050');
    try {
      const { createRootCertificate } = await import('../src/ca/issue.ts');
        const { SeededRandom } = await import('@adrestia/consensus');
      const random = new SeededRandom(2050);
      const rootKey = await generateCaKeyPair('ecdsa-p384');
      const rootSigner = new KeyObjectSigner(rootKey.privateKey);
      const start = new Date('2049-06-01T00:00:00.750Z');
      const root = await createRootCertificate({ signer: rootSigner, subjectDer: nameDer([['commonName', 'Root 2049']]), serial: randomSerial(random), notBefore: start, notAfter: new Date('2069-01-01T00:00:00Z') });
      const leafKey = await generateCaKeyPair('ecdsa-p256');
      const leaf = await issueCertificate({
        issuer: { certDer: root.der, signer: rootSigner },
        subjectDer: nameDer([['commonName', 'late.adrestia.test']]),
        spkiDer: leafKey.spkiDer,
        sans: [{ type: 'dns', value: 'late.adrestia.test' }],
        serial: randomSerial(random),
        notBefore: new Date('2050-02-01T12:34:56.789Z'),
        notAfter: new Date('2051-02-01T00:00:00Z'),
        extensions: SERVER_LEAF,
      });
      const rootPath = writeFile(dir, 'root.pem', root.pem);
      const leafPath = writeFile(dir, 'leaf.pem', leaf.pem);
      const parsed = openssl(['asn1parse', '-in', leafPath]).stdout;
      expect(parsed).to.include('GENERALIZEDTIME   :20500201123456Z');
      expect(parsed).to.include('GENERALIZEDTIME   :20510201000000Z');
      expect(openssl(['asn1parse', '-in', rootPath]).stdout).to.include('UTCTIME           :490601000000Z');
      const v = openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-attime', epochSeconds(new Date('2050-06-01T00:00:00Z')), '-CAfile', rootPath, leafPath]);
      expect(v.stdout.trim(), v.stderr).to.equal(`${leafPath}: OK`);
    } finally {
      cleanup();
    }
  });
});

async function expectReject(p: Promise<unknown>, check: (e: unknown) => boolean): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(check(e), String(e)).to.equal(true);
    return;
  }
  expect.fail('expected a rejection');
}
