// RFC 5280 §5.2.4 delta CRLs and §5.2.6 Freshest CRL as OpenSSL reads them: a complete CRL names
// where its deltas are; a delta (critical deltaCRLIndicator = the base's number) lists what was
// revoked since, and `openssl verify -crl_check -use_deltas` applies base + delta together.
import { expect } from 'chai';
import { join } from 'node:path';
import { buildCrl } from '../src/ca/crl.ts';
import { issueCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { at, buildHierarchy, days, nameDer, openssl, SERVER_LEAF, T0, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';

describe('RFC 5280 §5.2.4 delta CRLs', function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let dir: string;
  let cleanup: () => void;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);

  before(async () => {
    ({ dir, cleanup } = tempDir('crl-delta'));
    h = await buildHierarchy('ecdsa-p256', 11);
    for (const [name, serial] of [['old', '0a01'], ['new', '0a02'], ['kept', '0a03']] as const) {
      const leaf = await issueCertificate({
        issuer: { certDer: h.node.cert.der, signer: h.node.signer },
        subjectDer: nameDer([['commonName', `${name}.example`]]),
        spkiDer: (await generateCaKeyPair('ecdsa-p256')).spkiDer,
        serial,
        notBefore: at(T0, days(1)),
        notAfter: at(now, days(30)),
        extensions: SERVER_LEAF,
      });
      writeFile(dir, `${name}.pem`, leaf.pem);
    }
    writeFile(dir, 'root.pem', h.root.cert.pem);
    writeFile(dir, 'chain.pem', h.az.cert.pem + h.node.cert.pem);
  });
  after(() => cleanup());

  const crl = (crlNumber: number, serials: string[], extra: { deltaOf?: number; freshestCrlUrl?: string }) =>
    buildCrl({
      issuer: h.node.cert.der,
      signer: h.node.signer,
      crlNumber,
      thisUpdate: now,
      nextUpdate: at(now, 3_600_000),
      revoked: serials.map((serialHex) => ({ serialHex, revokedAt: at(now, -60_000), reason: 'keyCompromise' as const })),
      ...extra,
    });

  /** `openssl verify` with CRL checking over the given CRL files; stdout + stderr. */
  const verify = (leaf: string, crls: string[], useDeltas: boolean): string => {
    const crlArgs = crls.flatMap((c) => ['-CRLfile', join(dir, c)]);
    const r = openssl(['verify', '-crl_check', ...(useDeltas ? ['-use_deltas'] : []), ...crlArgs, '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, leaf)]);
    return r.stdout + r.stderr;
  };

  it('§5.2.6/§5.2.4 a complete CRL names its deltas; a delta carries a critical deltaCRLIndicator', async () => {
    const base = await crl(5, ['0a01'], { freshestCrlUrl: 'http://127.1.0.1:8080/crl/node-1-delta.crl' });
    const delta = await crl(6, ['0a02'], { deltaOf: 5 });
    const baseText = openssl(['crl', '-in', writeFile(dir, 'base.pem', base.pem), '-noout', '-text']).stdout;
    expect(baseText).to.include('Freshest CRL');
    expect(baseText).to.include('URI:http://127.1.0.1:8080/crl/node-1-delta.crl');
    const deltaText = openssl(['crl', '-in', writeFile(dir, 'delta.pem', delta.pem), '-noout', '-text']).stdout;
    expect(deltaText).to.match(/Delta CRL Indicator: critical\s+5/);
    expect(deltaText).to.include('Serial Number: 0A02');
  });

  it('openssl -crl_check -use_deltas: base + delta revoke both, the rest verifies; without deltas only the base counts', async () => {
    writeFile(dir, 'base.pem', (await crl(7, ['0a01'], { freshestCrlUrl: 'http://127.1.0.1:8080/crl/node-1-delta.crl' })).pem);
    writeFile(dir, 'delta.pem', (await crl(8, ['0a02'], { deltaOf: 7 })).pem);
    expect(verify('old.pem', ['base.pem', 'delta.pem'], true)).to.match(/certificate revoked/);
    expect(verify('new.pem', ['base.pem', 'delta.pem'], true)).to.match(/certificate revoked/);
    expect(verify('kept.pem', ['base.pem', 'delta.pem'], true)).to.match(/kept\.pem: OK/);
    expect(verify('new.pem', ['base.pem'], false)).to.match(/new\.pem: OK/);
  });

  it('misuse is a TypeError: a delta not below its base, a delta with Freshest CRL', async () => {
    let error: unknown;
    for (const extra of [{ deltaOf: 9 }, { deltaOf: 3, freshestCrlUrl: 'http://x/crl' }]) {
      error = undefined;
      try {
        await crl(9, [], extra);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(extra)).to.be.instanceOf(TypeError);
    }
  });
});
