// Provisioners (src/node/provisioners/): the policy every non-admin issuing credential is held to,
// and one-time tokens (RFC 7519 JWTs, ES256 RFC 7518 §3.4 / EdDSA RFC 8037) bound to a subject
// and its SANs.
import { expect } from 'chai';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { parseSanText } from '../src/ca/san.ts';
import { checkProvisionerPolicy, validateProvisionerPolicy } from '../src/node/provisioners/provisioner-policy.ts';
import { boundSans, validateProvisionerJwk, verifyProvisionerToken, type ProvisionerJwk } from '../src/node/provisioners/provisioner-token.ts';

const policy = validateProvisionerPolicy({ dnsSuffixes: ['.svc.example', 'api.example'], ipCidrs: ['10.1.0.0/16'], uriPrefixes: ['spiffe://prod.example/'], profiles: ['serverLeaf'], maxLifetimeSeconds: 86_400 });
const sans = (...texts: string[]) => texts.map((t, i) => parseSanText(t, `sans[${i}]`));
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('provisioner policy: DNS suffixes, IP ranges, URI prefixes, profiles, maximum lifetime', () => {
  it('admits names under its suffixes, addresses in its ranges, URIs under its prefixes', () => {
    expect(() => checkProvisionerPolicy(policy, { profile: 'serverLeaf', sans: sans('dns:a.svc.example', 'api.example', 'ip:10.1.2.3', 'uri:spiffe://prod.example/web'), lifetimeSeconds: 3600 })).to.not.throw();
  });

  it('refuses a name outside it, naming the SAN, and email SANs always', () => {
    const refuse = (texts: string[]) => {
      try {
        checkProvisionerPolicy(policy, { profile: 'serverLeaf', sans: sans(...texts), lifetimeSeconds: 3600 });
      } catch (e) {
        return [(e as { code: string }).code, (e as { field: string }).field];
      }
      return null;
    };
    expect(refuse(['dns:a.svc.example', 'dns:www.google.com'])).to.deep.equal(['ERR_SAN_FORBIDDEN', 'sans[1]']);
    expect(refuse(['dns:svc.example'])).to.deep.equal(['ERR_SAN_FORBIDDEN', 'sans[0]']);
    expect(refuse(['ip:10.2.0.1'])).to.deep.equal(['ERR_SAN_FORBIDDEN', 'sans[0]']);
    expect(refuse(['uri:spiffe://dev.example/web'])).to.deep.equal(['ERR_SAN_FORBIDDEN', 'sans[0]']);
    expect(refuse(['email:ops@svc.example'])).to.deep.equal(['ERR_SAN_FORBIDDEN', 'sans[0]']);
  });

  it('refuses another profile (ERR_PROFILE_FORBIDDEN) and a longer lifetime (ERR_LIFETIME_INVALID)', () => {
    expect(codeOf(() => checkProvisionerPolicy(policy, { profile: 'clientLeaf', sans: [], lifetimeSeconds: 60 }))).to.equal('ERR_PROFILE_FORBIDDEN');
    expect(codeOf(() => checkProvisionerPolicy(policy, { profile: 'serverLeaf', sans: [], lifetimeSeconds: 86_401 }))).to.equal('ERR_LIFETIME_INVALID');
  });

  it('bad policy data is ERR_INPUT_INVALID naming the field', () => {
    const fieldOf = (data: unknown): string | undefined => {
      try {
        validateProvisionerPolicy(data);
      } catch (e) {
        return (e as { field?: string }).field;
      }
      return undefined;
    };
    expect(fieldOf({ profiles: ['serverLeaf'], maxLifetimeSeconds: 0 })).to.equal('policy.maxLifetimeSeconds');
    expect(fieldOf({ profiles: [], maxLifetimeSeconds: 60 })).to.equal('policy.profiles');
    expect(fieldOf({ profiles: ['serverLeaf'], maxLifetimeSeconds: 60, ipCidrs: ['10.1.0.1/16'] })).to.equal('policy.ipCidrs[0]');
    expect(fieldOf({ profiles: ['serverLeaf'], maxLifetimeSeconds: 60, dnsSuffixes: ['bad..name'] })).to.equal('policy.dnsSuffixes[0]');
    expect(fieldOf({ profiles: ['serverLeaf'], maxLifetimeSeconds: 60, dnsSuffix: [] })).to.equal('policy.dnsSuffix');
  });
});

describe('RFC 7519 provisioner tokens: ES256 / EdDSA, bound to subject and SANs, short-lived', () => {
  const NOW = 1_800_000_000;
  const audience = 'cluster-1';
  const keys = async (alg: 'ES256' | 'EdDSA') => {
    const pair = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
    return { privateKey: pair.privateKey, jwk: validateProvisionerJwk(await exportJWK(pair.publicKey)) };
  };
  const sign = (alg: 'ES256' | 'EdDSA', key: Parameters<SignJWT['sign']>[0], claims: JWTPayload) =>
    new SignJWT({ sans: ['dns:a.svc.example'], iss: 'deploy', aud: audience, sub: 'a.svc.example', jti: 'jti-0123456789abcdef', iat: NOW, exp: NOW + 300, ...claims }).setProtectedHeader({ alg }).sign(key);
  const verify = (token: string, jwk: ProvisionerJwk, now = NOW) => verifyProvisionerToken(token, { provisioner: 'deploy', publicKey: jwk, audience, nowSeconds: now });
  const refusal = async (p: Promise<unknown>): Promise<string> => p.then(() => 'accepted', (e: { code?: string; message?: string }) => e.code ?? e.message ?? 'refused');

  for (const alg of ['ES256', 'EdDSA'] as const) {
    it(`${alg}: a token verifies and binds the CSR's CN and SANs`, async () => {
      const { privateKey, jwk } = await keys(alg);
      const claims = await verify(await sign(alg, privateKey, {}), jwk);
      expect(claims).to.include({ sub: 'a.svc.example', jti: 'jti-0123456789abcdef' });
      expect(boundSans(claims, { commonName: 'a.svc.example', sans: undefined })).to.deep.equal(sans('dns:a.svc.example'));
    });
  }

  it('a token bound to one SAN cannot get another, nor a different CN', async () => {
    const { privateKey, jwk } = await keys('ES256');
    const claims = await verify(await sign('ES256', privateKey, {}), jwk);
    expect(codeOf(() => boundSans(claims, { commonName: 'a.svc.example', sans: sans('dns:b.svc.example') }))).to.equal('ERR_SAN_FORBIDDEN');
    expect(codeOf(() => boundSans(claims, { commonName: 'a.svc.example', sans: sans('dns:a.svc.example', 'dns:b.svc.example') }))).to.equal('ERR_SAN_FORBIDDEN');
    expect(codeOf(() => boundSans(claims, { commonName: 'b.svc.example', sans: undefined }))).to.equal('ERR_SUBJECT_INVALID');
  });

  it('refuses another key, another audience, an expired token, a long-lived one, and HS256', async () => {
    const { privateKey, jwk } = await keys('ES256');
    const other = await keys('ES256');
    const token = await sign('ES256', privateKey, {});
    expect(await refusal(verify(token, other.jwk))).to.equal('ERR_AUTH_TOKEN_INVALID');
    expect(await refusal(verifyProvisionerToken(token, { provisioner: 'deploy', publicKey: jwk, audience: 'cluster-2', nowSeconds: NOW }))).to.equal('ERR_AUTH_TOKEN_INVALID');
    expect(await refusal(verify(token, jwk, NOW + 301 + 60))).to.equal('ERR_AUTH_TOKEN_EXPIRED');
    expect(await refusal(verify(await sign('ES256', privateKey, { exp: NOW + 3600 }), jwk))).to.equal('ERR_AUTH_TOKEN_INVALID');
    expect(await refusal(verify(await sign('HS256' as 'ES256', new Uint8Array(32).fill(7), {}), jwk))).to.equal('ERR_AUTH_TOKEN_INVALID');
  });

  it('a JWK with a private part, or of another curve, is refused as a provisioner key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    expect(codeOf(() => validateProvisionerJwk(undefined))).to.equal('ERR_INPUT_INVALID');
    const privateJwk = await exportJWK(privateKey);
    expect(codeOf(() => validateProvisionerJwk(privateJwk))).to.equal('ERR_INPUT_INVALID');
    expect(codeOf(() => validateProvisionerJwk({ kty: 'EC', crv: 'P-384', x: 'a', y: 'b' }))).to.equal('ERR_INPUT_INVALID');
  });
});
