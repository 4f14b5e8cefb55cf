import { expect } from 'chai';
import { plainMessagePack } from '@adrestia/consensus';
import { PkiError } from '../src/errors.ts';
import { parseCsr, type ParsedCsr } from '../src/ca/csr.ts';
import { issueCertificate } from '../src/ca/issue.ts';
import { buildName, readName, renderName } from '../src/ca/names.ts';
import { validateProfile, validateProfileSet } from '../src/ca/profile-validate.ts';
import { BUILTIN_PROFILES, PROFILE_NAMES, type CertificateProfile, type SanPolicy } from '../src/ca/profiles.ts';
import { notBeforeBackdateSeconds, profileExtensions, resolveIssuance } from '../src/ca/resolve-issuance.ts';
import { checkSanPolicy } from '../src/ca/san-policy.ts';
import { normalizeSan, parseSanText, type SanEntry } from '../src/ca/san.ts';
import { randomSerial } from '../src/ca/serial.ts';
import { buildHierarchy, openssl, tempDir, writeFile, epochSeconds, type Hierarchy } from './ca-fixtures.ts';
import { makeCsr } from './ca-csr-fixtures.ts';

function errorOf(fn: () => unknown): { code: string; field: string | undefined } {
  try {
    fn();
  } catch (e) {
    if (e instanceof PkiError) return { code: e.code, field: e.field };
    throw e;
  }
  return { code: 'no error', field: undefined };
}

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   `edited` and its cases write deliberately ill-typed fields into a JSON copy of a profile. */
/** A deep, mutable copy of a built-in profile with `edit` applied. */
function edited(name: keyof typeof BUILTIN_PROFILES, edit: (p: any) => void): unknown {
  const copy = JSON.parse(JSON.stringify(BUILTIN_PROFILES[name]));
  edit(copy);
  return copy;
}

describe('Certificate profiles as data', () => {
  it('the six built-in profiles validate, and survive JSON and MessagePack round trips unchanged', () => {
    expect(Object.keys(BUILTIN_PROFILES)).to.deep.equal([...PROFILE_NAMES]);
    expect(validateProfileSet(JSON.parse(JSON.stringify(BUILTIN_PROFILES)))).to.deep.equal(BUILTIN_PROFILES);
    expect(validateProfileSet(plainMessagePack.unpack(plainMessagePack.pack(BUILTIN_PROFILES)))).to.deep.equal(BUILTIN_PROFILES);
  });

  it('docs/spec.md §5.5.2: leaves live 30 days by default (renewed automatically), up to 3 years, at least an hour', () => {
    for (const name of ['serverLeaf', 'clientLeaf', 'serverClientLeaf'] as const) {
      expect(BUILTIN_PROFILES[name].lifetime, name).to.deep.equal({ defaultSeconds: 30 * 86_400, minSeconds: 3600, maxSeconds: 3 * 365 * 86_400 });
    }
  });

  it('RFC 5280 §4.2.1.9 path lengths: azIntermediate 1, nodeIntermediate 0, root unlimited, leaves not CAs', () => {
    expect(BUILTIN_PROFILES.azIntermediate.basicConstraints).to.deep.equal({ ca: true, pathLen: 1 });
    expect(BUILTIN_PROFILES.nodeIntermediate.basicConstraints).to.deep.equal({ ca: true, pathLen: 0 });
    expect(BUILTIN_PROFILES.root.basicConstraints).to.deep.equal({ ca: true, pathLen: null });
    for (const leaf of ['serverLeaf', 'clientLeaf', 'serverClientLeaf'] as const) expect(BUILTIN_PROFILES[leaf].basicConstraints.ca).to.equal(false);
    expect(BUILTIN_PROFILES.serverClientLeaf.extKeyUsage).to.deep.equal(['serverAuth', 'clientAuth']);
  });

  describe('validateProfile names the faulty field', () => {
    const cases: Array<[string, () => unknown, string]> = [
      ['not an object', () => 42, 'profile'],
      ['unknown field (a typo)', () => edited('serverLeaf', (p) => (p.extKeyUsages = [])), 'profile.extKeyUsages'],
      ['missing field', () => edited('serverLeaf', (p) => delete p.san), 'profile.san'],
      ['min > default lifetime', () => edited('serverLeaf', (p) => (p.lifetime.minSeconds = p.lifetime.defaultSeconds + 1)), 'profile.lifetime'],
      ['fractional lifetime', () => edited('serverLeaf', (p) => (p.lifetime.maxSeconds = 1.5)), 'profile.lifetime.maxSeconds'],
      ['unknown key usage', () => edited('serverLeaf', (p) => p.keyUsage.push('nonRepudiation')), 'profile.keyUsage[1]'],
      ['keyCertSign without cA', () => edited('serverLeaf', (p) => p.keyUsage.push('keyCertSign')), 'profile.keyUsage'],
      ['pathLen on a leaf', () => edited('serverLeaf', (p) => (p.basicConstraints.pathLen = 0)), 'profile.basicConstraints.pathLen'],
      ['name constraints on a leaf', () => edited('serverLeaf', (p) => (p.nameConstraints = { permittedDns: ['example.com'], excludedDns: [] })), 'profile.nameConstraints'],
      ['empty name constraints', () => edited('azIntermediate', (p) => (p.nameConstraints = { permittedDns: [], excludedDns: [] })), 'profile.nameConstraints'],
      ['bad CIDR', () => edited('serverLeaf', (p) => (p.san.ip.allowedCidrs = ['10.0.0.1/8'])), 'profile.san.ip.allowedCidrs[0]'],
      ['bad domain rule', () => edited('serverLeaf', (p) => (p.san.dns.allowedDomains = ['ex ample.com'])), 'profile.san.dns.allowedDomains[0]'],
      ['upper-case URI scheme', () => edited('serverLeaf', (p) => (p.san.uri.allowedSchemes = ['HTTPS'])), 'profile.san.uri.allowedSchemes[0]'],
      ['unknown SAN type', () => edited('serverLeaf', (p) => p.san.allowedTypes.push('otherName')), 'profile.san.allowedTypes[4]'],
      ['requireSan with no types', () => edited('serverLeaf', (p) => (p.san.allowedTypes = [])), 'profile.san.requireSan'],
      ['CA without a required CN', () => edited('azIntermediate', (p) => (p.subject.requireCommonName = false)), 'profile.subject.requireCommonName'],
      ['unknown subject attribute', () => edited('serverLeaf', (p) => p.subject.allowedAttributes.push('XX')), 'profile.subject.allowedAttributes[9]'],
      ['empty key types', () => edited('serverLeaf', (p) => (p.allowedKeyTypes = [])), 'profile.allowedKeyTypes'],
    ];
    for (const [what, data, field] of cases) {
      it(`${what} → ERR_PROFILE_INVALID at ${field}`, () => expect(errorOf(() => validateProfile(data()))).to.deep.equal({ code: 'ERR_PROFILE_INVALID', field }));
    }

    it('an AZ intermediate with DNS name constraints is valid and yields the extension choice', () => {
      const p = validateProfile(edited('azIntermediate', (x) => (x.nameConstraints = { permittedDns: ['az1.adrestia.test'], excludedDns: [] })));
      expect(profileExtensions(p).nameConstraints).to.deep.equal({ permittedDns: ['az1.adrestia.test'], excludedDns: [] });
    });
    /* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return */
  });
});

describe('RFC 5280 §4.2.1.6 SAN syntax (normalizeSan / parseSanText)', () => {
  const valid: Array<[SanEntry, string]> = [
    [{ type: 'dns', value: 'Node-1.Example.COM' }, 'node-1.example.com'],
    [{ type: 'dns', value: '*.svc.example.com' }, '*.svc.example.com'],
    [{ type: 'dns', value: 'localhost' }, 'localhost'],
    [{ type: 'dns', value: 'xn--bcher-kva.example' }, 'xn--bcher-kva.example'],
    [{ type: 'ip', value: '2001:DB8:0:0:0:0:0:1' }, '2001:db8::1'],
    [{ type: 'ip', value: '192.0.2.1' }, '192.0.2.1'],
    [{ type: 'uri', value: 'spiffe://adrestia.test/ns/prod/sa/api' }, 'spiffe://adrestia.test/ns/prod/sa/api'],
    [{ type: 'uri', value: 'https://ca.example.com:8443/acme' }, 'https://ca.example.com:8443/acme'],
    [{ type: 'email', value: 'Ops.Team+pki@Example.com' }, 'Ops.Team+pki@example.com'],
  ];
  for (const [san, canonical] of valid) {
    it(`${san.type} ${san.value} → ${canonical}`, () => expect(normalizeSan(san, 'sans[0]').value).to.equal(canonical));
  }
  const invalid: SanEntry[] = [
    { type: 'dns', value: '' },
    { type: 'dns', value: 'under_score.example.com' },
    { type: 'dns', value: '-lead.example.com' },
    { type: 'dns', value: 'a..b.example.com' },
    { type: 'dns', value: 'trailing.dot.' },
    { type: 'dns', value: `${'a'.repeat(64)}.example.com` },
    { type: 'dns', value: `${'a.'.repeat(127)}com` },
    { type: 'dns', value: 'f*o.example.com' },
    { type: 'dns', value: 'a.*.example.com' },
    { type: 'dns', value: '*.com' },
    { type: 'dns', value: '10.0.0.1' },
    { type: 'dns', value: 'bücher.example' },
    { type: 'ip', value: '10.0.0.256' },
    { type: 'ip', value: '010.0.0.1' },
    { type: 'ip', value: 'fe80::1%eth0' },
    { type: 'uri', value: '/relative/path' },
    { type: 'uri', value: 'https://host/has space' },
    { type: 'uri', value: 'spiffe://Upper.Case/x' },
    { type: 'uri', value: 'spiffe://td/a//b' },
    { type: 'uri', value: 'spiffe://td/a/../b' },
    { type: 'uri', value: 'spiffe://td:8080/x' },
    { type: 'uri', value: 'spiffe://td/x?q=1' },
    { type: 'uri', value: 'spiffe://td/x/' },
    { type: 'email', value: 'no-at-sign.example.com' },
    { type: 'email', value: '.lead@example.com' },
    { type: 'email', value: '"quoted"@example.com' },
    { type: 'email', value: 'a@b_c.example.com' },
  ];
  for (const san of invalid) {
    it(`${san.type} ${JSON.stringify(san.value.length > 40 ? `${san.value.slice(0, 40)}…` : san.value)} → ERR_SAN_INVALID`, () =>
      expect(errorOf(() => normalizeSan(san, 'sans[3]'))).to.deep.equal({ code: 'ERR_SAN_INVALID', field: 'sans[3]' }));
  }
  it('parseSanText infers the type of bare names and honours prefixes', () => {
    expect(parseSanText('10.1.2.3', 'f')).to.deep.equal({ type: 'ip', value: '10.1.2.3' });
    expect(parseSanText('::1', 'f')).to.deep.equal({ type: 'ip', value: '::1' });
    expect(parseSanText('spiffe://td/x', 'f')).to.deep.equal({ type: 'uri', value: 'spiffe://td/x' });
    expect(parseSanText('a@example.com', 'f')).to.deep.equal({ type: 'email', value: 'a@example.com' });
    expect(parseSanText('Host.Example', 'f')).to.deep.equal({ type: 'dns', value: 'host.example' });
    expect(parseSanText('DNS:host.example', 'f')).to.deep.equal({ type: 'dns', value: 'host.example' });
  });
});

describe('SAN policy (checkSanPolicy)', () => {
  const policy: SanPolicy = {
    allowedTypes: ['dns', 'ip', 'uri', 'email'],
    requireSan: true,
    maxSans: 4,
    dns: { allowedDomains: ['example.com', '.svc.example.com'], allowWildcard: true },
    ip: { allowedCidrs: ['10.0.0.0/8', 'fd00::/8'] },
    uri: { allowedSchemes: ['spiffe', 'https'], allowedHosts: ['.example.com'], spiffeTrustDomains: ['adrestia.test'] },
    email: { allowedDomains: ['example.com'] },
  };
  const cases: Array<[string, SanEntry, boolean]> = [
    ['exact domain', { type: 'dns', value: 'example.com' }, true],
    ['subdomain of an exact-only rule', { type: 'dns', value: 'www.example.com' }, false],
    ['name below a .suffix rule', { type: 'dns', value: 'api.svc.example.com' }, true],
    ['the .suffix apex itself', { type: 'dns', value: 'svc.example.com' }, false],
    ['wildcard under a .suffix rule', { type: 'dns', value: '*.svc.example.com' }, true],
    ['wildcard that covers more than allowed', { type: 'dns', value: '*.example.com' }, false],
    ['look-alike suffix', { type: 'dns', value: 'evilsvc.example.com' }, false],
    ['IPv4 in range', { type: 'ip', value: '10.200.0.1' }, true],
    ['IPv4 out of range', { type: 'ip', value: '11.0.0.1' }, false],
    ['IPv6 in range', { type: 'ip', value: 'fd12::1' }, true],
    ['IPv4-mapped IPv6 does not match an IPv4 range', { type: 'ip', value: '::ffff:10.0.0.1' }, false],
    ['SPIFFE ID in an allowed trust domain', { type: 'uri', value: 'spiffe://adrestia.test/node/1' }, true],
    ['SPIFFE ID in another trust domain', { type: 'uri', value: 'spiffe://other.test/node/1' }, false],
    ['https URI on an allowed host', { type: 'uri', value: 'https://ca.example.com/x' }, true],
    ['scheme not allowed', { type: 'uri', value: 'http://ca.example.com/x' }, false],
    ['email in an allowed domain', { type: 'email', value: 'ops@example.com' }, true],
    ['email elsewhere', { type: 'email', value: 'ops@example.org' }, false],
  ];
  for (const [what, san, allowed] of cases) {
    it(`${what}: ${san.type} ${san.value} → ${allowed ? 'allowed' : 'ERR_SAN_FORBIDDEN'}`, () => {
      const e = errorOf(() => checkSanPolicy(policy, [normalizeSan(san, 'x')], 'sans', (i) => `sans[${i}]`));
      expect(e).to.deep.equal(allowed ? { code: 'no error', field: undefined } : { code: 'ERR_SAN_FORBIDDEN', field: 'sans[0]' });
    });
  }
  it('wildcards are refused when the profile does not allow them', () => {
    const noWild = { ...policy, dns: { ...policy.dns, allowWildcard: false } };
    expect(errorOf(() => checkSanPolicy(noWild, [{ type: 'dns', value: '*.svc.example.com' }], 'sans', (i) => `sans[${i}]`)).code).to.equal('ERR_SAN_FORBIDDEN');
  });
  it('requireSan and maxSans bound the list', () => {
    expect(errorOf(() => checkSanPolicy(policy, [], 'sans', (i) => `sans[${i}]`))).to.deep.equal({ code: 'ERR_SAN_FORBIDDEN', field: 'sans' });
    const five = Array.from({ length: 5 }, (_, i) => ({ type: 'ip' as const, value: `10.0.0.${i}` }));
    expect(errorOf(() => checkSanPolicy(policy, five, 'sans', (i) => `sans[${i}]`))).to.deep.equal({ code: 'ERR_SAN_FORBIDDEN', field: 'sans' });
  });
});

describe('RFC 4514 subject names (buildName / renderName)', () => {
  it('one SET per attribute, least specific first in DER, most specific first as text', () => {
    const der = buildName('CN=node-1,O=Adrestia,C=US');
    const rdns = readName(der);
    expect(rdns.map((rdn) => rdn.map((a) => a.type))).to.deep.equal([['C'], ['O'], ['CN']]);
    expect(rdns[0]![0]!.valueTag).to.equal(0x13); // RFC 5280: countryName is a PrintableString
    expect(rdns[2]![0]!.valueTag).to.equal(0x0c); // UTF8String
    expect(renderName(der)).to.equal('CN=node-1,O=Adrestia,C=US');
  });
  it('escapes round-trip and OpenSSL reads the same name', () => {
    const text = 'CN=\\#1 a\\,b\\+c\\; d \\ ,O=Caf\\C3\\A9 \\"Q\\",OU=x=y\\<z\\>';
    const der = buildName(text);
    expect(renderName(der)).to.equal('CN=\\#1 a\\,b\\+c\\; d \\ ,O=Café \\"Q\\",OU=x=y\\<z\\>');
    expect(renderName(buildName(renderName(der)))).to.equal(renderName(der));
    const { dir, cleanup } = tempDir('names');
    try {
      const path = writeFile(dir, 'name.der', buildName('CN=ümlaut,O=Acme\\, Inc.,C=DE'));
      const r = openssl(['asn1parse', '-inform', 'DER', '-in', path]);
      expect(r.stdout).to.match(/PRINTABLESTRING\s+:DE/);
      expect(r.stdout).to.match(/UTF8STRING\s+:Acme, Inc\./);
      expect(r.stdout).to.match(/UTF8STRING\s+:ümlaut/);
    } finally {
      cleanup();
    }
  });
  it('multi-valued RDNs with + and #hex values', () => {
    const der = buildName('CN=a+UID=b,2.5.4.10=#0c0141');
    expect(readName(der)).to.have.length(2);
    expect(renderName(der)).to.equal('CN=a+UID=b,O=A');
  });
  const bad = ['CN', 'CN=', 'XX=a', 'C=USA', 'C=us', 'CN=a,', 'CN=a"b', 'CN=\\zz', `CN=${'x'.repeat(65)}`, 'DC=ü', 'CN=#0c', 'CN=a\u0001b'];
  for (const text of bad) {
    it(`${JSON.stringify(text.length > 20 ? `${text.slice(0, 20)}…` : text)} → ERR_SUBJECT_INVALID`, () =>
      expect(errorOf(() => buildName(text, '--subject'))).to.deep.equal({ code: 'ERR_SUBJECT_INVALID', field: '--subject' }));
  }
});

describe('resolveIssuance: profile + CSR → issueCertificate inputs', function () {
  this.timeout(60_000);
  const { dir, cleanup } = tempDir('resolve');
  let csr: ParsedCsr;
  let bare: ParsedCsr;
  let h: Hierarchy;
  const now = new Date('2026-06-01T12:34:56.789Z');
  before(async () => {
    csr = parseCsr(makeCsr(dir, 'p256').pem);
    bare = parseCsr(makeCsr(dir, 'p256nosan', '/CN=bare').pem);
    h = await buildHierarchy('ecdsa-p256', 7);
  });
  after(cleanup);
  const issuer = { notAfter: new Date('2030-01-01T00:00:00Z') };

  it('defaults: CSR subject and SANs (canonical), lifetime default, notBefore backdated, whole seconds', () => {
    const plan = resolveIssuance(BUILTIN_PROFILES.serverLeaf, { csr }, issuer, now);
    expect(plan.subject).to.equal('CN=host-p256,O=Acme\\, Inc.,C=US');
    expect(plan.sans.map((s) => s.value)).to.deep.equal(['node-1.example.com', '10.1.2.3', '2001:db8::7', 'spiffe://adrestia.test/node/1', 'ops@example.com']);
    expect(plan.notBefore.toISOString()).to.equal(new Date(Date.parse('2026-06-01T12:34:56Z') - notBeforeBackdateSeconds * 1000).toISOString());
    expect(plan.notAfter.getTime() - Date.parse('2026-06-01T12:34:56Z')).to.equal(BUILTIN_PROFILES.serverLeaf.lifetime.defaultSeconds * 1000);
    expect(plan.extensions).to.equal(resolveIssuance(BUILTIN_PROFILES.serverLeaf, { csr }, issuer, now).extensions); // memoized
  });

  it('operator SANs and subject replace the CSR ones', () => {
    const plan = resolveIssuance(BUILTIN_PROFILES.serverLeaf, { csr, sans: [{ type: 'dns', value: 'API.example.com' }], subject: 'CN=api' }, issuer, now);
    expect(plan.sans).to.deep.equal([{ type: 'dns', value: 'api.example.com' }]);
    expect(renderName(plan.subjectDer)).to.equal('CN=api');
  });

  it('repeated SANs collapse to one, and errors index the list as given', () => {
    const sans: SanEntry[] = [{ type: 'dns', value: 'a.example.com' }, { type: 'dns', value: 'A.EXAMPLE.COM' }, { type: 'dns', value: 'b_.example.com' }];
    expect(errorOf(() => resolveIssuance(BUILTIN_PROFILES.serverLeaf, { csr, sans }, issuer, now))).to.deep.equal({ code: 'ERR_SAN_INVALID', field: 'sans[2]' });
    const limited = withSan((s) => ({ ...s, ip: { allowedCidrs: ['10.0.0.0/8'] } }));
    const sans2: SanEntry[] = [{ type: 'dns', value: 'a.example.com' }, { type: 'dns', value: 'A.example.com' }, { type: 'ip', value: '192.0.2.1' }];
    expect(errorOf(() => resolveIssuance(limited, { csr, sans: sans2, sansField: '--san' }, issuer, now))).to.deep.equal({ code: 'ERR_SAN_FORBIDDEN', field: '--san[2]' });
    expect(resolveIssuance(limited, { csr, sans: sans2.slice(0, 2) }, issuer, now).sans).to.deep.equal([{ type: 'dns', value: 'a.example.com' }]);
  });

  const refusals: Array<[string, () => unknown, string, string]> = [
    ['lifetime under the minimum', () => resolveIssuance(BUILTIN_PROFILES.serverLeaf, { csr, lifetimeSeconds: 60 }, issuer, now), 'ERR_LIFETIME_INVALID', 'lifetimeSeconds'],
    ['lifetime past the issuer under notAfterBehavior error', () => resolveIssuance({ ...BUILTIN_PROFILES.serverLeaf, notAfterBehavior: 'error' }, { csr, lifetimeSeconds: 3 * 365 * 86_400 }, { notAfter: new Date('2027-01-01T00:00:00Z') }, now), 'ERR_LIFETIME_EXCEEDS_ISSUER', 'lifetimeSeconds'],
    ['an issuer already expired, even under truncate', () => resolveIssuance(BUILTIN_PROFILES.serverLeaf, { csr }, { notAfter: new Date(now.getTime() - 1000) }, now), 'ERR_LIFETIME_EXCEEDS_ISSUER', 'issuer'],
    ['no SAN where the profile requires one', () => resolveIssuance(BUILTIN_PROFILES.serverLeaf, { csr: bare }, issuer, now), 'ERR_SAN_FORBIDDEN', 'csr.subjectAltName'],
    ['a SAN type the profile forbids', () => resolveIssuance(withSan((s) => ({ ...s, allowedTypes: ['dns'] })), { csr }, issuer, now), 'ERR_SAN_FORBIDDEN', 'csr.subjectAltName[1]'],
    ['a key type the profile forbids', () => resolveIssuance({ ...BUILTIN_PROFILES.serverLeaf, allowedKeyTypes: ['rsa'] }, { csr }, issuer, now), 'ERR_KEY_UNSUPPORTED', 'csr.publicKey'],
    ['a subject attribute the profile forbids', () => resolveIssuance({ ...BUILTIN_PROFILES.serverLeaf, subject: { ...BUILTIN_PROFILES.serverLeaf.subject, allowedAttributes: ['CN'] } }, { csr }, issuer, now), 'ERR_SUBJECT_INVALID', 'subject'],
    ['a CN that is not a SAN when the profile demands it', () => resolveIssuance({ ...BUILTIN_PROFILES.serverLeaf, subject: { ...BUILTIN_PROFILES.serverLeaf.subject, commonNameInSans: true } }, { csr }, issuer, now), 'ERR_SUBJECT_INVALID', 'subject'],
    ['a CA profile without a CN', () => resolveIssuance(BUILTIN_PROFILES.nodeIntermediate, { csr: bare, subject: 'O=Adrestia' }, issuer, now), 'ERR_SUBJECT_INVALID', 'subject'],
  ];
  for (const [what, fn, code, field] of refusals) {
    it(`${what} → ${code} at ${field}`, () => expect(errorOf(fn)).to.deep.equal({ code, field }));
  }

  it('a lifetime past the issuer is cut to the issuer\'s end by default (notAfterBehavior truncate)', () => {
    const issuerEnd = new Date('2027-01-01T00:00:00Z');
    const plan = resolveIssuance(BUILTIN_PROFILES.serverLeaf, { csr, lifetimeSeconds: 3 * 365 * 86_400 }, { notAfter: issuerEnd }, now);
    expect(plan.notAfter.toISOString()).to.equal(issuerEnd.toISOString());
    const within = resolveIssuance(BUILTIN_PROFILES.serverLeaf, { csr, lifetimeSeconds: 3600 }, { notAfter: issuerEnd }, now);
    expect(within.notAfter.getTime()).to.equal(Math.floor(now.getTime() / 1000) * 1000 + 3600_000);
  });

  it('notAfterBehavior: truncate and error validate, anything else is ERR_PROFILE_INVALID naming the field', () => {
    for (const behavior of ['truncate', 'error'] as const) {
      expect(validateProfile({ ...BUILTIN_PROFILES.serverLeaf, notAfterBehavior: behavior }).notAfterBehavior).to.equal(behavior);
    }
    expect(validateProfile({ ...BUILTIN_PROFILES.serverLeaf }).notAfterBehavior).to.equal(undefined);
    expect(errorOf(() => validateProfile({ ...BUILTIN_PROFILES.serverLeaf, notAfterBehavior: 'clip' }))).to.deep.equal({ code: 'ERR_PROFILE_INVALID', field: 'profile.notAfterBehavior' });
  });

  it('the plan issues leaves and a node ICA that openssl verify -x509_strict accepts', async () => {
    const nodeIssuer = { certDer: h.node.cert.der, signer: h.node.signer };
    const t0 = new Date('2026-03-02T00:00:00Z');
    const plan = resolveIssuance(BUILTIN_PROFILES.serverClientLeaf, { csr, lifetimeSeconds: 30 * 86_400 }, { notAfter: new Date('2028-01-01T00:00:00Z') }, t0);
    const leaf = await issueCertificate({ issuer: nodeIssuer, ...plan, serial: randomSerial(h.random) });
    const icaPlan = resolveIssuance(BUILTIN_PROFILES.nodeIntermediate, { csr: bare, subject: 'CN=Node ICA 2,O=Adrestia', lifetimeSeconds: 365 * 86_400 }, { notAfter: new Date('2031-01-01T00:00:00Z') }, t0);
    const ica = await issueCertificate({ issuer: { certDer: h.az.cert.der, signer: h.az.signer }, ...icaPlan, serial: randomSerial(h.random) });
    const { dir: d, cleanup: c } = tempDir('resolve-verify');
    try {
      const root = writeFile(d, 'root.pem', h.root.cert.pem);
      const chain = writeFile(d, 'chain.pem', h.az.cert.pem + h.node.cert.pem);
      const leafPath = writeFile(d, 'leaf.pem', leaf.pem);
      for (const purpose of ['sslserver', 'sslclient']) {
        const r = openssl(['verify', '-x509_strict', '-purpose', purpose, '-attime', epochSeconds(new Date('2026-03-03T00:00:00Z')), '-CAfile', root, '-untrusted', chain, leafPath]);
        expect(r.status, r.stderr + r.stdout).to.equal(0);
      }
      const icaPath = writeFile(d, 'ica.pem', ica.pem);
      const r = openssl(['verify', '-x509_strict', '-attime', epochSeconds(new Date('2026-03-03T00:00:00Z')), '-CAfile', root, '-untrusted', writeFile(d, 'az.pem', h.az.cert.pem), icaPath]);
      expect(r.status, r.stderr + r.stdout).to.equal(0);
      expect(openssl(['x509', '-in', icaPath, '-noout', '-ext', 'basicConstraints']).stdout).to.include('pathlen:0');
    } finally {
      c();
    }
  });
});

function withSan(edit: (s: SanPolicy) => SanPolicy): CertificateProfile {
  return { ...BUILTIN_PROFILES.serverLeaf, san: edit(BUILTIN_PROFILES.serverLeaf.san) };
}
