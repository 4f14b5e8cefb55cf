import { expect } from 'chai';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import {
  JOIN_TOKEN_FILE_ENV,
  assertJoinTokenUnused,
  JOIN_TOKEN_TTL_SECONDS_MAX,
  encodeJoinToken,
  newJoinTokenClaims,
  readJoinTokenFile,
  readJoinTokenFromEnv,
  verifyJoinToken,
  type JoinTokenClaims,
} from '../src/cluster/join-token.ts';
import { expectPkiCode, expectPkiRejects } from './expect-code.ts';

async function rejection(p: Promise<unknown>): Promise<{ code?: string; field?: string; message: string }> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e as { code?: string; field?: string; message: string },
  );
}

const key = new Uint8Array(randomBytes(32));
const clusterId = '7d3c2f4e-0b1a-4c55-9a51-3f0e2b8d6c11';
const now = 1_800_000_000;
const claims: JoinTokenClaims = { jti: 'tok-1', az: 'az-a', clusterId, iat: now, nbf: now, exp: now + 3600 };
const opts = { nowSeconds: now + 10, az: 'az-a', clusterId, maxClockSkewSeconds: 60 };

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
function handMade(header: unknown, payload: unknown, signWith: Uint8Array | null): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = signWith === null ? '' : createHmac('sha256', signWith).update(input).digest('base64url');
  return `${input}.${sig}`;
}

describe('RFC 7515/7518 HS256 join tokens (docs/spec.md §3.9)', () => {
  it('round-trips claims, with an optional sub', async () => {
    expect(await verifyJoinToken(await encodeJoinToken(claims, key), key, opts)).to.deep.equal(claims);
    const withSub = { ...claims, sub: 'node-7' };
    expect(await verifyJoinToken(await encodeJoinToken(withSub, key), key, opts)).to.deep.equal(withSub);
  });

  it('signs exactly the RFC 7515 §7.1 compact JWS of {"alg":"HS256","typ":"JWT"} and the claims as given', async () => {
    expect(await encodeJoinToken(claims, key)).to.equal(handMade({ alg: 'HS256', typ: 'JWT' }, claims, key));
  });

  it('checks the signature exactly as RFC 7515 Appendix A.1 computes it', async () => {
    // RFC 7515 A.1: its HS256 JWS verifies under its key; its claims are not a join token's.
    const rfcKey = new Uint8Array(
      Buffer.from('AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow', 'base64url'),
    );
    const jws =
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9' +
      '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
      '.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const e = await rejection(verifyJoinToken(jws, rfcKey, opts));
    expect(e.code).to.equal('ERR_AUTH_TOKEN_INVALID');
    expect(e.field).to.equal('jti'); // past the signature check, refused on claims (before its old exp)
    const tampered = `${jws.slice(0, -1)}Y`;
    expect((await rejection(verifyJoinToken(tampered, rfcKey, opts))).message).to.match(/signature/);
  });

  it('accepts only alg HS256: none, HS512, RS256 and a missing alg are refused', async () => {
    await expectPkiRejects(verifyJoinToken(handMade({ alg: 'none' }, claims, null).slice(0, -1), key, opts), 'ERR_AUTH_TOKEN_INVALID');
    await expectPkiRejects(verifyJoinToken(`${handMade({ alg: 'none' }, claims, null)}AA`, key, opts), 'ERR_AUTH_TOKEN_INVALID');
    for (const alg of ['HS512', 'RS256', undefined, 'hs256']) {
      await expectPkiRejects(verifyJoinToken(handMade({ alg }, claims, key), key, opts), 'ERR_AUTH_TOKEN_INVALID');
    }
    await expectPkiRejects(verifyJoinToken(handMade({ alg: 'HS256', crit: ['exp'] }, claims, key), key, opts), 'ERR_AUTH_TOKEN_INVALID');
    await expectPkiRejects(verifyJoinToken(handMade({ alg: 'HS256', crit: ['b64'], b64: true }, claims, key), key, opts), 'ERR_AUTH_TOKEN_INVALID');
    await expectPkiRejects(verifyJoinToken(handMade({ alg: 'HS256', typ: 'at+jwt' }, claims, key), key, opts), 'ERR_AUTH_TOKEN_INVALID');
    expect(await verifyJoinToken(handMade({ alg: 'HS256' }, claims, key), key, opts)).to.deep.equal(claims);
  });

  it('RFC 8725 §2.1 algorithm confusion: an unsecured JWT, and a valid RS256 JWS of the same claims, are refused', async () => {
    // alg none as jose's UnsecuredJWT writes it (empty signature), and with our HMAC appended.
    const unsecured = new UnsecuredJWT({ ...claims }).encode();
    expect(unsecured.endsWith('.')).to.equal(true);
    await expectPkiRejects(verifyJoinToken(unsecured, key, opts), 'ERR_AUTH_TOKEN_INVALID');
    const [h, p] = unsecured.split('.');
    const withMac = `${h}.${p}.${createHmac('sha256', key).update(`${h}.${p}`).digest('base64url')}`;
    const e = await rejection(verifyJoinToken(withMac, key, opts));
    expect([e.code, e.message]).to.deep.equal(['ERR_AUTH_TOKEN_INVALID', 'join token alg must be HS256']);
    // A correctly signed RS256 token: the header picks the algorithm, and the verifier refuses it.
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(rsa.privateKey);
    const r = await rejection(verifyJoinToken(rs256, key, opts));
    expect([r.code, r.message]).to.deep.equal(['ERR_AUTH_TOKEN_INVALID', 'join token alg must be HS256']);
  });

  it('refuses a tampered signature: one bit flipped, truncated, or another token\'s', async () => {
    const token = await encodeJoinToken(claims, key);
    const [h, p, s] = token.split('.') as [string, string, string];
    const bytes = Buffer.from(s, 'base64url');
    for (const i of [0, 15, 31]) {
      const flipped = Buffer.from(bytes);
      flipped[i] = flipped[i]! ^ 0x01;
      const e = await rejection(verifyJoinToken(`${h}.${p}.${flipped.toString('base64url')}`, key, opts));
      expect([e.code, e.message]).to.deep.equal(['ERR_AUTH_TOKEN_INVALID', 'join token signature does not verify']);
    }
    await expectPkiRejects(verifyJoinToken(`${h}.${p}.${bytes.subarray(0, 16).toString('base64url')}`, key, opts), 'ERR_AUTH_TOKEN_INVALID');
    const other = (await encodeJoinToken({ ...claims, jti: 'tok-2' }, key)).split('.')[2];
    await expectPkiRejects(verifyJoinToken(`${h}.${p}.${other}`, key, opts), 'ERR_AUTH_TOKEN_INVALID');
  });

  it('refuses another key, a changed payload, and malformed tokens', async () => {
    const token = await encodeJoinToken(claims, key);
    await expectPkiRejects(verifyJoinToken(token, new Uint8Array(randomBytes(32)), opts), 'ERR_AUTH_TOKEN_INVALID');
    const [h, , s] = token.split('.');
    const forged = `${h}.${b64({ ...claims, az: 'az-b' })}.${s}`;
    await expectPkiRejects(verifyJoinToken(forged, key, { ...opts, az: 'az-b' }), 'ERR_AUTH_TOKEN_INVALID');
    for (const bad of ['', 'a.b', 'a.b.c.d', `${token}=`, token.replace('.', '.+'), 'x'.repeat(5000)]) {
      await expectPkiRejects(verifyJoinToken(bad, key, opts), 'ERR_AUTH_TOKEN_INVALID');
    }
    await expectPkiRejects(verifyJoinToken(handMade({ alg: 'HS256' }, 'not an object', key), key, opts), 'ERR_AUTH_TOKEN_INVALID');
    await expectPkiRejects(verifyJoinToken(handMade({ alg: 'HS256' }, { ...claims, iat: 1.5 }, key), key, opts), 'ERR_AUTH_TOKEN_INVALID');
  });

  it('RFC 7519 §4.1.4/§4.1.5: exp and nbf within the skew bound; iat not in the future', async () => {
    const token = await encodeJoinToken(claims, key);
    await expectPkiRejects(verifyJoinToken(token, key, { ...opts, nowSeconds: claims.exp + 60 }), 'ERR_AUTH_TOKEN_EXPIRED');
    expect(await verifyJoinToken(token, key, { ...opts, nowSeconds: claims.exp + 59 })).to.deep.equal(claims);
    expect((await rejection(verifyJoinToken(token, key, { ...opts, nowSeconds: claims.nbf - 61 }))).field).to.equal('nbf');
    expect(await verifyJoinToken(token, key, { ...opts, nowSeconds: claims.nbf - 60 })).to.deep.equal(claims);
    await expectPkiRejects(verifyJoinToken(token, key, { ...opts, nowSeconds: claims.exp, maxClockSkewSeconds: 0 }), 'ERR_AUTH_TOKEN_EXPIRED');
    const future = await encodeJoinToken({ ...claims, iat: claims.nbf + 120 }, key);
    expect((await rejection(verifyJoinToken(future, key, opts))).field).to.equal('iat');
    await expectPkiRejects(encodeJoinToken({ ...claims, exp: claims.nbf }, key), 'ERR_AUTH_TOKEN_INVALID');
    // A malformed claim is refused as such, before an expired exp would be.
    const bad = handMade({ alg: 'HS256' }, { ...claims, jti: '', exp: now - 3600, nbf: now - 7200 }, key);
    expect((await rejection(verifyJoinToken(bad, key, opts))).field).to.equal('jti');
  });

  it('is bound to its AZ and its cluster', async () => {
    const token = await encodeJoinToken(claims, key);
    await expectPkiRejects(verifyJoinToken(token, key, { ...opts, az: 'az-b' }), 'ERR_WRONG_AZ');
    await expectPkiRejects(verifyJoinToken(token, key, { ...opts, clusterId: 'another' }), 'ERR_AUTH_TOKEN_INVALID');
  });

  it('single use is the replicated state\'s: a used jti is refused with ERR_AUTH_TOKEN_USED', () => {
    const used = new Set(['tok-1']);
    expectPkiCode(() => assertJoinTokenUnused(claims, (jti) => used.has(jti)), 'ERR_AUTH_TOKEN_USED');
    assertJoinTokenUnused({ ...claims, jti: 'tok-2' }, (jti) => used.has(jti));
  });

  it('mints claims valid from now for a bounded lifetime', () => {
    const minted = newJoinTokenClaims({ jti: 'tok-9', az: 'az-a', clusterId, nowSeconds: now, ttlSeconds: 600, sub: 'n1' });
    expect(minted).to.deep.equal({ jti: 'tok-9', az: 'az-a', clusterId, iat: now, nbf: now, exp: now + 600, sub: 'n1' });
    const ttl = JOIN_TOKEN_TTL_SECONDS_MAX + 1;
    expectPkiCode(() => newJoinTokenClaims({ jti: 'x', az: 'az-a', clusterId, nowSeconds: now, ttlSeconds: ttl }), 'ERR_INPUT_INVALID');
    expectPkiCode(() => newJoinTokenClaims({ jti: 'x', az: 'az-a', clusterId, nowSeconds: now, ttlSeconds: 0 }), 'ERR_INPUT_INVALID');
    expectPkiCode(() => newJoinTokenClaims({ jti: '', az: 'az-a', clusterId, nowSeconds: now, ttlSeconds: 60 }), 'ERR_AUTH_TOKEN_INVALID');
  });

  it('refuses keys shorter than the hash output (RFC 7518 §3.2) as API misuse', async () => {
    const short = key.subarray(0, 16);
    expect(await rejection(encodeJoinToken(claims, short))).to.be.instanceOf(TypeError);
    expect(await rejection(verifyJoinToken(handMade({ alg: 'HS256' }, claims, short), short, opts))).to.be.instanceOf(TypeError);
  });
});

describe('join token file from ADRESTIA_JOIN_TOKEN_FILE', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adrestia-join-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a 0400 or 0600 file, trimming the trailing newline; unset variable gives null', async () => {
    const token = await encodeJoinToken(claims, key);
    const path = join(dir, 'token-0400');
    await writeFile(path, `${token}\n`, { mode: 0o600 });
    expect(await readJoinTokenFile(path)).to.equal(token);
    await chmod(path, 0o400);
    expect(await readJoinTokenFromEnv({ [JOIN_TOKEN_FILE_ENV]: path })).to.equal(token);
    expect(await readJoinTokenFromEnv({})).to.equal(null);
  });

  it('refuses files that group or others may read, directories, empty and missing files', async () => {
    const open = join(dir, 'token-0644');
    await writeFile(open, 'abc', { mode: 0o644 });
    await chmod(open, 0o644);
    await expectPkiRejects(readJoinTokenFile(open), 'ERR_INPUT_INVALID');
    await chmod(open, 0o640);
    await expectPkiRejects(readJoinTokenFile(open), 'ERR_INPUT_INVALID');
    const empty = join(dir, 'token-empty');
    await writeFile(empty, '\n', { mode: 0o600 });
    await expectPkiRejects(readJoinTokenFile(empty), 'ERR_INPUT_INVALID');
    const sub = join(dir, 'subdir');
    await mkdir(sub, { mode: 0o700 });
    await expectPkiRejects(readJoinTokenFile(sub), 'ERR_INPUT_INVALID');
    await expectPkiRejects(readJoinTokenFile(join(dir, 'missing')), 'ERR_IO');
  });
});
