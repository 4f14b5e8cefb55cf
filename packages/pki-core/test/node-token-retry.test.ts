// A one-time provisioner token retried (node/provisioners/token-issuance.ts): the spend names the
// AZ and the request it was spent for, so the same request asked again in that AZ — after a lost
// answer, or after a first attempt that failed between the spend and the certificate — gets the
// certificate, and never a second one; any other use of the spent token is ERR_AUTH_TOKEN_USED.
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { parseCsr } from '../src/ca/csr.ts';
import { toPem } from '../src/ca/pem.ts';
import { parseSanText } from '../src/ca/san.ts';
import { buildCsr } from '../src/node/ca/ca-node-keys.ts';
import type { PkiNode } from '../src/node/pki-node.ts';
import { signProvisionerToken } from '../src/node/provisioners/provisioner-token-sign.ts';
import { tokenRequestHash } from '../src/node/provisioners/token-issuance.ts';
import { encodeEvent } from '../src/state/event-codec.ts';
import { expectPkiRejects } from './expect-code.ts';
import { azSpec, CLUSTER_ID, eventually, PkiTestCluster } from './node-cluster-harness.ts';

const LIFETIME_SECONDS = 3600;

describe('PkiNode: a one-time provisioner token retried for the same request', function () {
  this.timeout(60_000);
  const signer = generateKeyPairSync('ed25519');
  let c: PkiTestCluster;
  let node: PkiNode;
  before(async () => {
    c = new PkiTestCluster();
    node = await c.start('a1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
    await eventually('ready', () => node.status().ready);
    await eventually('provisioner added', () => node.addProvisioner({ name: 'ci', publicKey: signer.publicKey.export({ format: 'jwk' }), policy: { dnsSuffixes: ['.svc.test'], profiles: ['serverLeaf'], maxLifetimeSeconds: 86_400 } }, 'test'));
  });
  after(() => c.stop());

  const mint = (cn: string): Promise<string> =>
    signProvisionerToken({ privateKey: signer.privateKey, provisioner: 'ci', audience: CLUSTER_ID, subject: cn, sans: [`dns:${cn}`], nowSeconds: Math.floor(Date.now() / 1000), lifetimeSeconds: 300 });
  const csrFor = (cn: string): string => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return toPem(buildCsr({ subject: `CN=${cn}`, privateKey, sans: [parseSanText(`dns:${cn}`, 'san')] }), 'CERTIFICATE REQUEST');
  };
  const request = (csr: string) => ({ csr, profile: 'serverLeaf', lifetimeSeconds: LIFETIME_SECONDS });
  /** What a first attempt that failed after its spend leaves: the spend, for `az` and this request, and no certificate. */
  const spendAsIf = async (token: string, cn: string, csr: string, az: string): Promise<void> => {
    const claims = decodeJwt(token);
    const requestHash = tokenRequestHash(parseCsr(csr), [parseSanText(`dns:${cn}`, 'san')], 'serverLeaf', LIFETIME_SECONDS);
    const ev = { type: 'ProvisionerTokenUsed' as const, provisioner: 'ci', tokenId: claims.jti!, subject: cn, expiresAt: claims.exp! * 1000, spentFor: { az, requestHash }, at: Date.now() };
    const outcome = (await node.consensus.proposeGlobal(encodeEvent(ev))) as { ok: boolean } | null;
    expect(outcome?.ok, 'the spend committed').to.equal(true);
  };

  it('the same request again returns the first certificate (no second one); another request with the token is refused', async () => {
    const token = await mint('a.svc.test');
    const csr = csrFor('a.svc.test');
    const first = await node.issueWithToken(token, request(csr));
    expect(first.duplicate).to.equal(false);
    const again = await node.issueWithToken(token, request(csr));
    expect([again.serialHex, again.duplicate]).to.deep.equal([first.serialHex, true]);
    await expectPkiRejects(node.issueWithToken(token, request(csrFor('a.svc.test'))), 'ERR_AUTH_TOKEN_USED');
    await expectPkiRejects(node.issueWithToken(token, { ...request(csr), lifetimeSeconds: LIFETIME_SECONDS / 2 }), 'ERR_AUTH_TOKEN_USED');
  });

  it('a spend whose certificate never committed: the same request issues it, once', async () => {
    const token = await mint('b.svc.test');
    const csr = csrFor('b.svc.test');
    await spendAsIf(token, 'b.svc.test', csr, 'az1');
    const issued = await node.issueWithToken(token, request(csr));
    expect(issued.duplicate, 'issued now').to.equal(false);
    expect((await node.issueWithToken(token, request(csr))).serialHex).to.equal(issued.serialHex);
  });

  it('a spend for the same request in another AZ is refused here', async () => {
    const token = await mint('c.svc.test');
    const csr = csrFor('c.svc.test');
    await spendAsIf(token, 'c.svc.test', csr, 'az2');
    await expectPkiRejects(node.issueWithToken(token, request(csr)), 'ERR_AUTH_TOKEN_USED');
  });
});
