// RFC 5280 §5 CRLs as OpenSSL reads them: v2, CRL number, AKI, per-entry reason codes (absent
// for unspecified), revocation dates, thisUpdate/nextUpdate, signature by the issuer.
import { expect } from 'chai';
import { buildCrl, type RevokedEntry } from '../src/ca/crl.ts';
import { CRL_REASON_NAMES, CRL_REASONS, REVOCATION_REASONS } from '../src/ca/crl-reasons.ts';
import { toHex } from '../src/ca/der.ts';
import { keyIdentifier } from '../src/ca/extensions.ts';
import { issueCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { KeyObjectSigner } from '../src/ca/signer.ts';
import { at, buildHierarchy, days, nameDer, openssl, T0, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';

describe('RFC 5280 §5 CRLs', function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let dir: string;
  let cleanup: () => void;

  before(async () => {
    ({ dir, cleanup } = tempDir('crl'));
    h = await buildHierarchy('ecdsa-p384', 5);
    writeFile(dir, 'az.pem', h.az.cert.pem);
  });
  after(() => cleanup());

  const crlText = (pem: string): { text: string; verify: string } => {
    const path = writeFile(dir, 'crl.pem', pem);
    const text = openssl(['crl', '-in', path, '-noout', '-text']).stdout;
    const verify = openssl(['crl', '-in', path, '-noout', '-verify', '-CAfile', `${dir}/az.pem`]).stderr.trim();
    return { text, verify };
  };

  it('§5.2.3/§5.3.1 CRL number, AKI and reason codes; unspecified carries no reasonCode', async () => {
    const revoked: RevokedEntry[] = [
      { serialHex: '0a1b2c', revokedAt: at(T0, days(2)), reason: 'keyCompromise' },
      { serialHex: '80ff', revokedAt: at(T0, days(3)) },
      { serialHex: '7e', revokedAt: at(T0, days(4)), reason: 'unspecified' },
      { serialHex: '0102', revokedAt: at(T0, days(5)), reason: 'cessationOfOperation' },
      { serialHex: '0103', revokedAt: at(T0, days(5)), reason: 'removeFromCRL' },
    ];
    const crl = await buildCrl({ issuer: h.az.cert.der, signer: h.az.signer, crlNumber: 4242, thisUpdate: at(T0, days(6)), nextUpdate: at(T0, days(13)), revoked });
    expect(crl.crlNumber).to.equal(4242n);
    const { text, verify } = crlText(crl.pem);
    expect(verify).to.equal('verify OK');
    expect(text).to.include('Version 2 (0x1)');
    expect(text).to.include('Signature Algorithm: ecdsa-with-SHA384');
    expect(text).to.match(/X509v3 CRL Number: *\n\s+4242/);
    const aki = toHex(keyIdentifier(h.az.key.spkiDer)).toUpperCase().match(/../g)!.join(':');
    expect(text).to.match(new RegExp(`Authority Key Identifier: *\\n\\s+(keyid:)?${aki}`));
    expect(text).to.include('Last Update: Mar  7 00:00:00 2026 GMT');
    expect(text).to.include('Next Update: Mar 14 00:00:00 2026 GMT');
    const entries = text.split('Serial Number: ').slice(1);
    expect(entries).to.have.length(5);
    expect(entries[0]).to.match(/^0A1B2C\n\s+Revocation Date: Mar {2}3 00:00:00 2026 GMT\n\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code: *\n\s+Key Compromise/);
    expect(entries[1]).to.match(/^80FF\n/);
    expect(entries[1]).to.not.include('Reason Code');
    expect(entries[2]).to.not.include('Reason Code');
    expect(entries[3]).to.include('Cessation Of Operation');
    expect(entries[4]).to.include('Remove From CRL');
  });

  it('§5.1.2.6 an empty CRL omits revokedCertificates and still verifies', async () => {
    const crl = await buildCrl({ issuer: h.az.cert.der, signer: h.az.signer, crlNumber: 1, thisUpdate: T0, nextUpdate: at(T0, days(7)), revoked: [] });
    const { text, verify } = crlText(crl.pem);
    expect(verify).to.equal('verify OK');
    expect(text).to.include('No Revoked Certificates.');
  });

  it('§5.1.2.4 times from 2050 on are GeneralizedTime', async () => {
    // The AZ ICA expires in 2031; CRL times are not bounded by it in RFC 5280, so this tests encoding.
    const crl = await buildCrl({
      issuer: h.az.cert.der,
      signer: h.az.signer,
      crlNumber: 2n ** 100n,
      thisUpdate: new Date('2050-01-01T00:00:00Z'),
      nextUpdate: new Date('2050-01-08T00:00:00Z'),
      revoked: [{ serialHex: '01', revokedAt: new Date('2049-12-31T23:59:59Z'), reason: 'superseded' }],
    });
    const path = writeFile(dir, 'late.pem', crl.pem);
    const parsed = openssl(['asn1parse', '-in', path]).stdout;
    expect(parsed).to.include('GENERALIZEDTIME   :20500101000000Z');
    expect(parsed).to.include('UTCTIME           :491231235959Z');
    expect(crlText(crl.pem).text).to.match(/CRL Number: *\n\s+0x10000000000000000000000000|CRL Number: *\n\s+1267650600228229401496703205376/);
  });

  it('refuses repeated serials, nextUpdate ≤ thisUpdate and an issuer without cRLSign (TypeError)', async () => {
    const base = { issuer: h.az.cert.der, signer: h.az.signer, crlNumber: 3, thisUpdate: T0, nextUpdate: at(T0, days(1)) };
    await expectTypeError(buildCrl({ ...base, revoked: [{ serialHex: '01', revokedAt: T0 }, { serialHex: '0x0001', revokedAt: T0 }] }));
    await expectTypeError(buildCrl({ ...base, nextUpdate: T0, revoked: [] }));
    await expectTypeError(buildCrl({ ...base, crlNumber: -1, revoked: [] }));
    const key = await generateCaKeyPair('ecdsa-p256');
    const noCrlSign = await issueCertificate({
      issuer: { certDer: h.az.cert.der, signer: h.az.signer },
      subjectDer: nameDer([['commonName', 'ICA without cRLSign']]),
      spkiDer: key.spkiDer,
      serial: '05',
      notBefore: T0,
      notAfter: at(T0, days(10)),
      extensions: { basicConstraints: { ca: true, pathLen: 0 }, keyUsage: ['keyCertSign'] },
    });
    await expectTypeError(buildCrl({ ...base, issuer: noCrlSign.der, signer: new KeyObjectSigner(key.privateKey), revoked: [] }));
  });
});

async function expectTypeError(p: Promise<unknown>): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).to.be.instanceOf(TypeError);
}

describe('RFC 5280 §5.3.1 CRLReason table', () => {
  it('lists every reason in value order, 7 unused; a revocation may give all but removeFromCRL', () => {
    expect(CRL_REASON_NAMES.map((r) => CRL_REASONS[r])).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 8, 9, 10]);
    expect(CRL_REASON_NAMES[1]).to.equal('keyCompromise');
    // What the server's revocation API accepts (and lists in its error).
    expect(REVOCATION_REASONS).to.deep.equal([
      'unspecified',
      'keyCompromise',
      'cACompromise',
      'affiliationChanged',
      'superseded',
      'cessationOfOperation',
      'certificateHold',
      'privilegeWithdrawn',
      'aACompromise',
    ]);
  });
});
