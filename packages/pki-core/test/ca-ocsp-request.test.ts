// The OCSP answer path's own encoders and decoders (ca/ocsp-request.ts over der-reader.ts,
// ca/ocsp-response.ts `prepareOcspResponder`): every request shape OpenSSL sends is read field by
// field, anything that is not a DER OCSPRequest (RFC 6960 §4.1) is an OcspRequestError — which
// the responder answers with `malformedRequest` (node/ocsp/ocsp-responder.ts) — and answers built
// from a prepared responder verify with `openssl ocsp`.
import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bitString, explicit, integer, NULL_DER, octetString, oid, sequence, Tag, tlv } from '../src/ca/der.ts';
import { extension } from '../src/ca/extensions.ts';
import { issueCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { issuerHashes } from '../src/ca/ocsp-cert-id.ts';
import { OCSP_REQUEST_BYTES_MAX, OcspRequestError, OID_OCSP_NONCE, parseOcspRequest } from '../src/ca/ocsp-request.ts';
import { issueOcspResponderCertificate } from '../src/ca/ocsp-responder-cert.ts';
import { buildOcspResponse, prepareOcspResponder, type OcspCertStatus, type PreparedOcspResponder } from '../src/ca/ocsp-response.ts';
import { KeyObjectSigner } from '../src/ca/signer.ts';
import { buildHierarchy, days, nameDer, openssl, SERVER_LEAF, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';

const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_SHA384 = '2.16.840.1.101.3.4.2.2';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A CertID over raw fields, so each can be made wrong on its own. */
function certId(fields: { algorithm?: Uint8Array; nameHash?: Uint8Array; keyHash?: Uint8Array; serial?: Uint8Array; extra?: Uint8Array[] } = {}): Uint8Array {
  return sequence(
    fields.algorithm ?? sequence(oid(OID_SHA256), NULL_DER),
    fields.nameHash ?? octetString(new Uint8Array(32).fill(1)),
    fields.keyHash ?? octetString(new Uint8Array(32).fill(2)),
    fields.serial ?? integer(0x4f3e),
    ...(fields.extra ?? []),
  );
}

/** OCSPRequest { TBSRequest { requestList, requestExtensions [2] } } around the given Requests. */
function request(requests: Uint8Array[], extensions?: Uint8Array[]): Uint8Array {
  const tbs = [sequence(...requests)];
  if (extensions !== undefined) tbs.push(explicit(2, sequence(...extensions)));
  return sequence(sequence(...tbs));
}

function nonceExtension(octets: number): Uint8Array {
  return extension(OID_OCSP_NONCE, false, octetString(new Uint8Array(octets).fill(9)));
}

describe('The OCSP answer path: request reader and prepared responder', function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let dir: string;
  let cleanup: () => void;
  let delegated: PreparedOcspResponder;
  let caItself: PreparedOcspResponder;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);

  before(async () => {
    ({ dir, cleanup } = tempDir('ocsp-request'));
    h = await buildHierarchy('ecdsa-p256', 11);
    const leafKey = await generateCaKeyPair('ecdsa-p256');
    const leaf = await issueCertificate({
      issuer: { certDer: h.node.cert.der, signer: h.node.signer },
      subjectDer: nameDer([['commonName', 'app.example']]),
      spkiDer: leafKey.spkiDer,
      serial: '4f3e2d1c0b0a',
      notBefore: new Date(now.getTime() - days(1)),
      notAfter: new Date(now.getTime() + days(30)),
      extensions: SERVER_LEAF,
    });
    const responderKey = await generateCaKeyPair('ecdsa-p256');
    const responderCert = await issueOcspResponderCertificate({
      issuer: { certDer: h.node.cert.der, signer: h.node.signer },
      subjectDer: nameDer([['commonName', 'OCSP responder az-1']]),
      spkiDer: responderKey.spkiDer,
      serial: '7a02',
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + days(7)),
    });
    delegated = prepareOcspResponder(new KeyObjectSigner(responderKey.privateKey), responderCert.der);
    caItself = prepareOcspResponder(h.node.signer);
    writeFile(dir, 'leaf.pem', leaf.pem);
    writeFile(dir, 'leaf.key', leafKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFile(dir, 'issuer.pem', h.node.cert.pem);
    writeFile(dir, 'chain.pem', h.root.cert.pem + h.az.cert.pem);
  });
  after(() => cleanup());

  describe('RFC 6960 §4.1 OCSP requests read with the DER reader', () => {
    function opensslRequest(name: string, extra: string[]): Uint8Array {
      const path = join(dir, `${name}.req`);
      const r = openssl(['ocsp', '-issuer', join(dir, 'issuer.pem'), ...extra, '-reqout', path]);
      expect(r.status, r.stderr).to.equal(0);
      return new Uint8Array(readFileSync(path));
    }

    it('reads what OpenSSL sends: SHA-1 and SHA-256 CertIDs, several per request, serials, nonces, signed requests', () => {
      const leafArgs = ['-cert', join(dir, 'leaf.pem')];
      const shapes: [string, string[], { hash: 'sha1' | 'sha256'; serials: (string | null)[]; nonce: boolean }][] = [
        ['sha1-no-nonce', [...leafArgs, '-no_nonce'], { hash: 'sha1', serials: ['4f3e2d1c0b0a'], nonce: false }],
        ['sha256-nonce', ['-sha256', ...leafArgs], { hash: 'sha256', serials: ['4f3e2d1c0b0a'], nonce: true }],
        ['two-serials', [...leafArgs, '-serial', '0x7a01', '-serial', '0x80'], { hash: 'sha1', serials: ['4f3e2d1c0b0a', '7a01', '80'], nonce: true }],
        // Serial 0 and negative serials are read, then answered `unknown`: no CA of ours issues them.
        ['zero-and-negative', ['-serial', '0', '-serial', '-5'], { hash: 'sha1', serials: [null, null], nonce: true }],
        // requestorName [1] and optionalSignature [0] with the signer's certificate in `certs`.
        ['signed', [...leafArgs, '-signer', join(dir, 'leaf.pem'), '-signkey', join(dir, 'leaf.key')], { hash: 'sha1', serials: ['4f3e2d1c0b0a'], nonce: true }],
      ];
      for (const [name, args, want] of shapes) {
        const der = opensslRequest(name, args);
        const parsed = parseOcspRequest(der);
        const issuer = issuerHashes(h.node.cert.der, want.hash);
        expect(parsed.certIds.map((id) => id.serialHex), name).to.deep.equal(want.serials);
        for (const id of parsed.certIds) {
          expect([id.hash, id.issuerNameHashHex, id.issuerKeyHashHex], name).to.deep.equal([want.hash, issuer.nameHashHex, issuer.keyHashHex]);
          // SingleResponse.certID repeats the request's bytes (RFC 6960 §4.2.1).
          expect(hex(der), name).to.include(hex(id.der));
        }
        // RFC 8954 §2.1: OpenSSL's nonce is an OCTET STRING of 16 octets inside extnValue.
        expect(parsed.nonceExtnValue === undefined ? undefined : parsed.nonceExtnValue.length, name).to.equal(want.nonce ? 18 : undefined);
        if (parsed.nonceExtnValue !== undefined) expect(hex(der), name).to.include(hex(parsed.nonceExtnValue));
      }
    });

    it('a CertID hash it does not answer (SHA-384) is read with hash null, so the responder finds no issuer', () => {
      const parsed = parseOcspRequest(request([sequence(certId({ algorithm: sequence(oid(OID_SHA384), NULL_DER) }))]));
      expect(parsed.certIds[0]?.hash).to.equal(null);
      expect(parsed.certIds[0]?.serialHex).to.equal('4f3e');
      // AlgorithmIdentifier parameters are optional (RFC 5280 §4.1.1.2).
      expect(parseOcspRequest(request([sequence(certId({ algorithm: sequence(oid(OID_SHA256)) }))])).certIds[0]?.hash).to.equal('sha256');
    });

    it('malformed input is OcspRequestError (→ malformedRequest): BER, wrong tags, extra or missing fields, bad extensions, oversized', () => {
      const good = request([sequence(certId())], [nonceExtension(16)]);
      expect(parseOcspRequest(good).certIds).to.have.length(1);
      // The same request with its outer SEQUENCE in BER's indefinite form (X.690 §8.1.3.6), refused by DER.
      const indefinite = Uint8Array.from([0x30, 0x80, ...good.subarray(2), 0x00, 0x00]);
      // A length of 5 in the long form, which DER forbids (X.690 §10.1).
      const longLength = Uint8Array.from([0x30, 0x81, good[1]!, ...good.subarray(2)]);
      const bad: Record<string, Uint8Array> = {
        empty: new Uint8Array(0),
        oversized: new Uint8Array(OCSP_REQUEST_BYTES_MAX + 1).fill(0x30),
        indefinite,
        longLength,
        'trailing bytes': Uint8Array.from([...good, 0x00]),
        'not a SEQUENCE': oid('1.2.3'),
        'empty OCSPRequest': sequence(),
        'no requestList': sequence(sequence()),
        'empty requestList': request([]),
        'nine requests': request(Array.from({ length: 9 }, () => sequence(certId()))),
        'CertID with five fields': request([sequence(certId({ extra: [NULL_DER] }))]),
        'CertID with three fields': request([sequence(sequence(sequence(oid(OID_SHA256)), octetString(new Uint8Array(20)), integer(5)))]),
        'issuerNameHash not an OCTET STRING': request([sequence(certId({ nameHash: integer(1) }))]),
        'serialNumber not an INTEGER': request([sequence(certId({ serial: octetString(Uint8Array.of(1)) }))]),
        'hash OID with a non-minimal arc': request([sequence(certId({ algorithm: sequence(tlv(Tag.OID, Uint8Array.of(0x60, 0x80, 0x86, 0x48)), NULL_DER) }))]),
        'Request with an extra field': request([sequence(certId(), NULL_DER)]),
        'singleRequestExtensions not Extensions': request([sequence(certId(), explicit(0, NULL_DER))]),
        'requestExtensions [2] holding two values': sequence(sequence(sequence(sequence(certId())), explicit(2, sequence(nonceExtension(8)), sequence(nonceExtension(8))))),
        'Extension with a third field not BOOLEAN': request([sequence(certId())], [sequence(oid(OID_OCSP_NONCE), octetString(new Uint8Array(0)), octetString(octetString(Uint8Array.of(1))))]),
        'the nonce twice': request([sequence(certId())], [nonceExtension(8), nonceExtension(8)]),
        'empty nonce': request([sequence(certId())], [nonceExtension(0)]),
        'nonce of 33 octets': request([sequence(certId())], [nonceExtension(33)]),
        'optionalSignature not a Signature': sequence(sequence(sequence(sequence(certId()))), explicit(0, NULL_DER)),
        'optionalSignature with a certificate that is not one': sequence(
          sequence(sequence(sequence(certId()))),
          explicit(0, sequence(sequence(oid('1.2.840.10045.4.3.2')), bitString(Uint8Array.of(1)), explicit(0, sequence(sequence(integer(1)))))),
        ),
      };
      for (const [name, der] of Object.entries(bad)) expect(() => parseOcspRequest(der), name).to.throw(OcspRequestError);
      // A nonce of 1 and 32 octets is in bounds (RFC 8954 §2.1).
      for (const octets of [1, 32]) expect(parseOcspRequest(request([sequence(certId())], [nonceExtension(octets)])).nonceExtnValue?.length).to.equal(octets + 2);
    });

    it('any corruption of a real request (byte changed, dropped or inserted) parses or is OcspRequestError, never another error', () => {
      // Another error would escape OcspResponder.answer as internalError instead of malformedRequest.
      const seeds = [
        opensslRequest('fuzz-nonce', ['-sha256', '-cert', join(dir, 'leaf.pem')]),
        opensslRequest('fuzz-signed', ['-cert', join(dir, 'leaf.pem'), '-serial', '0x7a01', '-signer', join(dir, 'leaf.pem'), '-signkey', join(dir, 'leaf.key')]),
      ];
      const edit = fc.record({ kind: fc.constantFrom('set', 'drop', 'insert'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });
      fc.assert(
        fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 3 }), (which, edits) => {
          let der = Uint8Array.from(seeds[which]!);
          for (const e of edits) {
            const at = e.at % der.length;
            if (e.kind === 'set') der[at] = e.byte;
            else if (e.kind === 'drop') der = Uint8Array.from([...der.subarray(0, at), ...der.subarray(at + 1)]);
            else der = Uint8Array.from([...der.subarray(0, at), e.byte, ...der.subarray(at)]);
          }
          try {
            const parsed = parseOcspRequest(der);
            expect(parsed.certIds.length).to.be.within(1, 8);
          } catch (e) {
            expect(e, Buffer.from(der).toString('hex')).to.be.instanceOf(OcspRequestError);
          }
        }),
        { numRuns: 3000 },
      );
    });
  });

  describe('RFC 6960 §4.2.1 answers from a prepared responder (ResponderID, algorithm and certs encoded once)', () => {
    /** Asks openssl for a request, answers it with `responder` at `producedAt`, and checks the answer against the request. */
    async function check(name: string, responder: PreparedOcspResponder, status: OcspCertStatus, producedAt: Date): Promise<string> {
      const reqPath = join(dir, `${name}.req`);
      expect(openssl(['ocsp', '-sha256', '-issuer', join(dir, 'issuer.pem'), '-cert', join(dir, 'leaf.pem'), '-reqout', reqPath]).status).to.equal(0);
      const parsed = parseOcspRequest(new Uint8Array(readFileSync(reqPath)));
      const der = await buildOcspResponse({
        responder,
        producedAt,
        answers: parsed.certIds.map((id) => ({ certIdDer: id.der, status, thisUpdate: producedAt, nextUpdate: new Date(producedAt.getTime() + 600_000) })),
        ...(parsed.nonceExtnValue === undefined ? {} : { nonceExtnValue: parsed.nonceExtnValue }),
      });
      const resp = writeFile(dir, `${name}.resp`, der);
      const trust = ['-respin', resp, '-CAfile', join(dir, 'chain.pem'), '-verify_other', join(dir, 'issuer.pem')];
      const r = openssl(['ocsp', '-reqin', reqPath, '-resp_text', ...trust]);
      const s = openssl(['ocsp', '-sha256', '-issuer', join(dir, 'issuer.pem'), '-cert', join(dir, 'leaf.pem'), '-no_nonce', ...trust]);
      return r.stdout + r.stderr + s.stdout + s.stderr;
    }

    it('one prepared responder signs answer after answer; each verifies, nonce and times its own', async () => {
      const first = await check('delegated-1', delegated, { kind: 'good' }, now);
      const later = new Date(now.getTime() - 7_000);
      const second = await check('delegated-2', delegated, { kind: 'revoked', revokedAt: new Date(now.getTime() - 3_600_000), reason: 'keyCompromise' }, later);
      for (const out of [first, second]) {
        expect(out).to.include('Response verify OK');
        expect(out).to.not.include('Nonce Verify error');
        expect(out).to.include('Responder Id:');
      }
      expect(first).to.match(/leaf\.pem: good/);
      expect(second).to.match(/leaf\.pem: revoked/);
      // Times are encoded per answer, not carried over from the one before (RFC 6960 §4.2.2.1).
      const producedAt = (out: string): string => /Produced At: (.+)/.exec(out)?.[1] ?? '';
      expect(new Date(producedAt(first)).getTime()).to.equal(now.getTime());
      expect(new Date(producedAt(second)).getTime()).to.equal(later.getTime());
    });

    it('the CA itself, prepared without a certificate, sends no certs and verifies', async () => {
      expect(caItself.certsDer).to.equal(undefined);
      const out = await check('ca-itself', caItself, { kind: 'unknown' }, now);
      expect(out).to.include('Response verify OK');
      expect(out).to.match(/leaf\.pem: unknown/);
    });
  });
});
