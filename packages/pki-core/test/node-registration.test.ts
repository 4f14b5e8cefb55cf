// Phase II registration (docs/spec.md §3.2) end to end in process: the CA bundle fetched over plain
// HTTP and checked against its PSK proof, the PSK- or token-authenticated registration request,
// the AZ local leader's signing, and every refusal with its stable code. Events go to a real
// LevelDB state; the node's certificates are checked by OpenSSL against the fetched bundle.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { SeededRandom } from '@adrestia/consensus';
import { toPem } from '../src/ca/pem.ts';
import { viewCertificate } from '../src/ca/view.ts';
import { encodeJoinToken, newJoinTokenClaims } from '../src/cluster/join-token.ts';
import { NonceReplayGuard } from '../src/cluster/psk-proof.ts';
import { issuerChainPem } from '../src/node/ca/ca-chain.ts';
import { caSignerFromRecord, type CaHandle } from '../src/node/ca/ca-common.ts';
import { foundCluster } from '../src/node/founding/ca-found.ts';
import { generateNodeKeys, makeNodeCsrs, type NodeKeys } from '../src/node/ca/ca-node-keys.ts';
import { signNodeRegistration } from '../src/node/registration/ca-node-registration.ts';
import { buildRevocation } from '../src/node/ca/ca-revocation.ts';
import { parseRegistrationBody } from '../src/node/registration/registration-body.ts';
import {
  buildRegistrationRequest,
  readRegistrationResponse,
  registrationResponse,
  verifyCaBundle,
} from '../src/node/registration/registration-client.ts';
import { caBundleResponse, verifyRegistrationRequest, type AcceptedRegistration } from '../src/node/registration/registration.ts';
import { attime, expectVerifies, HOUR_MS, MINUTE_MS, openTestState, T0, writeFile, type TestState } from './node-ca-fixtures.ts';
import { expectPkiCode, expectPkiRejects } from './expect-code.ts';

const CLUSTER_ID = '5d2e9b1a-7c3f-4e8d-a6b5-0f1e2d3c4b5a';
const AZ1 = { name: 'az1', subnets: ['127.1.0.0/16'], localVip: '127.1.0.1' };

describe('Phase II node registration (docs/spec.md §3.2): PSK proofs, join tokens, refusals', function () {
  const psk = new Uint8Array(randomBytes(32));
  const tokenKey = new Uint8Array(randomBytes(32));
  const kek = new Uint8Array(randomBytes(32));
  const serials = new SeededRandom(7);
  let state: TestState;
  let azIca: CaHandle;
  let guard: NonceReplayGuard;
  let now = T0 + HOUR_MS;

  before(async function () {
    state = await openTestState('node-registration');
    const founded = await foundCluster({ clusterId: CLUSTER_ID, rootSubject: 'CN=Registration Test Root', azSpec: AZ1, kek, nowMs: T0, serials });
    await state.applyOk(...founded.events);
    azIca = caSignerFromRecord((await state.store.getCa(founded.azIca.issuerId))!, kek);
  });

  beforeEach(function () {
    guard = new NonceReplayGuard({ maxClockSkewSeconds: 300, maxEntries: 1000 });
    now += MINUTE_MS;
  });

  after(async function () {
    await state?.close();
  });

  async function newNode(az = 'az1'): Promise<{ nodeId: string; keys: NodeKeys; csrs: { icaCsrDer: Uint8Array; tlsCsrDer: Uint8Array }; addresses: { api: string; raft: string } }> {
    const nodeId = randomUUID();
    const keys = await generateNodeKeys({ dataDir: mkdtempSync(join(state.dir, 'node-')) });
    const csrs = makeNodeCsrs({ keys, nodeId, az, hosts: ['127.1.0.20'] });
    return { nodeId, keys, csrs, addresses: { api: '127.1.0.20:8443', raft: '127.1.0.20:7000' } };
  }

  /** The node's side up to the request: fetch and verify the bundle, then sign the request with the PSK. */
  async function pskRequest(node: Awaited<ReturnType<typeof newNode>>, az = 'az1', nodePsk = psk) {
    const clientNonce = new Uint8Array(randomBytes(16));
    const response = await caBundleResponse({ store: state.store, psk, nonce: clientNonce, serverNonce: new Uint8Array(randomBytes(16)), nowMs: now });
    const bundle = verifyCaBundle({ response, psk, clientNonce });
    return buildRegistrationRequest({
      clusterId: bundle.clusterId,
      nodeId: node.nodeId,
      az,
      addresses: node.addresses,
      ...node.csrs,
      auth: { psk: nodePsk, serverNonce: bundle.serverNonce },
      nowMs: now,
    });
  }

  /** The AZ local leader's side after acceptance: sign, apply, answer. */
  async function complete(accepted: AcceptedRegistration) {
    const signed = await signNodeRegistration({ azIca, ...accepted, nowMs: now, serials });
    if (accepted.joinTokenUsed !== undefined) await state.applyOk(accepted.joinTokenUsed);
    await state.applyOk(...signed.events);
    return { signed, response: registrationResponse({ ...signed, chainPem: await issuerChainPem(state.store, azIca.issuerId) }) };
  }

  it('registers a node with the PSK: bundle proof, request proof, certificates that chain to the fetched root', async function () {
    const node = await newNode();
    const clientNonce = new Uint8Array(randomBytes(16));
    const response = await caBundleResponse({ store: state.store, psk, nonce: clientNonce, serverNonce: new Uint8Array(randomBytes(16)), nowMs: now });
    const bundle = verifyCaBundle({ response, psk, clientNonce, expectedClusterId: CLUSTER_ID });
    expect(bundle.azIcaDers).to.have.length(1);
    const request = buildRegistrationRequest({ clusterId: bundle.clusterId, nodeId: node.nodeId, az: 'az1', addresses: node.addresses, ...node.csrs, auth: { psk, serverNonce: bundle.serverNonce }, nowMs: now });
    expect(request.authorization).to.match(/^Adrestia-PSK v1\./);
    const accepted = await verifyRegistrationRequest({ body: request.body, proofHeader: request.authorization, psk, store: state.store, nowMs: now, replayGuard: guard });
    expect(accepted).to.deep.include({ nodeId: node.nodeId, az: 'az1', auth: 'psk' });
    const { response: answer } = await complete(accepted);
    const mine = readRegistrationResponse(answer, node.keys);
    expect(viewCertificate(mine.tlsCertDer).sans).to.deep.include({ type: 'uri', value: `urn:adrestia:node:${node.nodeId}` });
    const rootFile = writeFile(state.dir, 'bundle-root.pem', toPem(bundle.rootDer));
    const chainFile = writeFile(state.dir, 'bundle-chain.pem', mine.chainPem);
    const tlsFile = writeFile(state.dir, `tls-${node.nodeId}.pem`, toPem(mine.tlsCertDer));
    expectVerifies(['-x509_strict', '-attime', attime(now + HOUR_MS), '-purpose', 'sslclient', '-CAfile', rootFile, '-untrusted', chainFile, tlsFile]);
    // Another node's keys do not match this answer.
    const stranger = await newNode();
    expectPkiCode(() => readRegistrationResponse(answer, stranger.keys), 'ERR_SIGNER_MISMATCH');
  });

  it('refuses a CA bundle whose proof was made with another PSK, altered in transit, of another cluster, or for another nonce (ERR_AUTH_PSK_PROOF)', async function () {
    const clientNonce = new Uint8Array(randomBytes(16));
    const serverNonce = new Uint8Array(randomBytes(16));
    const forged = await caBundleResponse({ store: state.store, psk: new Uint8Array(randomBytes(32)), nonce: clientNonce, serverNonce, nowMs: now });
    expectPkiCode(() => verifyCaBundle({ response: forged, psk, clientNonce }), 'ERR_AUTH_PSK_PROOF');
    const genuine = await caBundleResponse({ store: state.store, psk, nonce: clientNonce, serverNonce, nowMs: now });
    const swapped = { ...genuine, bundlePem: genuine.bundlePem.split('-----END CERTIFICATE-----\n')[0] + '-----END CERTIFICATE-----\n' };
    expectPkiCode(() => verifyCaBundle({ response: swapped, psk, clientNonce }), 'ERR_AUTH_PSK_PROOF');
    // A bundle of another cluster than the one the node was told to join.
    expectPkiCode(() => verifyCaBundle({ response: genuine, psk, clientNonce, expectedClusterId: randomUUID() }), 'ERR_AUTH_PSK_PROOF');
    // A replayed answer to another nonce fails too: the proof covers the client's nonce.
    expectPkiCode(() => verifyCaBundle({ response: genuine, psk, clientNonce: new Uint8Array(randomBytes(16)) }), 'ERR_AUTH_PSK_PROOF');
  });

  it('refuses a registration signed with the wrong PSK, a replayed nonce, and a body changed after signing', async function () {
    const node = await newNode();
    const wrong = await pskRequest(node, 'az1', new Uint8Array(randomBytes(32)));
    await expectPkiRejects(verifyRegistrationRequest({ body: wrong.body, proofHeader: wrong.authorization, psk, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AUTH_PSK_PROOF');

    const good = await pskRequest(node);
    const changed = new TextEncoder().encode(new TextDecoder().decode(good.body).replace('127.1.0.20:8443', '127.1.0.66:8443'));
    await expectPkiRejects(verifyRegistrationRequest({ body: changed, proofHeader: good.authorization, psk, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AUTH_PSK_PROOF');
    await verifyRegistrationRequest({ body: good.body, proofHeader: good.authorization, psk, store: state.store, nowMs: now, replayGuard: guard });
    await expectPkiRejects(verifyRegistrationRequest({ body: good.body, proofHeader: good.authorization, psk, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AUTH_PSK_PROOF');
    // A proof from a skewed clock is refused as well.
    const late = await pskRequest(node);
    await expectPkiRejects(verifyRegistrationRequest({ body: late.body, proofHeader: late.authorization, psk, store: state.store, nowMs: now + 10 * MINUTE_MS, replayGuard: guard }), 'ERR_AUTH_PSK_PROOF');
  });

  it('refuses requests without a usable credential (ERR_AUTH_REQUIRED) and an unknown AZ (ERR_AZ_UNKNOWN)', async function () {
    const node = await newNode();
    const request = await pskRequest(node);
    await expectPkiRejects(verifyRegistrationRequest({ body: request.body, proofHeader: '', psk, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AUTH_REQUIRED');
    await expectPkiRejects(verifyRegistrationRequest({ body: request.body, proofHeader: request.authorization, joinTokenKey: tokenKey, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AUTH_REQUIRED');
    const elsewhere = await pskRequest(node, 'az9');
    await expectPkiRejects(verifyRegistrationRequest({ body: elsewhere.body, proofHeader: elsewhere.authorization, psk, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AZ_UNKNOWN');
  });

  it('refuses malformed bodies with ERR_INPUT_INVALID naming the field (unknown field, bad endpoint, non-canonical base64)', async function () {
    const node = await newNode();
    const good = JSON.parse(new TextDecoder().decode((await pskRequest(node)).body)) as Record<string, unknown>;
    const encode = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
    const cases: [unknown, string][] = [
      [{ ...good, extra: 1 }, 'body.extra'],
      [{ ...good, addresses: { api: '127.1.0.20:99999', raft: '127.1.0.20:7000' } }, 'body.addresses.api'],
      [{ ...good, addresses: { api: '2001:db8::1:8443', raft: '127.1.0.20:7000' } }, 'body.addresses.api'],
      [{ ...good, icaCsr: `${good['icaCsr'] as string}\n` }, 'body.icaCsr'],
      [{ ...good, version: 2 }, 'body.version'],
    ];
    for (const [body, field] of cases) {
      expectPkiCode(() => parseRegistrationBody(encode(body)), 'ERR_INPUT_INVALID');
      try {
        parseRegistrationBody(encode(body));
      } catch (e) {
        expect((e as { field?: string }).field).to.equal(field);
      }
    }
    expect(parseRegistrationBody(encode(good)).body.nodeId).to.equal(node.nodeId);
  });

  describe('join tokens (docs/spec.md §3.9: single-use HS256 JWT bound to an AZ)', function () {
    async function token(over: { ttlSeconds?: number; az?: string; nowMs?: number; key?: Uint8Array; sub?: string } = {}): Promise<string> {
      const claims = newJoinTokenClaims({
        jti: randomUUID(),
        az: over.az ?? 'az1',
        clusterId: CLUSTER_ID,
        nowSeconds: Math.floor((over.nowMs ?? now) / 1000),
        ttlSeconds: over.ttlSeconds ?? 600,
        ...(over.sub === undefined ? {} : { sub: over.sub }),
      });
      return encodeJoinToken(claims, over.key ?? tokenKey);
    }

    async function tokenRequest(node: Awaited<ReturnType<typeof newNode>>, joinToken: string) {
      return buildRegistrationRequest({ clusterId: CLUSTER_ID, nodeId: node.nodeId, az: 'az1', addresses: node.addresses, ...node.csrs, auth: { joinToken }, nowMs: now });
    }

    it('registers with a fresh token and spends it through the log: a second use is ERR_AUTH_TOKEN_USED', async function () {
      const node = await newNode();
      const jwt = await token({ sub: node.nodeId });
      const request = await tokenRequest(node, jwt);
      const accepted = await verifyRegistrationRequest({ body: request.body, proofHeader: request.authorization, joinTokenKey: tokenKey, store: state.store, nowMs: now, replayGuard: guard });
      expect(accepted.auth).to.equal('joinToken');
      expect(accepted.joinTokenUsed).to.deep.include({ type: 'JoinTokenUsed', az: 'az1', nodeId: node.nodeId });
      await complete(accepted);
      const other = await newNode();
      const again = await tokenRequest(other, await token({ sub: other.nodeId }));
      const reuse = { ...again, authorization: `Bearer ${jwt}` };
      await expectPkiRejects(verifyRegistrationRequest({ body: reuse.body, proofHeader: reuse.authorization, joinTokenKey: tokenKey, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AUTH_TOKEN_INVALID');
      // Without a subject binding the reuse reaches the single-use check.
      const open = await token();
      const first = await tokenRequest(other, open);
      const okFirst = await verifyRegistrationRequest({ body: first.body, proofHeader: first.authorization, joinTokenKey: tokenKey, store: state.store, nowMs: now, replayGuard: guard });
      await state.applyOk(okFirst.joinTokenUsed!);
      const third = await newNode();
      const second = await tokenRequest(third, open);
      await expectPkiRejects(verifyRegistrationRequest({ body: second.body, proofHeader: second.authorization, joinTokenKey: tokenKey, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AUTH_TOKEN_USED');
    });

    it('refuses an expired token, a token signed with another key, and a token for another AZ', async function () {
      const node = await newNode();
      const expired = await tokenRequest(node, await token({ nowMs: now - 2 * HOUR_MS, ttlSeconds: 600 }));
      await expectPkiRejects(verifyRegistrationRequest({ body: expired.body, proofHeader: expired.authorization, joinTokenKey: tokenKey, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AUTH_TOKEN_EXPIRED');
      const forged = await tokenRequest(node, await token({ key: new Uint8Array(randomBytes(32)) }));
      await expectPkiRejects(verifyRegistrationRequest({ body: forged.body, proofHeader: forged.authorization, joinTokenKey: tokenKey, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_AUTH_TOKEN_INVALID');
      const otherAz = await tokenRequest(node, await token({ az: 'az2' }));
      await expectPkiRejects(verifyRegistrationRequest({ body: otherAz.body, proofHeader: otherAz.authorization, joinTokenKey: tokenKey, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_WRONG_AZ');
    });
  });

  describe('node identity is withdrawn for good', function () {
    it('refuses a node whose node ICA was revoked (ERR_NODE_REVOKED), and an active node registering twice (ERR_ALREADY_EXISTS)', async function () {
      const node = await newNode();
      const first = await pskRequest(node);
      const { signed } = await complete(await verifyRegistrationRequest({ body: first.body, proofHeader: first.authorization, psk, store: state.store, nowMs: now, replayGuard: guard }));
      const twice = await pskRequest(node);
      await expectPkiRejects(verifyRegistrationRequest({ body: twice.body, proofHeader: twice.authorization, psk, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_ALREADY_EXISTS');
      const serial = viewCertificate(signed.icaCertDer).serialHex;
      await state.applyOk(await buildRevocation({ issuerId: azIca.issuerId, serialHex: serial, reason: 'keyCompromise', nowMs: now, requestedBy: 'operator', store: state.store }));
      const after = await pskRequest(node);
      await expectPkiRejects(verifyRegistrationRequest({ body: after.body, proofHeader: after.authorization, psk, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_NODE_REVOKED');
    });

    it('refuses a node that was removed (ERR_NODE_REVOKED)', async function () {
      const node = await newNode();
      const first = await pskRequest(node);
      await complete(await verifyRegistrationRequest({ body: first.body, proofHeader: first.authorization, psk, store: state.store, nowMs: now, replayGuard: guard }));
      await state.applyOk({ type: 'NodeRemoved', nodeId: node.nodeId, reason: 'decommissioned', at: now });
      const again = await pskRequest(node);
      await expectPkiRejects(verifyRegistrationRequest({ body: again.body, proofHeader: again.authorization, psk, store: state.store, nowMs: now, replayGuard: guard }), 'ERR_NODE_REVOKED');
    });
  });
});
