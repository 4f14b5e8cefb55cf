// X.690 DER writer and reader used by the certificate hot path: lengths, INTEGERs, OIDs, SET OF
// ordering, and the reader's refusal of non-DER input. Cross-checked with `openssl asn1parse`.
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeOid } from '../src/ca/asn1-values.ts';
import { children, DerError, readTlv, readTop } from '../src/ca/der-reader.ts';
import { bitString, boolean, integer, octetString, oid, sequence, sequenceOf, setOf, Tag, toHex, utf8String } from '../src/ca/der.ts';
import { openssl, tempDir, writeFile } from './ca-fixtures.ts';

describe('X.690 §8/§10 DER encoding', () => {
  it('a SEQUENCE of 300,000 elements (a CRL of that many revocations) encodes: no argument spread overflows the stack', () => {
    const element = integer(0x1234);
    const parts = Array.from({ length: 300_000 }, () => element);
    const der = sequenceOf(parts);
    expect(children(der, readTop(der, Tag.SEQUENCE))).to.have.length(300_000);
    expect(toHex(sequenceOf(parts.slice(0, 3)))).to.equal(toHex(sequence(element, element, element)));
  });

  it('§8.1.3 definite lengths: short form below 128, minimal long form above', () => {
    const header = (n: number) => toHex(octetString(new Uint8Array(n)).subarray(0, n < 128 ? 2 : n < 256 ? 3 : n < 65536 ? 4 : 5));
    expect(header(0)).to.equal('0400');
    expect(header(127)).to.equal('047f');
    expect(header(128)).to.equal('048180');
    expect(header(255)).to.equal('0481ff');
    expect(header(256)).to.equal('04820100');
    expect(header(65536)).to.equal('0483010000');
  });

  it('§8.3 INTEGERs are minimal and non-negative', () => {
    expect(toHex(integer(0))).to.equal('020100');
    expect(toHex(integer(127))).to.equal('02017f');
    expect(toHex(integer(128))).to.equal('02020080');
    expect(toHex(integer(256))).to.equal('02020100');
    expect(toHex(integer(2n ** 64n))).to.equal('0209010000000000000000');
    expect(() => integer(-1)).to.throw(RangeError);
  });

  it('§8.19 OBJECT IDENTIFIERs encode and decode', () => {
    expect(toHex(oid('1.2.840.113549.1.1.11'))).to.equal('06092a864886f70d01010b');
    expect(toHex(oid('2.5.29.17'))).to.equal('0603551d11');
    expect(toHex(oid('1.3.101.112'))).to.equal('06032b6570');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.nat(), { maxLength: 8 }), (a, b, rest) => {
        const dotted = [a, b, ...rest].join('.');
        const der = oid(dotted);
        expect(decodeOid(der.subarray(2))).to.equal(dotted);
      }),
    );
  });

  it('§8.19.2 refuses non-minimal sub-identifiers, truncated and empty OIDs, and over-long ones', () => {
    expect(decodeOid(Uint8Array.of(0x55, 0x1d, 0x11))).to.equal('2.5.29.17');
    expect(decodeOid(Uint8Array.of(0x88, 0x37))).to.equal('2.999');
    expect(() => decodeOid(Uint8Array.of(0x55, 0x80, 0x1d))).to.throw(DerError, 'non-minimal');
    expect(() => decodeOid(Uint8Array.of(0x80, 0x55))).to.throw(DerError, 'non-minimal');
    expect(() => decodeOid(Uint8Array.of(0x55, 0x9d))).to.throw(DerError, 'truncated');
    expect(() => decodeOid(new Uint8Array(0))).to.throw(DerError);
    expect(() => decodeOid(new Uint8Array(65).fill(0x01))).to.throw(DerError, 'length');
  });

  it('§11.6 SET OF sorts its elements; §11.1 TRUE is 0xFF', () => {
    expect(toHex(setOf(utf8String('b'), utf8String('a')))).to.equal('31060c01610c0162');
    expect(toHex(boolean(true))).to.equal('0101ff');
  });

  it('OpenSSL parses what the writer produces', () => {
    const { dir, cleanup } = tempDir('der');
    try {
      const der = sequence(integer(2n ** 80n), oid('1.2.840.10045.4.3.2'), bitString(Uint8Array.of(0xa0), 5), octetString(new Uint8Array(300)), utf8String('Ωmega'));
      const r = openssl(['asn1parse', '-inform', 'DER', '-in', writeFile(dir, 'x.der', der)]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.include('INTEGER           :0100000000000000000000');
      expect(r.stdout).to.include('OBJECT            :ecdsa-with-SHA256');
      expect(r.stdout).to.include('UTF8STRING        :Ωmega');
    } finally {
      cleanup();
    }
  });

  it('the reader refuses indefinite and non-minimal lengths, overruns and trailing bytes', () => {
    expect(() => readTlv(Uint8Array.of(0x30, 0x80, 0, 0), 0)).to.throw(DerError);
    expect(() => readTlv(Uint8Array.of(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), 0)).to.throw(DerError);
    expect(() => readTlv(Uint8Array.of(0x04, 0x05, 1), 0)).to.throw(DerError);
    expect(() => readTop(Uint8Array.of(0x05, 0x00, 0x00), Tag.NULL)).to.throw(DerError);
    const s = sequence(integer(1), integer(2));
    expect(children(s, readTop(s, Tag.SEQUENCE)).map((t) => t.tag)).to.deep.equal([2, 2]);
  });
});
