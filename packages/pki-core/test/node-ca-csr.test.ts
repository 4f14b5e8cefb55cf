// The node's own certification requests (RFC 2986 §4): built by DER concatenation, they must be
// PKCS#10 that OpenSSL verifies and our parser reads back with the same key and SANs.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseCsr } from '../src/ca/csr.ts';
import { spkiDerOf } from '../src/ca/keys.ts';
import { buildCsr, endpointHost, generateNodeKeys, hostSan, makeNodeCsrs } from '../src/node/ca/ca-node-keys.ts';
import { openssl, writeFile } from './node-ca-fixtures.ts';

describe('RFC 2986 §4 node CSRs (buildCsr, makeNodeCsrs)', function () {
  let dir: string;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'adrestia-node-csr-'));
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, make] of [
    ['P-256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey],
    ['P-384', () => generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey],
    ['Ed25519', () => generateKeyPairSync('ed25519').privateKey],
  ] as const) {
    it(`${name}: OpenSSL verifies the self-signature and parseCsr reads the key and SANs back`, function () {
      const privateKey = make();
      const sans = [
        { type: 'uri', value: 'urn:adrestia:node:1b2c' },
        { type: 'ip', value: '2001:db8::7' },
        { type: 'dns', value: 'node.example' },
      ] as const;
      const der = buildCsr({ subject: 'CN=node,OU=az1', privateKey, sans });
      const r = openssl(['req', '-inform', 'DER', '-in', writeFile(dir, `${name}.csr`, der), '-verify', '-noout', '-text']);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.include('URI:urn:adrestia:node:1b2c').and.to.include('IP Address:2001:DB8:0:0:0:0:0:7').and.to.include('DNS:node.example');
      const parsed = parseCsr(der);
      expect(Buffer.from(parsed.spkiDer)).to.deep.equal(Buffer.from(spkiDerOf(privateKey)));
      expect(parsed.subject).to.equal('CN=node,OU=az1');
      expect(parsed.requestedSans).to.deep.equal(sans);
    });
  }

  it('makeNodeCsrs: the ICA CSR carries no SANs, the TLS CSR the node URI and each distinct host once', async function () {
    const keys = await generateNodeKeys({ dataDir: dir, keyType: 'ecdsa-p384' });
    const csrs = makeNodeCsrs({ keys, nodeId: 'n-1', az: 'az1', hosts: ['10.1.0.5', 'Node-1.Example', 'node-1.example', '10.1.0.5'] });
    expect(parseCsr(csrs.icaCsrDer).requestedSans).to.deep.equal([]);
    expect(parseCsr(csrs.tlsCsrDer).requestedSans).to.deep.equal([
      { type: 'uri', value: 'urn:adrestia:node:n-1' },
      { type: 'ip', value: '10.1.0.5' },
      { type: 'dns', value: 'node-1.example' },
    ]);
    expect(parseCsr(csrs.icaCsrDer).keyType).to.equal('ecdsa-p384');
  });

  it('endpointHost and hostSan read host:port and [IPv6]:port endpoints', function () {
    expect(endpointHost('127.1.0.10:8443')).to.equal('127.1.0.10');
    expect(endpointHost('[2001:db8::1]:7000')).to.equal('2001:db8::1');
    expect(endpointHost('node-1.example:443')).to.equal('node-1.example');
    expect(() => endpointHost('no-port')).to.throw(TypeError);
    expect(hostSan('2001:db8::1')).to.deep.equal({ type: 'ip', value: '2001:db8::1' });
    expect(hostSan('Node.Example')).to.deep.equal({ type: 'dns', value: 'node.example' });
  });
});
