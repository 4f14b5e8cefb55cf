// One PkiNode in this process: it founds a one-node cluster on in-memory storage and transports,
// issues a certificate for a CSR made here, and the certificate is checked against its issuer.
// Run: `node examples/embed.mjs` after `pnpm build` (or an install of the packages), or
// `node --conditions=source --import tsx examples/embed.mjs` on the workspace sources.
import { X509Certificate, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryNetwork, MemorySeatNetwork, MemoryStorage, systemRandom } from '@adrestia/consensus';
import { PkiError, PkiNode, buildCsr } from '@adrestia/pki-core';

const dataDir = mkdtempSync(join(tmpdir(), 'adrestia-embed-'));
const node = await PkiNode.start(
  {
    nodeId: 'n1', az: 'az1', addresses: { api: '127.0.0.1:8443', raft: '127.0.0.1:7000' }, dataDir,
    kek: new Uint8Array(32).fill(7), // the operator's key-encryption key; keep a real one secret
    storage: new MemoryStorage(),
    localTransport: new MemoryNetwork().endpoint('n1'),
    seatTransport: new MemorySeatNetwork().endpoint('az1', 'n1'),
    peers: { call: async (id) => { throw new PkiError('ERR_TIMEOUT', `no peer ${id} in a one-node cluster`); } },
    nowMs: Date.now, random: systemRandom, tickMs: 10,
  },
  { mode: 'foundCluster', clusterId: randomUUID(), azSpec: { name: 'az1', subnets: ['10.1.0.0/16'], localVip: '10.1.0.1' } },
);
try {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const csr = buildCsr({ subject: 'CN=app.example', privateKey, sans: [{ type: 'dns', value: 'app.example' }] });
  const issued = await node.issue({ csr, profile: 'serverLeaf', requester: 'embed-example' });
  const [leaf, issuer] = issued.chainPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g).map((pem) => new X509Certificate(pem));
  if (!leaf.verify(issuer.publicKey)) throw new Error('the leaf does not verify under its issuer');
  console.log(`issued ${issued.serialHex} for ${leaf.subjectAltName} by "${issuer.subject.replace(/\n/g, ', ')}", signature verified`);
} finally {
  await node.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
