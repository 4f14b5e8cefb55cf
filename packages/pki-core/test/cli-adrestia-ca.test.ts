import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openssl, tempDir } from './ca-fixtures.ts';
import { makeCsr, type CsrFixture } from './ca-csr-fixtures.ts';
import { BUILTIN_PROFILES } from '../src/ca/profiles.ts';

const cliPath = fileURLToPath(new URL('../src/cli/adrestia-ca.ts', import.meta.url));

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: Record<string, string> = {}): Run {
  const childEnv = { ...process.env, ...env };
  if (!('ADRESTIA_KEK_FILE' in env)) delete childEnv['ADRESTIA_KEK_FILE'];
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', cliPath, ...args], { encoding: 'utf8', env: childEnv, timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: Run): Run {
  expect(r.status, r.stderr).to.equal(0);
  return r;
}

describe('adrestia-ca offline CLI (spawned, checked with OpenSSL)', function () {
  this.timeout(120_000);
  const { dir: tmp, cleanup } = tempDir('cli');
  const ca = join(tmp, 'ca');
  let p256: CsrFixture;
  let ed25519: CsrFixture;
  before(() => {
    p256 = makeCsr(tmp, 'p256');
    ed25519 = makeCsr(tmp, 'ed25519');
    ok(cli(['init', '--dir', ca, '--key-type', 'p384', '--subject', 'CN=Test Offline Root,O=Adrestia,C=US', '--days', '3650']));
  });
  after(cleanup);

  describe('init', () => {
    it('writes a self-signed root OpenSSL accepts, the key mode 0400, empty index and CRL counter', () => {
      expect(statSync(join(ca, 'ca.key')).mode & 0o777).to.equal(0o400);
      const pem = join(ca, 'ca.pem');
      expect(openssl(['verify', '-x509_strict', '-CAfile', pem, pem]).status).to.equal(0);
      const text = openssl(['x509', '-in', pem, '-noout', '-subject', '-text']).stdout;
      expect(text).to.include('CN = Test Offline Root');
      expect(text).to.include('CA:TRUE');
      expect(text).to.match(/ASN1 OID: secp384r1/);
      expect(JSON.parse(readFileSync(join(ca, 'index.json'), 'utf8'))).to.deep.equal([]);
      expect((JSON.parse(readFileSync(join(ca, 'state.json'), 'utf8')) as { crlNumber: unknown }).crlNumber).to.equal('0');
    });

    it('refuses a directory that is not empty (ERR_ALREADY_EXISTS)', () => {
      const r = cli(['init', '--dir', ca]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.include('ERR_ALREADY_EXISTS');
    });

    it('with ADRESTIA_KEK_FILE stores the key wrapped (0400), and signing needs the same KEK', () => {
      const kekFile = join(tmp, 'kek');
      writeFileSync(kekFile, randomBytes(32).toString('hex'), { mode: 0o600 });
      const wrappedCa = join(tmp, 'wrapped-ca');
      ok(cli(['init', '--dir', wrappedCa, '--key-type', 'ed25519', '--days', '400'], { ADRESTIA_KEK_FILE: kekFile }));
      expect(existsSync(join(wrappedCa, 'ca.key'))).to.equal(false);
      expect(statSync(join(wrappedCa, 'ca.key.wrapped')).mode & 0o777).to.equal(0o400);
      const out = join(tmp, 'wrapped-leaf.pem');
      const noKek = cli(['sign', '--dir', wrappedCa, '--csr', p256.csrPath, '--profile', 'clientLeaf', '--out', out]);
      expect(noKek.status).to.equal(1);
      expect(noKek.stderr).to.include('[ADRESTIA_KEK_FILE]');
      const wrongKek = join(tmp, 'kek2');
      writeFileSync(wrongKek, randomBytes(32).toString('base64'), { mode: 0o600 });
      const wrong = cli(['sign', '--dir', wrappedCa, '--csr', p256.csrPath, '--profile', 'clientLeaf', '--out', out], { ADRESTIA_KEK_FILE: wrongKek });
      expect(wrong.status).to.equal(1);
      expect(wrong.stderr).to.include('ERR_KEY_UNWRAP');
      expect(existsSync(out)).to.equal(false);
      ok(cli(['sign', '--dir', wrappedCa, '--csr', p256.csrPath, '--profile', 'clientLeaf', '--out', out, '--days', '30'], { ADRESTIA_KEK_FILE: kekFile }));
      expect(openssl(['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', join(wrappedCa, 'ca.pem'), out]).status).to.equal(0);
    });
  });

  describe('sign, revoke, crl', () => {
    const leaf = (): string => join(tmp, 'server.pem');
    const clientDer = (): string => join(tmp, 'client.der');

    it('serverLeaf with --san: openssl verify -x509_strict -purpose sslserver, SANs as given', () => {
      ok(cli(['sign', '--dir', ca, '--csr', p256.csrPath, '--profile', 'serverLeaf', '--out', leaf(), '--san', 'dns:api.example.com,ip:10.9.8.7', '--san', 'uri:spiffe://adrestia.test/api', '--days', '90']));
      const v = openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(ca, 'ca.pem'), leaf()]);
      expect(v.status, v.stderr + v.stdout).to.equal(0);
      const text = openssl(['x509', '-in', leaf(), '-noout', '-ext', 'subjectAltName,extendedKeyUsage,basicConstraints']).stdout;
      expect(text).to.include('DNS:api.example.com');
      expect(text).to.include('IP Address:10.9.8.7');
      expect(text).to.include('URI:spiffe://adrestia.test/api');
      expect(text).to.include('TLS Web Server Authentication');
      expect(text).to.include('CA:FALSE');
    });

    it('clientLeaf --der for an Ed25519 CSR keeps the CSR SANs and passes -purpose sslclient', () => {
      ok(cli(['sign', '--dir', ca, '--csr', ed25519.csrPath, '--profile', 'clientLeaf', '--out', clientDer(), '--der']));
      const pem = join(tmp, 'client.pem');
      expect(openssl(['x509', '-inform', 'DER', '-in', clientDer(), '-out', pem]).status).to.equal(0);
      expect(openssl(['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', join(ca, 'ca.pem'), pem]).status).to.equal(0);
      expect(openssl(['x509', '-in', pem, '-noout', '-ext', 'subjectAltName']).stdout).to.include('DNS:node-1.example.com');
    });

    it('revoke then crl: openssl crl -verify accepts it and -crl_check rejects only the revoked leaf', () => {
      const serial = openssl(['x509', '-in', leaf(), '-noout', '-serial']).stdout.trim().split('=')[1]!;
      ok(cli(['revoke', '--dir', ca, '--serial', serial, '--reason', 'keyCompromise']));
      const again = cli(['revoke', '--dir', ca, '--serial', serial]);
      expect(again.status).to.equal(1);
      expect(again.stderr).to.include('ERR_ALREADY_REVOKED');
      const crl = join(tmp, 'crl.pem');
      ok(cli(['crl', '--dir', ca, '--out', crl]));
      const c = openssl(['crl', '-in', crl, '-noout', '-verify', '-CAfile', join(ca, 'ca.pem'), '-text']);
      expect(c.status).to.equal(0);
      expect(c.stderr).to.include('verify OK');
      expect(c.stdout).to.include(`Serial Number: ${serial}`);
      expect(c.stdout).to.include('Key Compromise');
      expect(c.stdout).to.match(/X509v3 CRL Number:\s*\n\s*1\b/);
      const revoked = openssl(['verify', '-crl_check', '-CRLfile', crl, '-CAfile', join(ca, 'ca.pem'), leaf()]);
      expect(revoked.status).to.not.equal(0);
      expect(revoked.stdout + revoked.stderr).to.include('certificate revoked');
      const clientPem = join(tmp, 'client.pem');
      expect(openssl(['verify', '-crl_check', '-CRLfile', crl, '-CAfile', join(ca, 'ca.pem'), clientPem]).status).to.equal(0);
      const der = join(tmp, 'crl.der');
      ok(cli(['crl', '--dir', ca, '--out', der, '--der']));
      expect(openssl(['crl', '-inform', 'DER', '-in', der, '-noout', '-crlnumber']).stdout).to.include('crlNumber=0x02');
    });

    it('an offline root signs an AZ intermediate (pathLen 1) that OpenSSL accepts as a CA', () => {
      const bare = makeCsr(tmp, 'p256nosan', '/CN=ignored');
      const ica = join(tmp, 'az-ica.pem');
      ok(cli(['sign', '--dir', ca, '--csr', bare.csrPath, '--profile', 'azIntermediate', '--subject', 'CN=AZ az-1 ICA,O=Adrestia', '--days', '1000', '--out', ica]));
      const v = openssl(['verify', '-x509_strict', '-CAfile', join(ca, 'ca.pem'), ica]);
      expect(v.status, v.stderr + v.stdout).to.equal(0);
      const text = openssl(['x509', '-in', ica, '-noout', '-subject', '-ext', 'basicConstraints,keyUsage']).stdout;
      expect(text).to.include('CN = AZ az-1 ICA');
      expect(text).to.include('CA:TRUE, pathlen:1');
      expect(text).to.include('Certificate Sign, CRL Sign');
    });

    it('show summarizes a certificate, a CSR and a CRL, PEM or DER', () => {
      const cert = ok(cli(['show', leaf()])).stdout;
      expect(cert).to.match(/subject\s+CN=host-p256,O=Acme\\, Inc\.,C=US/);
      expect(cert).to.match(/issuer\s+CN=Test Offline Root,O=Adrestia,C=US/);
      expect(cert).to.include('dns:api.example.com, ip:10.9.8.7, uri:spiffe://adrestia.test/api');
      expect(ok(cli(['show', clientDer()])).stdout).to.match(/key\s+ed25519/);
      expect(ok(cli(['show', p256.csrPath])).stdout).to.match(/certificate request \(signature verified\)/);
      const crl = ok(cli(['show', join(tmp, 'crl.der')])).stdout;
      expect(crl).to.match(/crlNumber\s+2/);
      expect(crl).to.match(/revoked\s+1/);
    });
  });

  describe('failures exit non-zero, name the problem and leave no output file', () => {
    const out = (): string => join(tmp, 'never.pem');
    const cases: Array<[string, () => string[], number, string]> = [
      ['unknown profile', () => ['sign', '--dir', ca, '--csr', p256.csrPath, '--profile', 'nope', '--out', out()], 1, 'ERR_PROFILE_UNKNOWN [--profile]'],
      ['a CSR that is not a CSR', () => ['sign', '--dir', ca, '--csr', join(ca, 'ca.pem'), '--profile', 'serverLeaf', '--out', out()], 1, 'ERR_CSR_MALFORMED'],
      ['missing --out', () => ['sign', '--dir', ca, '--csr', p256.csrPath, '--profile', 'serverLeaf'], 2, '[--out]'],
      ['unknown flag', () => ['sign', '--dir', ca, '--bogus', 'x'], 2, '--bogus'],
      ['a wildcard SAN the profile forbids', () => ['sign', '--dir', ca, '--csr', p256.csrPath, '--profile', 'serverLeaf', '--out', out(), '--san', '*.example.com'], 1, 'ERR_SAN_FORBIDDEN [--san[0]]'],
      ['a malformed SAN', () => ['sign', '--dir', ca, '--csr', p256.csrPath, '--profile', 'serverLeaf', '--out', out(), '--san', 'dns:bad_name.example.com'], 1, 'ERR_SAN_INVALID [--san[0]]'],
      ['a lifetime past the profile maximum', () => ['sign', '--dir', ca, '--csr', p256.csrPath, '--profile', 'serverLeaf', '--out', out(), '--days', '2000'], 1, 'ERR_LIFETIME_INVALID'],
      ['SANs requested under a CA profile', () => ['sign', '--dir', ca, '--csr', p256.csrPath, '--profile', 'nodeIntermediate', '--out', out()], 1, 'ERR_SAN_FORBIDDEN [csr.subjectAltName]'],
      ['revoking an unknown serial', () => ['revoke', '--dir', ca, '--serial', '0a0b0c'], 1, 'ERR_NOT_FOUND [--serial]'],
      ['an unknown command', () => ['frobnicate'], 2, 'unknown command'],
      ['show without a FILE', () => ['show'], 2, '[FILE]'],
    ];
    for (const [what, args, status, needle] of cases) {
      it(what, () => {
        const r = cli(args());
        expect(r.status, r.stderr).to.equal(status);
        expect(r.stderr).to.include(needle);
        expect(existsSync(out())).to.equal(false);
      });
    }

    it('DIR/profiles.json replaces the built-ins: its policy applies and a typo in it names the field', () => {
      const customCa = join(tmp, 'custom-ca');
      ok(cli(['init', '--dir', customCa, '--days', '400']));
      // A JSON copy to edit, typo field included: the fields this test writes.
      const serverLeaf = JSON.parse(JSON.stringify(BUILTIN_PROFILES.serverLeaf)) as {
        name: string;
        san: { dns: { allowedDomains: string[] } };
        lifetime: Record<string, number>;
      };
      serverLeaf.name = 'internalServer';
      serverLeaf.san.dns.allowedDomains = ['.svc.internal'];
      writeFileSync(join(customCa, 'profiles.json'), JSON.stringify({ internalServer: serverLeaf }));
      const good = join(tmp, 'internal.pem');
      ok(cli(['sign', '--dir', customCa, '--csr', p256.csrPath, '--profile', 'internalServer', '--san', 'api.svc.internal', '--days', '30', '--out', good]));
      expect(openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(customCa, 'ca.pem'), good]).status).to.equal(0);
      const outside = cli(['sign', '--dir', customCa, '--csr', p256.csrPath, '--profile', 'internalServer', '--san', 'api.example.com', '--out', out()]);
      expect(outside.stderr).to.include('ERR_SAN_FORBIDDEN [--san[0]]');
      expect(cli(['sign', '--dir', customCa, '--csr', p256.csrPath, '--profile', 'serverLeaf', '--out', out()]).stderr).to.include('ERR_PROFILE_UNKNOWN');
      serverLeaf.lifetime.maxSecs = 1;
      writeFileSync(join(customCa, 'profiles.json'), JSON.stringify({ internalServer: serverLeaf }));
      const typo = cli(['sign', '--dir', customCa, '--csr', p256.csrPath, '--profile', 'internalServer', '--out', out()]);
      expect(typo.status).to.equal(1);
      expect(typo.stderr).to.include('ERR_PROFILE_INVALID [profiles.internalServer.lifetime.maxSecs]');
      expect(existsSync(out())).to.equal(false);
    });

    it('a lifetime past the issuer ends with the issuer (notAfterBehavior truncate, the default)', () => {
      const shortCa = join(tmp, 'short-ca');
      ok(cli(['init', '--dir', shortCa, '--days', '366']));
      ok(cli(['sign', '--dir', shortCa, '--csr', p256.csrPath, '--profile', 'serverLeaf', '--out', out(), '--days', '400']));
      const endOf = (pem: string): string => openssl(['x509', '-in', pem, '-noout', '-enddate']).stdout.trim();
      expect(endOf(out())).to.equal(endOf(join(shortCa, 'ca.pem')));
    });
  });
});
