// OCSP across a two-AZ cluster of real PkiNodes (docs/architecture.md §14): every node of every AZ
// answers for a leaf — good, then revoked once the revocation is acknowledged, also while the node
// that issued it is down — and `unknown` for a serial the cluster never issued. OpenSSL checks
// every answer: signature by the delegated responder, chain to the root, nonce, status.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pemBlocks, toPem } from '../src/ca/pem.ts';
import { crlPartitionOf } from '../src/state/crl-partitions.ts';
import { openssl, writeFile } from './ca-fixtures.ts';
import { PkiTestCluster, buildTwoAzCluster, eventually, issueVia } from './node-cluster-harness.ts';
import type { PkiNode } from '../src/node/pki-node.ts';

const HTTP_PORT = 8080;

describe('PkiNode OCSP: any node of any AZ answers for any certificate (RFC 6960)', function () {
  this.timeout(120_000);
  // Every complete CRL gets deltas (crlDeltaAboveBytes 0), so a revocation shows in a delta CRL.
  const c = new PkiTestCluster({ publicHttpPort: HTTP_PORT, crlDeltaAboveBytes: 0 });
  let dir: string;

  before(async () => {
    dir = c.dataDir;
    await buildTwoAzCluster(c);
    // Responders are provisioned ahead of need: every CA certifies every AZ's responder key.
    await eventually('every CA certified every AZ responder', async () => {
      const store = c.nodes.get('b2')!.app.store;
      const azs = ['az1', 'az2'];
      if ((await store.ocspResponderKeys()).length !== azs.length) return false;
      for (const ca of await store.cas()) for (const az of azs) if ((await store.ocspResponderCert(ca.issuerId, az)) === undefined) return false;
      return true;
    });
  });
  after(() => c.stop());

  /** Writes the leaf, its issuer and the root for OpenSSL; returns their paths. */
  function files(name: string, chainPem: string): { leaf: string; issuer: string; root: string } {
    const [leaf, issuer, az, root] = pemBlocks(chainPem).map((b) => toPem(b.der));
    return { leaf: writeFile(dir, `${name}.pem`, leaf!), issuer: writeFile(dir, `${name}-issuer.pem`, issuer! + az!), root: writeFile(dir, 'root.pem', root!) };
  }

  function request(name: string, args: string[]): { path: string; der: Uint8Array } {
    const path = join(dir, `${name}.req`);
    const r = openssl(['ocsp', ...args, '-reqout', path]);
    expect(r.status, r.stderr).to.equal(0);
    return { path, der: new Uint8Array(readFileSync(path)) };
  }

  /** Asks `node`, then has OpenSSL verify the answer against the request (nonce) and print the status. */
  /** `clockShiftMs`: how far the cluster clock is off the machine's; OpenSSL then checks at that time (-attime). */
  async function statusVia(node: PkiNode, name: string, f: { leaf: string; issuer: string; root: string }, digest: string[] = [], clockShiftMs = 0): Promise<string> {
    const attime = clockShiftMs === 0 ? [] : ['-attime', String(Math.floor((Date.now() - clockShiftMs) / 1000)), '-validity_period', String(Math.ceil(-clockShiftMs / 1000) + 300)];
    const req = request(`${name}-${node.nodeId}`, [...digest, '-issuer', f.issuer, '-cert', f.leaf]);
    // tryLater is transient (RFC 6960 §2.3): the AZ is electing a local leader after the crash.
    const answer = await eventually(`${node.nodeId} answers ${name}`, async () => {
      const a = await node.answerOcsp(req.der);
      return a.outcome === 'tryLater' ? null : a;
    });
    const resp = writeFile(dir, `${name}-${node.nodeId}.resp`, answer.der);
    const verified = openssl(['ocsp', '-reqin', req.path, '-respin', resp, '-CAfile', f.root, '-verify_other', f.issuer, ...attime]);
    expect(verified.stdout + verified.stderr, `${node.nodeId}: ${name}`).to.include('Response verify OK');
    expect(verified.stdout + verified.stderr).to.not.include('Nonce Verify error');
    const status = openssl(['ocsp', ...digest, '-issuer', f.issuer, '-cert', f.leaf, '-respin', resp, '-CAfile', f.root, '-verify_other', f.issuer, '-no_nonce', ...attime]);
    expect(status.status, status.stderr).to.equal(0);
    return status.stdout;
  }

  it('good from every node, then revoked (time, reason) from every node once acknowledged, with the issuing node down', async () => {
    const leaf = await issueVia(c.nodes.get('a2')!, c, 'ocsp-1');
    const f = files('ocsp-1', leaf.chainPem);
    // RFC 5280 §4.2.2.1: the AIA names the OCSP responder on the issuing AZ's local VIP.
    expect(openssl(['x509', '-in', f.leaf, '-noout', '-ocsp_uri']).stdout.trim()).to.equal(`http://10.1.0.1:${HTTP_PORT}/ocsp`);
    for (const n of c.live()) {
      expect(await statusVia(n, 'good', f), n.nodeId).to.match(/ocsp-1\.pem: good/);
    }
    for (const id of ['a3', 'b2']) expect(await statusVia(c.nodes.get(id)!, 'good256', f, ['-sha256']), `${id} (SHA-256 CertID)`).to.match(/ocsp-1\.pem: good/);
    await c.crash('a2');
    for (const n of c.live()) expect(await statusVia(n, 'issuer-down', f), n.nodeId).to.match(/ocsp-1\.pem: good/);
    // Asked of az2, handed to az1 (revocation-routing.ts), acknowledged once committed.
    await eventually('revoke via b1', () => c.nodes.get('b1')!.revoke({ serialHex: leaf.serialHex, reason: 'keyCompromise', requestedBy: 'test' }));
    for (const n of c.live()) {
      const out = await statusVia(n, 'revoked', f);
      expect(out, n.nodeId).to.match(/ocsp-1\.pem: revoked/);
      expect(out).to.include('Reason: keyCompromise');
    }
    // RFC 5280 §5.2.5: a2's own CRL waits for a2, but the AZ ICA's indirect CRL, which the leaf
    // names as a second distribution point (cRLIssuer: the AZ ICA), lists the revocation now: the
    // partition of it the leaf's serial falls in (docs/architecture.md §4.5, 256 partitions).
    const leafText = openssl(['x509', '-in', f.leaf, '-noout', '-text']).stdout;
    const named = new RegExp(`URI:http://10\\.1\\.0\\.1:${HTTP_PORT}/crl/([0-9a-f]+)-indirect-p(\\d+)\\.crl`).exec(leafText);
    const azIcaId = named?.[1];
    expect(azIcaId, leafText).to.be.a('string');
    expect(Number(named?.[2])).to.equal(crlPartitionOf(leaf.serialHex, 256));
    expect(leafText).to.match(/CRL Issuer:\s+DirName:/);
    const indirectDer = await eventually('the indirect CRL lists the revocation', async () => {
      const der = await c.nodes.get('a3')!.getIndirectCrl(azIcaId!, Number(named?.[2]));
      if (der === null) return null;
      const text = openssl(['crl', '-inform', 'DER', '-in', writeFile(dir, 'indirect.der', der), '-noout', '-text']).stdout;
      return text.includes(`Serial Number: ${leaf.serialHex.toUpperCase()}`) ? der : null;
    });
    const ownCrl = await c.nodes.get('a3')!.getCrl(leaf.issuerId);
    if (ownCrl !== null) {
      const text = openssl(['crl', '-inform', 'DER', '-in', writeFile(dir, 'own.der', ownCrl), '-noout', '-text']).stdout;
      expect(text, "a2's own CRL cannot list it while a2 is down").to.not.include(`Serial Number: ${leaf.serialHex.toUpperCase()}`);
    }
    const indirect = writeFile(dir, 'indirect.pem', toPem(indirectDer, 'X509 CRL'));
    const r = openssl(['verify', '-crl_check', '-extended_crl', '-CRLfile', indirect, '-CAfile', f.root, '-untrusted', f.issuer, f.leaf]);
    expect(r.stdout + r.stderr).to.match(/certificate revoked/);
  });

  it('RFC 5280 §5.2.4: a revocation reaches a delta CRL against the complete one, which names it (Freshest CRL); openssl -use_deltas revokes', async () => {
    const a1 = c.nodes.get('a1')!;
    const leaf = await issueVia(a1, c, 'delta-1');
    const f = files('delta-1', leaf.chainPem);
    await eventually('a complete CRL of a1', () => a1.getCrl(leaf.issuerId));
    await eventually('revoke via a1', () => a1.revoke({ serialHex: leaf.serialHex, reason: 'superseded', requestedBy: 'test' }));
    const deltaDer = await eventually('a delta CRL listing the revocation', async () => {
      const der = await c.nodes.get('a3')!.getDeltaCrl(leaf.issuerId);
      if (der === null) return null;
      const text = openssl(['crl', '-inform', 'DER', '-in', writeFile(dir, 'delta.der', der), '-noout', '-text']).stdout;
      return text.includes(`Serial Number: ${leaf.serialHex.toUpperCase()}`) ? der : null;
    });
    const completeDer = (await c.nodes.get('a3')!.getCrl(leaf.issuerId))!;
    const complete = openssl(['crl', '-inform', 'DER', '-in', writeFile(dir, 'complete.der', completeDer), '-noout', '-text']).stdout;
    expect(complete).to.include(`URI:http://10.1.0.1:${HTTP_PORT}/crl/${leaf.issuerId}-delta.crl`);
    expect(complete, 'the complete CRL predates the revocation: only the delta has it').to.not.include(`Serial Number: ${leaf.serialHex.toUpperCase()}`);
    const deltaNumber = /Delta CRL Indicator: critical\s+(\d+)/.exec(openssl(['crl', '-inform', 'DER', '-in', join(dir, 'delta.der'), '-noout', '-text']).stdout)?.[1];
    expect(Number(deltaNumber)).to.equal(Number(/X509v3 CRL Number:\s+(\d+)/.exec(complete)?.[1]));
    const pem = (name: string, der: Uint8Array): string => writeFile(dir, name, toPem(der, 'X509 CRL'));
    const r = openssl(['verify', '-crl_check', '-use_deltas', '-CRLfile', pem('complete.pem', completeDer), '-CRLfile', pem('delta.pem', deltaDer), '-CAfile', f.root, '-untrusted', f.issuer, f.leaf]);
    expect(r.stdout + r.stderr).to.match(/certificate revoked/);
  });

  it('unknown for a serial the cluster never issued, from nodes of both AZs; unauthorized for a foreign issuer', async () => {
    const leaf = await issueVia(c.nodes.get('a3')!, c, 'ocsp-2');
    const f = files('ocsp-2', leaf.chainPem);
    for (const id of ['a1', 'b2']) {
      const node = c.nodes.get(id)!;
      const req = request(`random-${id}`, ['-issuer', f.issuer, '-serial', '0x5ca1ab1e0ddba11c0ffee15900d', '-no_nonce']);
      const resp = writeFile(dir, `random-${id}.resp`, (await node.answerOcsp(req.der)).der);
      const r = openssl(['ocsp', '-issuer', f.issuer, '-serial', '0x5ca1ab1e0ddba11c0ffee15900d', '-respin', resp, '-CAfile', f.root, '-verify_other', f.issuer, '-no_nonce']);
      expect(r.stdout, id).to.match(/: unknown/);
      expect(r.stdout + r.stderr).to.include('Response verify OK');
    }
    // A CertID naming a CA that is not ours: the leaf's own key plays the issuer.
    const foreign = request('foreign', ['-issuer', f.leaf, '-serial', '0x01', '-no_nonce']);
    const answer = await c.nodes.get('b1')!.answerOcsp(foreign.der);
    expect(answer.outcome).to.equal('unauthorized');
    expect((await c.nodes.get('b1')!.answerOcsp(Uint8Array.of(0x30, 0x00))).outcome).to.equal('malformedRequest');
  });

  it('out-of-bounds OCSP and CRL options are a TypeError naming the option, before the node starts', async () => {
    const bad = new PkiTestCluster({ publicHttpPort: HTTP_PORT, ocspValiditySeconds: 5 });
    try {
      let error: unknown;
      try {
        await bad.start('x1', 'az9', { mode: 'foundCluster', clusterId: '0f9a1c2e-7b3d-4e5f-8a9b-0c1d2e3f4a5b', azSpec: { name: 'az9', subnets: ['10.9.0.0/16'], localVip: '10.9.0.1' } });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(TypeError);
      expect(String(error)).to.include('ocspValiditySeconds');
    } finally {
      await bad.stop();
    }
  });

  it('responder certificates are renewed once half their life has passed; answers stay verifiable', async () => {
    const a1 = c.nodes.get('a1')!;
    const ica = (await a1.app.store.cas()).find((ca) => ca.nodeId === 'a1')!;
    const before = (await a1.app.store.ocspResponderCert(ica.issuerId, 'az2'))!;
    // Runs last: the cluster's clock jumps past half the 7-day lifetime.
    c.clockOffsetMs = 4 * 24 * 3600 * 1000;
    const renewed = await eventually('a renewed responder certificate', async () => {
      const now = await c.nodes.get('b2')!.app.store.ocspResponderCert(ica.issuerId, 'az2');
      return now !== undefined && now.notAfter > before.notAfter ? now : null;
    });
    expect(renewed.serialHex).to.not.equal(before.serialHex);
    const leaf = await issueVia(a1, c, 'renewed-1');
    const f = files('renewed-1', leaf.chainPem);
    const out = await statusVia(c.nodes.get('b2')!, 'renewed', f, [], -c.clockOffsetMs);
    expect(out).to.match(/renewed-1\.pem: good/);
  });
});

