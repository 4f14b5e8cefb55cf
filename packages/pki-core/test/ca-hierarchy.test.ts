// The whole hierarchy of docs/architecture.md §4.2 (root → AZ ICA → node ICA → leaves) for every CA
// key type, checked by OpenSSL as the independent verifier: path validation in strict mode with TLS
// purposes, CRL signatures and revocation checking, and the algorithms OpenSSL reads back.
import { expect } from 'chai';
import { assembleChain, chainToPem } from '../src/ca/chain.ts';
import { buildCrl } from '../src/ca/crl.ts';
import { issueCertificate, type ExtensionChoices } from '../src/ca/issue.ts';
import { generateCaKeyPair, type CaKeyType } from '../src/ca/keys.ts';
import { randomSerial } from '../src/ca/serial.ts';
import {
  at,
  buildHierarchy,
  CLIENT_LEAF,
  days,
  epochSeconds,
  nameDer,
  openssl,
  SERVER_LEAF,
  T0,
  tempDir,
  writeFile,
  type Hierarchy,
} from './ca-fixtures.ts';

const CASES: ReadonlyArray<{ keyType: CaKeyType; leafKeyType: CaKeyType; opensslSigAlg: string }> = [
  { keyType: 'ecdsa-p256', leafKeyType: 'ecdsa-p256', opensslSigAlg: 'ecdsa-with-SHA256' },
  { keyType: 'ecdsa-p384', leafKeyType: 'ecdsa-p384', opensslSigAlg: 'ecdsa-with-SHA384' },
  { keyType: 'rsa-3072', leafKeyType: 'rsa-3072', opensslSigAlg: 'sha256WithRSAEncryption' },
  { keyType: 'rsa-4096', leafKeyType: 'ecdsa-p256', opensslSigAlg: 'sha256WithRSAEncryption' },
  { keyType: 'ed25519', leafKeyType: 'ed25519', opensslSigAlg: 'ED25519' },
];

const CHECK_AT = epochSeconds(at(T0, days(30)));

async function issueLeaf(h: Hierarchy, keyType: CaKeyType, cn: string, extensions: ExtensionChoices): Promise<{ der: Uint8Array; pem: string; serialHex: string }> {
  const key = await generateCaKeyPair(keyType);
  return issueCertificate({
    issuer: { certDer: h.node.cert.der, signer: h.node.signer },
    subjectDer: nameDer([['commonName', cn]]),
    spkiDer: key.spkiDer,
    sans: [
      { type: 'dns', value: cn },
      { type: 'ip', value: '127.1.0.10' },
    ],
    serial: randomSerial(h.random),
    notBefore: T0,
    notAfter: at(T0, days(90)),
    extensions,
  });
}

for (const { keyType, leafKeyType, opensslSigAlg } of CASES) {
  describe(`RFC 5280 §6 certification path root → AZ ICA → node ICA → leaf (${keyType} CAs), verified by OpenSSL`, function () {
    this.timeout(60_000);
    let h: Hierarchy;
    let dir: string;
    let cleanup: () => void;
    let server: { der: Uint8Array; pem: string; serialHex: string };
    let client: { der: Uint8Array; pem: string; serialHex: string };
    let rootPem: string;
    let chainPem: string;

    before(async () => {
      ({ dir, cleanup } = tempDir(`ca-${keyType}`));
      h = await buildHierarchy(keyType);
      server = await issueLeaf(h, leafKeyType, 'server.az-1.adrestia.test', SERVER_LEAF);
      client = await issueLeaf(h, leafKeyType, 'client.az-1.adrestia.test', CLIENT_LEAF);
      rootPem = writeFile(dir, 'root.pem', h.root.cert.pem);
      // The chain file is produced by our own chain assembly, from certificates in shuffled order.
      const chain = assembleChain(server.der, [h.root.cert.der, h.node.cert.der, h.az.cert.der]);
      chainPem = writeFile(dir, 'chain.pem', chainToPem(chain.slice(1)));
      writeFile(dir, 'server.pem', server.pem);
      writeFile(dir, 'client.pem', client.pem);
    });
    after(() => cleanup());

    const verify = (purpose: string, leaf: string, extra: string[] = []) =>
      openssl(['verify', '-x509_strict', '-attime', CHECK_AT, '-purpose', purpose, '-CAfile', rootPem, '-untrusted', chainPem, ...extra, `${dir}/${leaf}`]);

    it('a server leaf verifies with -x509_strict -purpose sslserver', () => {
      const r = verify('sslserver', 'server.pem');
      expect(r.stderr).to.equal('');
      expect(r.stdout.trim()).to.equal(`${dir}/server.pem: OK`);
      expect(r.status).to.equal(0);
    });

    it('a client leaf verifies with -x509_strict -purpose sslclient', () => {
      const r = verify('sslclient', 'client.pem');
      expect(r.stdout.trim(), r.stderr).to.equal(`${dir}/client.pem: OK`);
    });

    it('a server-only leaf is refused for sslclient (extKeyUsage is enforced)', () => {
      const r = verify('sslclient', 'server.pem');
      expect(r.status).to.not.equal(0);
      expect(r.stdout + r.stderr).to.match(/unsuitable certificate purpose/);
    });

    it(`every certificate is signed with ${opensslSigAlg}`, () => {
      for (const name of ['root.pem', 'server.pem']) {
        const text = openssl(['x509', '-in', `${dir}/${name}`, '-noout', '-text']).stdout;
        expect(text).to.include(`Signature Algorithm: ${opensslSigAlg}`);
      }
    });

    it('RFC 5280 §5: the node ICA CRL verifies, and -crl_check refuses exactly the revoked leaf', async () => {
      const crl = await buildCrl({
        issuer: h.node.cert.der,
        signer: h.node.signer,
        crlNumber: 1,
        thisUpdate: at(T0, days(29)),
        nextUpdate: at(T0, days(36)),
        revoked: [{ serialHex: client.serialHex, revokedAt: at(T0, days(28)), reason: 'keyCompromise' }],
      });
      const crlPath = writeFile(dir, 'node.crl.pem', crl.pem);
      writeFile(dir, 'node-ica.pem', h.node.cert.pem);
      const c = openssl(['crl', '-in', crlPath, '-noout', '-verify', '-CAfile', `${dir}/node-ica.pem`]);
      expect(c.stderr.trim()).to.equal('verify OK');
      const ok = verify('sslserver', 'server.pem', ['-crl_check', '-CRLfile', crlPath]);
      expect(ok.stdout.trim(), ok.stderr).to.equal(`${dir}/server.pem: OK`);
      const revoked = verify('sslclient', 'client.pem', ['-crl_check', '-CRLfile', crlPath]);
      expect(revoked.status).to.not.equal(0);
      expect(revoked.stdout + revoked.stderr).to.match(/certificate revoked/);
    });
  });
}
