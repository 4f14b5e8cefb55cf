// RFC 6960 OCSP as OpenSSL reads it: requests parsed (SHA-1 and SHA-256 CertIDs, RFC 8954
// nonces), responses signed by a delegated responder (RFC 6960 §4.2.2.2, id-pkix-ocsp-nocheck) or
// by the CA itself, for good, revoked (time and reason) and unknown; malformed requests refused.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explicit, octetString, oid, sequence } from '../src/ca/der.ts';
import { extension } from '../src/ca/extensions.ts';
import { issueCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { issuerHashes } from '../src/ca/ocsp-cert-id.ts';
import { OcspRequestError, OID_OCSP_NONCE, parseOcspRequest } from '../src/ca/ocsp-request.ts';
import { issueOcspResponderCertificate } from '../src/ca/ocsp-responder-cert.ts';
import { buildOcspResponse, ocspErrorResponse, type OcspCertStatus } from '../src/ca/ocsp-response.ts';
import { KeyObjectSigner } from '../src/ca/signer.ts';
import { buildHierarchy, days, nameDer, openssl, SERVER_LEAF, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';

describe('RFC 6960 OCSP requests and responses', function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let dir: string;
  let cleanup: () => void;
  let responder: { signer: KeyObjectSigner; certDer: Uint8Array };
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);

  before(async () => {
    ({ dir, cleanup } = tempDir('ocsp'));
    h = await buildHierarchy('ecdsa-p256', 9);
    const leaf = await issueCertificate({
      issuer: { certDer: h.node.cert.der, signer: h.node.signer },
      subjectDer: nameDer([['commonName', 'app.example']]),
      spkiDer: (await generateCaKeyPair('ecdsa-p256')).spkiDer,
      serial: '4f3e2d1c0b0a',
      notBefore: new Date(now.getTime() - days(1)),
      notAfter: new Date(now.getTime() + days(30)),
      extensions: SERVER_LEAF,
    });
    const key = await generateCaKeyPair('ecdsa-p256');
    const cert = await issueOcspResponderCertificate({
      issuer: { certDer: h.node.cert.der, signer: h.node.signer },
      subjectDer: nameDer([['commonName', 'OCSP responder az-1']]),
      spkiDer: key.spkiDer,
      serial: '7a01',
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + days(7)),
    });
    responder = { signer: new KeyObjectSigner(key.privateKey), certDer: cert.der };
    writeFile(dir, 'leaf.pem', leaf.pem);
    writeFile(dir, 'issuer.pem', h.node.cert.pem);
    writeFile(dir, 'chain.pem', h.root.cert.pem + h.az.cert.pem);
    writeFile(dir, 'responder.pem', cert.pem);
  });
  after(() => cleanup());

  function opensslRequest(name: string, extra: string[] = []): Uint8Array {
    const path = join(dir, `${name}.req`);
    const r = openssl(['ocsp', ...extra, '-issuer', join(dir, 'issuer.pem'), '-cert', join(dir, 'leaf.pem'), '-reqout', path]);
    expect(r.status, r.stderr).to.equal(0);
    return new Uint8Array(readFileSync(path));
  }

  async function answer(requestDer: Uint8Array, status: OcspCertStatus, delegated = true): Promise<Uint8Array> {
    const request = parseOcspRequest(requestDer);
    return buildOcspResponse({
      signer: delegated ? responder.signer : h.node.signer,
      ...(delegated ? { responderCertDer: responder.certDer } : {}),
      producedAt: now,
      answers: request.certIds.map((id) => ({ certIdDer: id.der, status, thisUpdate: now, nextUpdate: new Date(now.getTime() + 600_000) })),
      ...(request.nonceExtnValue ? { nonceExtnValue: request.nonceExtnValue } : {}),
    });
  }

  /**
   * `openssl ocsp` checks a saved response twice: against its request (signature, chain to the
   * root, nonce: OpenSSL compares it only with `-reqin`) and for the leaf's status.
   */
  function opensslCheck(name: string, responseDer: Uint8Array, digest: string[] = []): { status: number | null; out: string } {
    const resp = writeFile(dir, `${name}.resp`, responseDer);
    const trust = ['-respin', resp, '-CAfile', join(dir, 'chain.pem'), '-verify_other', join(dir, 'issuer.pem')];
    const withRequest = openssl(['ocsp', '-reqin', join(dir, `${name}.req`), ...trust]);
    const status = openssl(['ocsp', ...digest, '-issuer', join(dir, 'issuer.pem'), '-cert', join(dir, 'leaf.pem'), '-no_nonce', ...trust]);
    return { status: withRequest.status ?? status.status, out: withRequest.stdout + withRequest.stderr + status.stdout + status.stderr };
  }

  it('§4.1.1 CertID: the request names the issuer by SHA-1 or SHA-256 hashes of its Name and key', () => {
    for (const [flag, hash] of [['-sha1', 'sha1'], ['-sha256', 'sha256']] as const) {
      const [id] = parseOcspRequest(opensslRequest(`hash-${hash}`, [flag])).certIds;
      expect(id?.hash).to.equal(hash);
      expect(id?.serialHex).to.equal('4f3e2d1c0b0a');
      const expected = issuerHashes(h.node.cert.der, hash);
      expect([id?.issuerNameHashHex, id?.issuerKeyHashHex]).to.deep.equal([expected.nameHashHex, expected.keyHashHex]);
    }
  });

  it('§4.2.2.2 a delegated responder (OCSPSigning, ocsp-nocheck) answers good, with the nonce echoed (RFC 8954)', async () => {
    const text = openssl(['x509', '-in', join(dir, 'responder.pem'), '-noout', '-text']).stdout;
    expect(text).to.include('OCSP Signing');
    expect(text).to.include('OCSP No Check');
    const req = opensslRequest('good', ['-sha256']);
    expect(parseOcspRequest(req).nonceExtnValue, 'openssl sends a nonce by default').to.not.equal(undefined);
    const r = opensslCheck('good', await answer(req, { kind: 'good' }), ['-sha256']);
    expect(r.out).to.include('Response verify OK');
    expect(r.out).to.match(/leaf\.pem: good/);
    expect(r.out).to.not.include('WARNING');
    expect(r.out).to.not.include('Nonce Verify error');
  });

  it('§4.2.1 revoked with revocation time and reason; the CA itself may sign', async () => {
    const revokedAt = new Date(now.getTime() - 3_600_000);
    const r = opensslCheck('revoked', await answer(opensslRequest('revoked'), { kind: 'revoked', revokedAt, reason: 'keyCompromise' }, false));
    expect(r.out).to.include('Response verify OK');
    expect(r.out).to.match(/leaf\.pem: revoked/);
    expect(r.out).to.include('Reason: keyCompromise');
    expect(r.out).to.include('Revocation Time:');
  });

  it('§2.2 unknown', async () => {
    const r = opensslCheck('unknown', await answer(opensslRequest('unknown', ['-no_nonce']), { kind: 'unknown' }));
    expect(r.out).to.include('Response verify OK');
    expect(r.out).to.match(/leaf\.pem: unknown/);
  });

  it('§2.3 error statuses carry no body', () => {
    const path = writeFile(dir, 'malformed.resp', ocspErrorResponse('malformedRequest'));
    const r = openssl(['ocsp', '-respin', path, '-resp_text', '-noverify']);
    expect(r.stdout + r.stderr).to.match(/malformedrequest \(1\)/i);
    expect(Buffer.from(ocspErrorResponse('tryLater')).toString('hex')).to.equal('30030a0103');
  });

  it('malformed requests are OcspRequestError: bad DER, trailing bytes, empty request list, nonce over 32 octets', () => {
    const good = opensslRequest('plain', ['-no_nonce']);
    const withNonce = (n: number): Uint8Array => {
      // A request for the same CertID with a nonce of n octets (RFC 8954 §2.1 allows 1..32).
      const certId = parseOcspRequest(good).certIds[0]!.der;
      const nonce = extension(OID_OCSP_NONCE, false, octetString(new Uint8Array(n).fill(7)));
      return sequence(sequence(sequence(sequence(certId)), explicit(2, sequence(nonce))));
    };
    expect(parseOcspRequest(withNonce(32)).nonceExtnValue?.length).to.equal(34);
    const bad = [Uint8Array.of(0x30, 0x03, 0x02), new Uint8Array([...good, 0]), sequence(sequence(sequence())), withNonce(33), oid('1.2.3')];
    for (const der of bad) expect(() => parseOcspRequest(der), Buffer.from(der).toString('hex')).to.throw(OcspRequestError);
  });
});
