// CSRs made by the OpenSSL CLI (`openssl req -new`), the independent producer our parser must
// accept, generated once per test run into a temp dir.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openssl } from './ca-fixtures.ts';

export type CsrFixtureName = 'p256' | 'p384' | 'rsa2048' | 'rsa3072' | 'ed25519' | 'rsa1024' | 'p521' | 'dsa' | 'p256sha1' | 'p256nosan';

const KEY_ARGS: Record<CsrFixtureName, string[]> = {
  p256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384'],
  rsa2048: ['-newkey', 'rsa:2048'],
  rsa3072: ['-newkey', 'rsa:3072'],
  ed25519: ['-newkey', 'ed25519'],
  rsa1024: ['-newkey', 'rsa:1024'],
  p521: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'],
  dsa: ['-newkey', 'dsa:DSAPARAMS'],
  p256sha1: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha1'],
  p256nosan: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
};

const FIXTURE_SANS = 'DNS:Node-1.Example.com,IP:10.1.2.3,IP:2001:db8::7,URI:spiffe://adrestia.test/node/1,email:ops@example.com';

export interface CsrFixture {
  readonly pem: string;
  readonly der: Uint8Array;
  readonly keyPath: string;
  readonly csrPath: string;
}

/** Makes one CSR with `openssl req -new` in `dir`; subject `/C=US/O=Acme, Inc./CN=host-<name>`. */
export function makeCsr(dir: string, name: CsrFixtureName, subj = `/C=US/O=Acme, Inc./CN=host-${name}`): CsrFixture {
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  let args = KEY_ARGS[name];
  if (name === 'dsa') {
    const params = join(dir, 'dsa.params');
    const p = openssl(['dsaparam', '-out', params, '2048']);
    if (p.status !== 0) throw new Error(`openssl dsaparam: ${p.stderr}`);
    args = args.map((a) => a.replace('DSAPARAMS', params));
  }
  const sanArgs = name === 'p256nosan' ? [] : ['-addext', `subjectAltName=${FIXTURE_SANS}`];
  const r = openssl(['req', '-new', ...args, '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', subj, ...sanArgs]);
  if (r.status !== 0) throw new Error(`openssl req (${name}): ${r.stderr}`);
  const pem = readFileSync(csrPath, 'utf8');
  const der = new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
  return { pem, der, keyPath, csrPath };
}
