// When an issuer publishes a new CRL (node/revocation/crl-refresh.ts refreshCrl → crlNeedsRefresh):
// judged by the serials its latest CRL lists, read back from the DER and checked against OpenSSL's reading.
import { expect } from 'chai';
import { buildCrl, type RevokedEntry } from '../src/ca/crl.ts';
import { crlListedSerials } from '../src/ca/crl-entries.ts';
import { crlNeedsRefresh } from '../src/node/ca/ca-revocation.ts';
import { at, buildHierarchy, days, openssl, T0, tempDir, writeFile, type Hierarchy } from './ca-fixtures.ts';

describe('RFC 5280 §5.1.2.6 CRL refresh: a CRL is judged by the serials it lists', function () {
  this.timeout(60_000);
  let h: Hierarchy;
  let dir: string;
  let cleanup: () => void;

  before(async () => {
    ({ dir, cleanup } = tempDir('crl-refresh'));
    h = await buildHierarchy('ecdsa-p256', 5);
  });
  after(() => cleanup());

  const thisUpdate = at(T0, days(1));
  const nextUpdate = at(T0, days(3));
  const crlOf = async (serials: string[]) => {
    const revoked: RevokedEntry[] = serials.map((serialHex) => ({ serialHex, revokedAt: thisUpdate, reason: 'keyCompromise' }));
    const crl = await buildCrl({ issuer: h.az.cert.der, signer: h.az.signer, crlNumber: 7, thisUpdate, nextUpdate, revoked });
    return { crlDer: crl.der, pem: crl.pem, thisUpdate: thisUpdate.getTime(), nextUpdate: nextUpdate.getTime() };
  };

  it('reads back the listed serials as OpenSSL does (80ff is encoded with a sign octet that is not part of the serial)', async () => {
    const crl = await crlOf(['0a1b2c', '80ff', '7e']);
    expect([...crlListedSerials(crl.crlDer)].sort()).to.deep.equal(['0a1b2c', '7e', '80ff']);
    const text = openssl(['crl', '-in', writeFile(dir, 'crl.pem', crl.pem), '-noout', '-text']).stdout;
    const byOpenssl = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => (m[1] ?? '').toLowerCase()).sort();
    expect(byOpenssl).to.deep.equal(['0a1b2c', '7e', '80ff']);
  });

  it('an empty CRL (no revokedCertificates, §5.1.2.6) lists nothing', async () => {
    expect(crlListedSerials((await crlOf([])).crlDer).size).to.equal(0);
  });

  it('a CRL that committed after a revocation it does not list is stale (built from a state that had not applied it)', async () => {
    // The latest CRL lists 01 only; the state holds 01 and 02, whatever their log positions.
    const latest = await crlOf(['01']);
    const nowMs = thisUpdate.getTime() + 1000;
    expect(crlNeedsRefresh({ latest, revoked: [{ serialHex: '01' }, { serialHex: '02' }], nowMs })).to.equal(true);
    expect(crlNeedsRefresh({ latest, revoked: [{ serialHex: '01' }], nowMs })).to.equal(false);
  });

  it('no CRL yet, or half its validity gone (§5.1.2.5 nextUpdate), is stale; an entry that left the state does not make it stale', async () => {
    const latest = await crlOf(['01', '02']);
    expect(crlNeedsRefresh({ latest: undefined, revoked: [], nowMs: thisUpdate.getTime() })).to.equal(true);
    const half = (latest.thisUpdate + latest.nextUpdate) / 2;
    expect(crlNeedsRefresh({ latest, revoked: [], nowMs: half - 1 })).to.equal(false);
    expect(crlNeedsRefresh({ latest, revoked: [], nowMs: half })).to.equal(true);
    // 02's certificate expired and its entry left the state (§3.3): the CRL may keep it until the next one.
    expect(crlNeedsRefresh({ latest, revoked: [{ serialHex: '01' }], nowMs: half - 1 })).to.equal(false);
  });
});
