import { expect } from 'chai';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import {
  NonceReplayGuard,
  computeCaBundleProof,
  formatRegistrationProof,
  parseRegistrationProof,
  sha256,
  signRegistration,
  verifyCaBundleProof,
  verifyRegistration,
  type RegistrationClaims,
} from '../src/cluster/psk-proof.ts';
import { expectPkiCode } from './expect-code.ts';

const psk = new Uint8Array(randomBytes(32));
const clusterId = '7d3c2f4e-0b1a-4c55-9a51-3f0e2b8d6c11';
const bundle = new TextEncoder().encode('-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n');
const clientNonce = new Uint8Array(randomBytes(32));
const serverNonce = new Uint8Array(randomBytes(32));

describe('Phase II CA bundle proof (server proves the PSK; docs/spec.md §3.2)', () => {
  it('verifies for the same PSK, cluster, nonces and bundle', () => {
    const proof = computeCaBundleProof({ psk, clusterId, clientNonce, serverNonce, bundle });
    expect(proof.length).to.equal(32);
    verifyCaBundleProof({ psk, clusterId, clientNonce, serverNonce, bundle, proof });
  });

  it('is HMAC-SHA256 under an HKDF key over length-prefixed label, cluster, nonces and SHA-256(bundle)', () => {
    const key = Buffer.from(hkdfSync('sha256', psk, Buffer.from(clusterId), Buffer.from('adrestia-ca-bundle-v1'), 32));
    const fields = ['adrestia-ca-bundle-v1', clusterId, clientNonce, serverNonce, sha256(bundle)].map((f) =>
      typeof f === 'string' ? Buffer.from(f) : Buffer.from(f),
    );
    const framed = Buffer.concat(fields.flatMap((f) => [Buffer.from([0, 0, f.length >> 8, f.length & 0xff]), f]));
    const expected = new Uint8Array(createHmac('sha256', key).update(framed).digest());
    expect(computeCaBundleProof({ psk, clusterId, clientNonce, serverNonce, bundle })).to.deep.equal(expected);
  });

  it('rejects a substituted bundle, another PSK, another cluster, a stale client nonce, or a flipped bit', () => {
    const proof = computeCaBundleProof({ psk, clusterId, clientNonce, serverNonce, bundle });
    const base = { psk, clusterId, clientNonce, serverNonce, bundle, proof };
    const evil = new TextEncoder().encode('attacker bundle');
    expectPkiCode(() => verifyCaBundleProof({ ...base, bundle: evil }), 'ERR_AUTH_PSK_PROOF');
    expectPkiCode(() => verifyCaBundleProof({ ...base, psk: new Uint8Array(randomBytes(32)) }), 'ERR_AUTH_PSK_PROOF');
    expectPkiCode(() => verifyCaBundleProof({ ...base, clusterId: 'other' }), 'ERR_AUTH_PSK_PROOF');
    expectPkiCode(() => verifyCaBundleProof({ ...base, clientNonce: new Uint8Array(randomBytes(32)) }), 'ERR_AUTH_PSK_PROOF');
    const flipped = proof.slice();
    flipped[0]! ^= 1;
    expectPkiCode(() => verifyCaBundleProof({ ...base, proof: flipped }), 'ERR_AUTH_PSK_PROOF');
    expectPkiCode(() => verifyCaBundleProof({ ...base, proof: proof.subarray(0, 16) }), 'ERR_AUTH_PSK_PROOF');
  });

  it('refuses a short PSK as operator input and short nonces as a bad proof', () => {
    expectPkiCode(() => computeCaBundleProof({ psk: psk.subarray(0, 8), clusterId, clientNonce, serverNonce, bundle }), 'ERR_INPUT_INVALID');
    expectPkiCode(
      () => computeCaBundleProof({ psk, clusterId, clientNonce: clientNonce.subarray(0, 4), serverNonce, bundle }),
      'ERR_AUTH_PSK_PROOF',
    );
  });
});

describe('Phase II registration proof (node proves the PSK, single use within a time window)', () => {
  const body = new TextEncoder().encode('{"csrs":["MIIC..."]}');
  const now = 1_800_000_000;
  const claims = (over: Partial<RegistrationClaims> = {}): RegistrationClaims => ({
    clusterId,
    nodeId: 'c0ffee00-0000-4000-8000-000000000001',
    az: 'az-a',
    timestampSeconds: now,
    bodySha256: sha256(body),
    serverNonce: new Uint8Array(randomBytes(32)),
    ...over,
  });
  const guard = (): NonceReplayGuard => new NonceReplayGuard({ maxClockSkewSeconds: 30, maxEntries: 4 });

  it('verifies, survives the Authorization header round trip, and returns the node identity', () => {
    const proof = signRegistration(psk, claims());
    const parsed = parseRegistrationProof(formatRegistrationProof(proof));
    expect(parsed).to.deep.equal(proof);
    const who = verifyRegistration(psk, parsed, { clusterId, body, nowSeconds: now + 5, replayGuard: guard() });
    expect(who).to.deep.equal({ nodeId: 'c0ffee00-0000-4000-8000-000000000001', az: 'az-a' });
  });

  it('a proof in one direction is not a proof in the other (separate HKDF keys)', () => {
    const c = claims();
    const reg = signRegistration(psk, c);
    const bundleProof = computeCaBundleProof({ psk, clusterId, clientNonce, serverNonce: c.serverNonce, bundle });
    expect(reg.mac).to.not.deep.equal(bundleProof);
    expectPkiCode(
      () => verifyRegistration(psk, { ...reg, mac: bundleProof }, { clusterId, body, nowSeconds: now, replayGuard: guard() }),
      'ERR_AUTH_PSK_PROOF',
    );
  });

  it('rejects a replayed nonce, an old or future timestamp, another body, node, AZ or cluster', () => {
    const g = guard();
    const proof = signRegistration(psk, claims());
    verifyRegistration(psk, proof, { clusterId, body, nowSeconds: now, replayGuard: g });
    expectPkiCode(() => verifyRegistration(psk, proof, { clusterId, body, nowSeconds: now + 1, replayGuard: g }), 'ERR_AUTH_PSK_PROOF');
    const fresh = signRegistration(psk, claims());
    const opts = { clusterId, body, replayGuard: guard() };
    expectPkiCode(() => verifyRegistration(psk, fresh, { ...opts, nowSeconds: now + 31 }), 'ERR_AUTH_PSK_PROOF');
    expectPkiCode(() => verifyRegistration(psk, fresh, { ...opts, nowSeconds: now - 31 }), 'ERR_AUTH_PSK_PROOF');
    expectPkiCode(() => verifyRegistration(psk, fresh, { ...opts, nowSeconds: now, body: new Uint8Array([1]) }), 'ERR_AUTH_PSK_PROOF');
    expectPkiCode(() => verifyRegistration(psk, { ...fresh, nodeId: 'other' }, { ...opts, nowSeconds: now }), 'ERR_AUTH_PSK_PROOF');
    expectPkiCode(() => verifyRegistration(psk, { ...fresh, az: 'az-b' }, { ...opts, nowSeconds: now }), 'ERR_AUTH_PSK_PROOF');
    expectPkiCode(() => verifyRegistration(psk, fresh, { ...opts, clusterId: 'other', nowSeconds: now }), 'ERR_AUTH_PSK_PROOF');
    const wrongKey = new Uint8Array(randomBytes(32));
    expectPkiCode(() => verifyRegistration(wrongKey, fresh, { ...opts, nowSeconds: now }), 'ERR_AUTH_PSK_PROOF');
  });

  it('does not spend a nonce on a proof that fails', () => {
    const g = guard();
    const proof = signRegistration(psk, claims());
    const forged = { ...proof, mac: new Uint8Array(32) };
    expectPkiCode(() => verifyRegistration(psk, forged, { clusterId, body, nowSeconds: now, replayGuard: g }), 'ERR_AUTH_PSK_PROOF');
    expect(g.size).to.equal(0);
    verifyRegistration(psk, proof, { clusterId, body, nowSeconds: now, replayGuard: g });
    expect(g.size).to.equal(1);
  });

  it('bounds the nonce set: full of live nonces it fails closed, and forgets nonces past the window', () => {
    const g = guard(); // 4 entries, ±30 s
    for (let i = 0; i < 4; i++) g.consume(new Uint8Array(randomBytes(16)), now, now);
    expectPkiCode(() => g.consume(new Uint8Array(randomBytes(16)), now, now), 'ERR_AUTH_PSK_PROOF');
    g.consume(new Uint8Array(randomBytes(16)), now + 31, now + 31); // the first four are now out of the window
    expect(g.size).to.equal(1);
  });

  it('rejects malformed Authorization headers', () => {
    const good = formatRegistrationProof(signRegistration(psk, claims()));
    for (const bad of ['', 'Bearer abc', good.replace('v1.', 'v2.'), `${good}.extra`, good.replace(/\.\d+\./, '.-1.')]) {
      expectPkiCode(() => parseRegistrationProof(bad), 'ERR_AUTH_PSK_PROOF');
    }
  });
});
