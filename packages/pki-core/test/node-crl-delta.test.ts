// node/revocation/crl-delta.ts: between two complete CRLs of a large issuer, new revocations go
// into a delta CRL (RFC 5280 §5.2.4) listing what the complete one misses; a small complete CRL,
// a delta that would outgrow its size budget, or a complete CRL past half its validity, makes a
// new complete CRL instead.
import { expect } from 'chai';
import { buildCrl } from '../src/ca/crl.ts';
import type { CrlRecord, DeltaCrlRecord, RevocationRecord } from '../src/state/records.ts';
import { planCrl } from '../src/node/revocation/crl-delta.ts';
import { buildHierarchy, type Hierarchy } from './ca-fixtures.ts';

const NOW = Date.UTC(2026, 5, 1);
const HOUR_MS = 3_600_000;

describe('delta CRL planning (RFC 5280 §5.2.4)', function () {
  this.timeout(30_000);
  let h: Hierarchy;
  before(async () => {
    h = await buildHierarchy('ecdsa-p256', 13);
  });

  const revocation = (serialHex: string): RevocationRecord => ({ issuerId: 'n', serialHex, reason: 'keyCompromise', revokedAt: NOW - 1000, requestedBy: 't', notAfter: NOW + 100 * HOUR_MS, index: 1 });
  const signed = async (crlNumber: number, serials: string[], thisUpdate: number, deltaOf?: number) =>
    (
      await buildCrl({
        issuer: h.node.cert.der,
        signer: h.node.signer,
        crlNumber,
        thisUpdate: new Date(thisUpdate),
        nextUpdate: new Date(thisUpdate + 2 * HOUR_MS),
        revoked: serials.map((serialHex) => ({ serialHex, revokedAt: new Date(NOW - 1000) })),
        ...(deltaOf === undefined ? {} : { deltaOf }),
      })
    ).der;
  const complete = async (serials: string[], thisUpdate = NOW - 10_000): Promise<CrlRecord> => ({
    issuerId: 'n', crlNumber: 4, crlDer: await signed(4, serials, thisUpdate), thisUpdate, nextUpdate: thisUpdate + 2 * HOUR_MS, index: 1,
  });
  const delta = async (serials: string[], baseCrlNumber = 4): Promise<DeltaCrlRecord> => ({
    issuerId: 'n', crlNumber: 5, baseCrlNumber, crlDer: await signed(5, serials, NOW - 5000, baseCrlNumber), thisUpdate: NOW - 5000, nextUpdate: NOW - 5000 + 2 * HOUR_MS, index: 2,
  });
  const revoked = ['0a01', '0a02', '0a03'].map(revocation);

  it('no complete CRL, or one past half its validity: a complete CRL', async () => {
    expect(planCrl({ complete: undefined, delta: undefined, revoked, nowMs: NOW, deltaAboveBytes: 0, deltaBytesMax: 65_536 }).kind).to.equal('complete');
    const old = await complete(['0a01'], NOW - HOUR_MS - 1);
    expect(planCrl({ complete: old, delta: undefined, revoked, nowMs: NOW, deltaAboveBytes: 0, deltaBytesMax: 65_536 }).kind).to.equal('complete');
  });

  it('revocations the complete CRL misses go into a delta against it, unless the current delta lists them all', async () => {
    const base = await complete(['0a01']);
    const plan = planCrl({ complete: base, delta: undefined, revoked, nowMs: NOW, deltaAboveBytes: 0, deltaBytesMax: 65_536 });
    expect(plan.kind === 'delta' ? plan.missing.map((r) => r.serialHex) : plan.kind).to.deep.equal(['0a02', '0a03']);
    expect(planCrl({ complete: base, delta: await delta(['0a02', '0a03']), revoked, nowMs: NOW, deltaAboveBytes: 0, deltaBytesMax: 65_536 }).kind).to.equal('none');
    expect(planCrl({ complete: base, delta: await delta(['0a02']), revoked, nowMs: NOW, deltaAboveBytes: 0, deltaBytesMax: 65_536 }).kind).to.equal('delta');
    // A delta against an older complete CRL does not count.
    expect(planCrl({ complete: base, delta: await delta(['0a02', '0a03'], 3), revoked, nowMs: NOW, deltaAboveBytes: 0, deltaBytesMax: 65_536 }).kind).to.equal('delta');
    expect(planCrl({ complete: await complete(['0a01', '0a02', '0a03']), delta: undefined, revoked, nowMs: NOW, deltaAboveBytes: 0, deltaBytesMax: 65_536 }).kind).to.equal('none');
  });

  it('a small complete CRL is signed again for each revocation (relying parties without deltas see it at once)', async () => {
    const base = await complete(['0a01']);
    expect(planCrl({ complete: base, delta: undefined, revoked, nowMs: NOW, deltaAboveBytes: 65_536, deltaBytesMax: 65_536 }).kind).to.equal('complete');
    expect(planCrl({ complete: base, delta: undefined, revoked, nowMs: NOW, deltaAboveBytes: base.crlDer.length, deltaBytesMax: 65_536 }).kind).to.equal('delta');
  });

  it('a delta that would exceed its byte budget makes a new complete CRL instead', async () => {
    const base = await complete([]);
    expect(planCrl({ complete: base, delta: undefined, revoked, nowMs: NOW, deltaAboveBytes: 0, deltaBytesMax: 1300 }).kind).to.equal('complete');
    expect(planCrl({ complete: base, delta: undefined, revoked, nowMs: NOW, deltaAboveBytes: 0, deltaBytesMax: 1400 }).kind).to.equal('delta');
  });
});
