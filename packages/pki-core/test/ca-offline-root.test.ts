// Offline and external roots (docs/spec.md §5.4, docs/architecture.md §4.2): the
// root key lives only in files OpenSSL uses; this process sees its public key alone. Certificates
// are built here, signed out of band by `openssl dgst -sign`, and completed here.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '@adrestia/consensus';
import { expect } from 'chai';
import { buildUnsignedCertificate, completeCertificate, createRootCertificate, issueCertificate, type IssuedCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { randomSerial } from '../src/ca/serial.ts';
import { KeyObjectSigner, offlineSigner, type Signer } from '../src/ca/signer.ts';
import { isPkiError } from '../src/errors.ts';
import { at, CA_EXTENSIONS, days, epochSeconds, nameDer, openssl, SERVER_LEAF, T0, tempDir, writeFile } from './ca-fixtures.ts';

/** What the operator does on the offline machine: sign the TBS file with the root key. */
function signOutOfBand(dir: string, keyPath: string, tbs: Uint8Array): Uint8Array {
  const tbsPath = writeFile(dir, 'tbs.der', tbs);
  const sigPath = join(dir, 'tbs.sig');
  const r = openssl(['dgst', '-sha384', '-sign', keyPath, '-out', sigPath, tbsPath]);
  expect(r.status, r.stderr).to.equal(0);
  return new Uint8Array(readFileSync(sigPath));
}

/** An external signer: the `Signer` interface backed by another process (as an HSM bridge would be). */
function opensslProcessSigner(keyPath: string, spkiDer: Uint8Array): Signer {
  const identity = offlineSigner(spkiDer);
  return {
    algorithm: identity.algorithm,
    spkiDer,
    sign: (tbs) =>
      new Promise<Uint8Array>((resolve, reject) => {
        const child = spawn('openssl', ['dgst', '-sha384', '-sign', keyPath]);
        const out: Buffer[] = [];
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(new Uint8Array(Buffer.concat(out))) : reject(new Error(`openssl exited ${code}`))));
        child.stdin.end(tbs);
      }),
  };
}

describe('Offline root: TBS signed out of band, completed and verified', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  let rootKeyPath: string;
  let rootSpki: Uint8Array;
  const random = new SeededRandom(99);

  before(() => {
    ({ dir, cleanup } = tempDir('offline'));
    rootKeyPath = join(dir, 'offline-root.key');
    expect(openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', rootKeyPath]).status).to.equal(0);
    const pub = openssl(['pkey', '-in', rootKeyPath, '-pubout']).stdout;
    rootSpki = new Uint8Array(Buffer.from(pub.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
  });
  after(() => cleanup());

  it('root and AZ ICA signed offline; node ICA and leaf issued online; OpenSSL verifies the chain', async () => {
    const offline = offlineSigner(rootSpki);
    expect(offline.algorithm).to.equal('ecdsa-with-SHA384');
    const rootUnsigned = buildUnsignedCertificate({
      issuer: { selfSigned: true, signer: offline },
      subjectDer: nameDer([['organization', 'Adrestia'], ['commonName', 'Offline Root']]),
      spkiDer: rootSpki,
      serial: randomSerial(random),
      notBefore: T0,
      notAfter: at(T0, days(7300)),
      extensions: { basicConstraints: { ca: true }, keyUsage: ['keyCertSign', 'cRLSign'] },
    });
    const root = completeCertificate(rootUnsigned, signOutOfBand(dir, rootKeyPath, rootUnsigned.tbsDer));

    const azKey = await generateCaKeyPair('ecdsa-p256');
    const azUnsigned = buildUnsignedCertificate({
      issuer: { certDer: root.der, signer: offline },
      subjectDer: nameDer([['organization', 'Adrestia'], ['commonName', 'AZ az-1 ICA']]),
      spkiDer: azKey.spkiDer,
      serial: randomSerial(random),
      notBefore: T0,
      notAfter: at(T0, days(1825)),
      extensions: CA_EXTENSIONS(1),
    });
    const az = completeCertificate(azUnsigned, signOutOfBand(dir, rootKeyPath, azUnsigned.tbsDer));
    const leaf = await issueUnder(az, new KeyObjectSigner(azKey.privateKey));
    const v = openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-attime', epochSeconds(at(T0, days(5))), '-CAfile', writeFile(dir, 'root.pem', root.pem), '-untrusted', writeFile(dir, 'az.pem', az.pem), writeFile(dir, 'leaf.pem', leaf.pem)]);
    expect(v.stdout.trim(), v.stderr).to.match(/leaf\.pem: OK$/);
  });

  it('a signature that does not verify is refused with ERR_SIGNER_MISMATCH; the offline signer never signs in-process', async () => {
    const offline = offlineSigner(rootSpki);
    const unsigned = buildUnsignedCertificate({
      issuer: { selfSigned: true, signer: offline },
      subjectDer: nameDer([['commonName', 'Offline Root']]),
      spkiDer: rootSpki,
      serial: '01',
      notBefore: T0,
      notAfter: at(T0, days(10)),
      extensions: { basicConstraints: { ca: true }, keyUsage: ['keyCertSign', 'cRLSign'] },
    });
    const other = await generateCaKeyPair('ecdsa-p384');
    const wrongSig = new KeyObjectSigner(other.privateKey).sign(unsigned.tbsDer);
    expect(() => completeCertificate(unsigned, wrongSig)).to.throw().that.satisfies((e: unknown) => isPkiError(e, 'ERR_SIGNER_MISMATCH'));
    expect(() => offline.sign(unsigned.tbsDer)).to.throw(TypeError);
  });

  it('an external signer (another process behind the Signer interface) issues a CA OpenSSL accepts', async () => {
    const signer = opensslProcessSigner(rootKeyPath, rootSpki);
    const root = await createRootCertificate({ signer, subjectDer: nameDer([['commonName', 'External Root']]), serial: randomSerial(random), notBefore: T0, notAfter: at(T0, days(3650)), pathLen: 1 });
    const azKey = await generateCaKeyPair('ed25519');
    const az = await issueCertificate({
      issuer: { certDer: root.der, signer },
      subjectDer: nameDer([['commonName', 'AZ ICA under external root']]),
      spkiDer: azKey.spkiDer,
      serial: randomSerial(random),
      notBefore: T0,
      notAfter: at(T0, days(365)),
      extensions: CA_EXTENSIONS(0),
    });
    const leaf = await issueUnder(az, new KeyObjectSigner(azKey.privateKey));
    const v = openssl(['verify', '-x509_strict', '-attime', epochSeconds(at(T0, days(5))), '-CAfile', writeFile(dir, 'root.pem', root.pem), '-untrusted', writeFile(dir, 'az.pem', az.pem), writeFile(dir, 'leaf.pem', leaf.pem)]);
    expect(v.stdout.trim(), v.stderr).to.match(/leaf\.pem: OK$/);
  });

  async function issueUnder(issuer: IssuedCertificate, signer: Signer): Promise<IssuedCertificate> {
    const key = await generateCaKeyPair('ecdsa-p256');
    return issueCertificate({
      issuer: { certDer: issuer.der, signer },
      subjectDer: nameDer([['commonName', 'svc.az-1.adrestia.test']]),
      spkiDer: key.spkiDer,
      sans: [{ type: 'dns', value: 'svc.az-1.adrestia.test' }],
      serial: randomSerial(random),
      notBefore: T0,
      notAfter: at(T0, days(30)),
      extensions: SERVER_LEAF,
    });
  }
});
