import { expect } from 'chai';
import fc from 'fast-check';
import { PkiError, PKI_ERROR_CODES } from '../src/errors.ts';
import { parseCsr, type ParsedCsr } from '../src/ca/csr.ts';
import { children, readTlv, type Tlv } from '../src/ca/der-reader.ts';
import { renderName } from '../src/ca/names.ts';
import { tempDir } from './ca-fixtures.ts';
import { makeCsr, type CsrFixture, type CsrFixtureName } from './ca-csr-fixtures.ts';

/** Offsets of every TLV header in `der`, descending into constructed values. */
function tlvHeaders(der: Uint8Array): number[] {
  const out: number[] = [];
  const walk = (t: Tlv): void => {
    out.push(t.start);
    if ((t.tag & 0x20) !== 0) for (const c of children(der, t)) walk(c);
  };
  walk(readTlv(der, 0));
  return out;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PkiError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('RFC 2986 CSR parsing and signature check (parseCsr)', function () {
  this.timeout(120_000);
  const { dir, cleanup } = tempDir('csr');
  const csr = {} as Record<CsrFixtureName, CsrFixture>;
  before(() => {
    for (const name of ['p256', 'p384', 'rsa2048', 'rsa3072', 'ed25519', 'rsa1024', 'p521', 'dsa', 'p256sha1', 'p256nosan'] as const) {
      csr[name] = makeCsr(dir, name);
    }
  });
  after(cleanup);

  describe('accepts OpenSSL CSRs for every supported key type', () => {
    const cases: Array<[CsrFixtureName, ParsedCsr['keyType'], number | undefined, string]> = [
      ['p256', 'ecdsa-p256', undefined, 'ecdsa-with-SHA256'],
      ['p384', 'ecdsa-p384', undefined, 'ecdsa-with-SHA384'],
      ['rsa2048', 'rsa', 2048, 'sha256WithRSAEncryption'],
      ['rsa3072', 'rsa', 3072, 'sha256WithRSAEncryption'],
      ['ed25519', 'ed25519', undefined, 'Ed25519'],
    ];
    for (const [name, keyType, bits, sigAlg] of cases) {
      it(`${name}: key type, subject, signature algorithm and requested SANs`, () => {
        const parsed = parseCsr(csr[name].pem);
        expect(parsed.keyType).to.equal(keyType);
        expect(parsed.rsaBits).to.equal(bits);
        expect(parsed.signatureAlgorithm).to.equal(sigAlg);
        // RFC 4514: most specific first, the comma in "Acme, Inc." escaped.
        expect(parsed.subject).to.equal(`CN=host-${name},O=Acme\\, Inc.,C=US`);
        expect(renderName(parsed.subjectDer)).to.equal(parsed.subject);
        expect(parsed.publicKey.type).to.equal('public');
        // The imported key is exactly the CSR's key.
        expect(Buffer.from(parsed.publicKey.export({ format: 'der', type: 'spki' })).equals(Buffer.from(parsed.spkiDer))).to.equal(true);
        expect(parsed.requestedSans).to.deep.equal([
          { type: 'dns', value: 'Node-1.Example.com' },
          { type: 'ip', value: '10.1.2.3' },
          { type: 'ip', value: '2001:db8::7' },
          { type: 'uri', value: 'spiffe://adrestia.test/node/1' },
          { type: 'email', value: 'ops@example.com' },
        ]);
        expect(parsed.unsupportedSanTypes).to.deep.equal([]);
      });
    }

    it('takes DER bytes, PEM bytes and PEM text alike', () => {
      const { pem, der } = csr.p256;
      const a = parseCsr(pem);
      expect(Buffer.from(parseCsr(der).der).equals(Buffer.from(a.der))).to.equal(true);
      expect(parseCsr(new TextEncoder().encode(`junk before\n${pem}`)).subject).to.equal(a.subject);
      expect(Buffer.from(a.der).equals(Buffer.from(der))).to.equal(true);
    });

    it('a CSR without an extensionRequest has no requested SANs', () => {
      expect(parseCsr(csr.p256nosan.pem).requestedSans).to.deep.equal([]);
    });
  });

  describe('refuses weak, unsupported and tampered CSRs with stable codes', () => {
    it('RSA 1024 → ERR_KEY_TOO_WEAK', () => expect(codeOf(() => parseCsr(csr.rsa1024.pem))).to.equal('ERR_KEY_TOO_WEAK'));
    it('P-521 → ERR_KEY_UNSUPPORTED', () => expect(codeOf(() => parseCsr(csr.p521.pem))).to.equal('ERR_KEY_UNSUPPORTED'));
    it('DSA → ERR_KEY_UNSUPPORTED', () => expect(codeOf(() => parseCsr(csr.dsa.pem))).to.equal('ERR_KEY_UNSUPPORTED'));
    it('ecdsa-with-SHA1 → ERR_CSR_UNSUPPORTED_SIGNATURE_ALGORITHM', () =>
      expect(codeOf(() => parseCsr(csr.p256sha1.pem))).to.equal('ERR_CSR_UNSUPPORTED_SIGNATURE_ALGORITHM'));

    for (const name of ['p256', 'rsa2048', 'ed25519'] as const) {
      it(`${name}: a flipped bit in the signature → ERR_CSR_SIGNATURE`, () => {
        const der = csr[name].der.slice();
        der[der.length - 5]! ^= 0x01;
        expect(codeOf(() => parseCsr(der))).to.equal('ERR_CSR_SIGNATURE');
      });
      it(`${name}: a changed subject character → ERR_CSR_SIGNATURE`, () => {
        const der = csr[name].der.slice();
        const at = Buffer.from(der).indexOf(`host-${name}`);
        der[at]! ^= 0x01; // "host" → "iost": still a valid name, no longer what was signed
        expect(codeOf(() => parseCsr(der))).to.equal('ERR_CSR_SIGNATURE');
      });
    }

    it('an EC point off the curve → ERR_CSR_MALFORMED (never a key we cannot trust)', () => {
      const der = csr.p256.der.slice();
      const spki = parseCsr(der).spkiDer;
      const at = Buffer.from(der).indexOf(Buffer.from(spki)) + spki.length - 1;
      der[at]! ^= 0x01; // last byte of Y
      expect(codeOf(() => parseCsr(der))).to.equal('ERR_CSR_MALFORMED');
    });

    it('truncated DER → ERR_CSR_MALFORMED', () => {
      const { der } = csr.p256;
      for (const n of [0, 1, 2, 10, der.length - 1]) expect(codeOf(() => parseCsr(der.subarray(0, n)))).to.equal('ERR_CSR_MALFORMED');
    });
    it('trailing garbage after the DER → ERR_CSR_MALFORMED', () => {
      const der = new Uint8Array([...csr.p256.der, 0x00]);
      expect(codeOf(() => parseCsr(der))).to.equal('ERR_CSR_MALFORMED');
    });
    it('a certificate or key PEM, bad base64, empty text → ERR_CSR_MALFORMED', () => {
      expect(codeOf(() => parseCsr('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))).to.equal('ERR_CSR_MALFORMED');
      expect(codeOf(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n'))).to.equal('ERR_CSR_MALFORMED');
      expect(codeOf(() => parseCsr(''))).to.equal('ERR_CSR_MALFORMED');
    });
  });

  describe('hostile bytes: every failure is a PkiError with a code (fast-check)', () => {
    const known = new Set<string>(PKI_ERROR_CODES);
    const csrCodes = new Set(['ERR_CSR_MALFORMED', 'ERR_CSR_SIGNATURE', 'ERR_CSR_UNSUPPORTED_SIGNATURE_ALGORITHM', 'ERR_KEY_UNSUPPORTED', 'ERR_KEY_TOO_WEAK']);
    function onlyPkiErrors(input: Uint8Array): void {
      try {
        parseCsr(input);
      } catch (e) {
        if (!(e instanceof PkiError)) throw new Error(`non-PkiError for ${Buffer.from(input).toString('hex')}: ${String(e)}`, { cause: e });
        expect(known.has(e.code) && csrCodes.has(e.code), e.code).to.equal(true);
      }
    }

    it('random byte strings', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => onlyPkiErrors(bytes)), { numRuns: 2000 });
    });

    it('random bytes behind a SEQUENCE header', () => {
      const framed = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => new Uint8Array([0x30, ...(b.length < 128 ? [b.length] : [0x81, b.length]), ...b]));
      fc.assert(fc.property(framed, (bytes) => onlyPkiErrors(bytes)), { numRuns: 2000 });
    });

    for (const name of ['p256', 'rsa2048', 'ed25519'] as const) {
      it(`${name}: bit flips, truncations, length-byte changes and splices of a valid CSR`, () => {
        const base = csr[name].der;
        const mutation = fc.oneof(
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat(base.length - 1), bit: fc.nat(7) }),
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(base.length - 1), bit: fc.constant(0) }),
          fc.record({ kind: fc.constant('byte' as const), at: fc.nat(base.length - 1), bit: fc.nat(255) }),
          fc.record({ kind: fc.constant('insert' as const), at: fc.nat(base.length), bit: fc.nat(255) }),
        );
        fc.assert(
          fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => {
            let der = base.slice();
            for (const m of muts) {
              const at = Math.min(m.at, der.length - 1);
              if (m.kind === 'flip') der[at]! ^= 1 << m.bit;
              else if (m.kind === 'truncate') der = der.subarray(0, at);
              else if (m.kind === 'byte') der[at] = m.bit;
              else der = new Uint8Array([...der.subarray(0, m.at), m.bit, ...der.subarray(m.at)]);
              if (der.length === 0) break;
            }
            onlyPkiErrors(der);
          }),
          { numRuns: 1500 },
        );
      });
    }

    it('length octets of every TLV in a valid CSR, shrunk, grown or made long-form', () => {
      const base = csr.rsa2048.der;
      const headers = tlvHeaders(base);
      expect(headers.length).to.be.greaterThan(20);
      const change = fc.record({ header: fc.constantFrom(...headers), delta: fc.integer({ min: -130, max: 130 }), longForm: fc.boolean() });
      fc.assert(
        fc.property(change, ({ header, delta, longForm }) => {
          const t = readTlv(base, header);
          const len = t.end - t.contentStart;
          const newLen = Math.max(0, len + delta);
          // Re-encode the header: short or (possibly non-minimal) long form; content bytes unchanged.
          const lenBytes = longForm || newLen >= 0x80 ? [0x82, newLen >> 8, newLen & 0xff] : [newLen];
          const der = new Uint8Array([...base.subarray(0, t.start + 1), ...lenBytes, ...base.subarray(t.contentStart)]);
          onlyPkiErrors(der);
        }),
        { numRuns: 1000 },
      );
    });

    it('every single-byte change of the p256 CSR fails or still verifies as the same key', () => {
      const base = csr.p256.der;
      const original = parseCsr(base);
      for (let at = 0; at < base.length; at++) {
        const der = base.slice();
        der[at]! ^= 0xff;
        try {
          const p = parseCsr(der);
          // Only bytes outside the signed info and outside the signature value could survive; none do.
          expect(Buffer.from(p.spkiDer).equals(Buffer.from(original.spkiDer))).to.equal(true);
        } catch (e) {
          expect(e).to.be.instanceOf(PkiError);
        }
      }
    });
  });
});
