// RFC 5280 §4.1.2.2 serial numbers: positive, minimally encoded, at most 20 octets, 128 random bits.
import { SeededRandom } from '@adrestia/consensus';
import { expect } from 'chai';
import fc from 'fast-check';
import { readTop } from '../src/ca/der-reader.ts';
import { Tag, toHex } from '../src/ca/der.ts';
import { isPkiError } from '../src/errors.ts';
import { issueCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { encodeSerial, normalizeSerialHex, randomSerial } from '../src/ca/serial.ts';
import { at, buildHierarchy, days, epochSeconds, nameDer, openssl, SERVER_LEAF, T0, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';

function expectMinimalPositive(der: Uint8Array): void {
  const t = readTop(der, Tag.INTEGER);
  const c = der.subarray(t.contentStart);
  expect(c.length).to.be.greaterThan(0);
  expect(c[0]! & 0x80, 'positive: top bit of the first content octet is clear').to.equal(0);
  if (c.length > 1) expect(c[0] === 0 && (c[1]! & 0x80) === 0, 'minimal: no needless leading 0x00').to.equal(false);
}

describe('RFC 5280 §4.1.2.2 serial number', () => {
  it('randomSerial draws are positive, minimally encoded, ≤ 17 octets and distinct over 20,000 draws', () => {
    const random = new SeededRandom(42);
    const seen = new Set<string>();
    let topBitSet = 0;
    for (let i = 0; i < 20_000; i++) {
      const hex = randomSerial(random);
      expect(hex).to.equal(normalizeSerialHex(hex));
      const der = encodeSerial(hex);
      expectMinimalPositive(der);
      expect(der.length - 2).to.be.at.most(17);
      if (parseInt(hex.slice(0, 2), 16) >= 0x80 && hex.length === 32) topBitSet++;
      seen.add(hex);
    }
    expect(seen.size).to.equal(20_000);
    // About half the draws have the top bit set and need the 0x00 sign octet.
    expect(topBitSet).to.be.within(9_000, 11_000);
  });

  it('encodes any positive value up to 20 octets minimally and round-trips its hex', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 19 }), (bytes) => {
        fc.pre(bytes.some((b) => b !== 0));
        const hex = normalizeSerialHex(Buffer.from(bytes).toString('hex'));
        const der = encodeSerial(hex);
        expectMinimalPositive(der);
        const contentHex = toHex(der.subarray(2)).replace(/^00/, '');
        expect(contentHex).to.equal(hex);
      }),
    );
  });

  it('normalizes case, 0x, colons and leading zeros', () => {
    expect(normalizeSerialHex('0x00:0A:bc')).to.equal('0abc');
    expect(normalizeSerialHex('1')).to.equal('01');
    expect(toHex(encodeSerial('80'))).to.equal('02020080');
    expect(toHex(encodeSerial('7f'))).to.equal('02017f');
  });

  it('refuses zero, non-hex and values longer than 20 octets with ERR_SERIAL_INVALID', () => {
    for (const bad of ['0', '00', '', 'xyz', '80' + '00'.repeat(19), '01'.repeat(21)]) {
      expect(() => normalizeSerialHex(bad), bad).to.throw().that.satisfies((e: unknown) => isPkiError(e, 'ERR_SERIAL_INVALID'));
    }
    expect(normalizeSerialHex('7f' + '00'.repeat(19))).to.have.length(40);
  });

  describe('as OpenSSL reads them', function () {
    this.timeout(30_000);
    let h: Hierarchy;
    let dir: string;
    let cleanup: () => void;
    before(async () => {
      ({ dir, cleanup } = tempDir('serial'));
      h = await buildHierarchy('ecdsa-p256', 7);
      writeFile(dir, 'root.pem', h.root.cert.pem);
      writeFile(dir, 'chain.pem', h.node.cert.pem + h.az.cert.pem);
    });
    after(() => cleanup());

    for (const serial of ['80' + 'ff'.repeat(15), '00000001', '7f' + '00'.repeat(15)]) {
      it(`serial ${serial} prints as its value and verifies under -x509_strict`, async () => {
        const key = await generateCaKeyPair('ecdsa-p256');
        const leaf = await issueCertificate({
          issuer: { certDer: h.node.cert.der, signer: h.node.signer },
          subjectDer: nameDer([['commonName', 'serial.adrestia.test']]),
          spkiDer: key.spkiDer,
          sans: [{ type: 'dns', value: 'serial.adrestia.test' }],
          serial,
          notBefore: T0,
          notAfter: at(T0, days(30)),
          extensions: SERVER_LEAF,
        });
        const path = writeFile(dir, 'leaf.pem', leaf.pem);
        const printed = openssl(['x509', '-in', path, '-noout', '-serial']).stdout.trim();
        expect(printed).to.equal(`serial=${normalizeSerialHex(serial).toUpperCase()}`);
        const v = openssl(['verify', '-x509_strict', '-attime', epochSeconds(at(T0, days(1))), '-CAfile', `${dir}/root.pem`, '-untrusted', `${dir}/chain.pem`, path]);
        expect(v.stdout.trim(), v.stderr).to.equal(`${path}: OK`);
      });
    }
  });
});
