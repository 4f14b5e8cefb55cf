// Routes between nodes: Phase II registration and AZ founding (HTTPS authenticated by the PSK
// proof, because the newcomer has no certificate yet: docs/spec.md §3.2), and the node-to-node PKI
// endpoint (mTLS with node certificates) that calls PkiNode.handlePeer.
import { X509Certificate } from 'node:crypto';
import { PkiError, toPem, type PeerRequest, type PeerResponse } from '@adrestia/pki-core';
import { asPkiCode, encodeEvent } from '@adrestia/pki-core/node';
import {
  parseRegistrationProof,
  registrationResponse,
  verifyRegistration,
} from '@adrestia/pki-core/registration';
import { ServerError } from '../errors.ts';
import { readBody, requireMediaType } from '../http/body.ts';
import type { RequestContext, Router } from '../http/router.ts';
import { sendBytes, sendJson } from '../http/respond.ts';
import { decodePeerRequest, encodePeer, PEER_MEDIA_TYPE, PEER_PATH } from '../peer/codec.ts';
import { certSha256Hex, checkPeer, DEFAULT_NODE_URI_PREFIX, localIdentity } from '../transport/identity.ts';
import type { ApiDeps } from './deps.ts';
import { routeRequest } from './route-guard.ts';
import { parseFoundAzBody } from './found-az-body.ts';

export function addNodeRoutes(router: Router, deps: ApiDeps, ownCertPem: () => string | null): Router {
  router.post('/api/v1/registrations', (ctx) => register(ctx, deps));
  router.post('/api/v1/azs', (ctx) => foundAz(ctx, deps));
  router.post(PEER_PATH, (ctx) => peer(ctx, deps, ownCertPem), { requireClientCert: true, acceptExpiredClientCert: true });
  return router;
}

async function register(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  requireMediaType(ctx.req, ['application/json']);
  const routed = await routeRequest(ctx, deps, 'register');
  if (routed.kind === 'done') return;
  const body = await readBody(ctx.req, deps.maxPeerBodyBytes);
  const accepted = await deps.node.acceptRegistration({
    body,
    proofHeader: ctx.req.headers.authorization ?? '',
    psk: deps.psk,
    ...(deps.joinTokenKey === undefined ? {} : { joinTokenKey: deps.joinTokenKey }),
    nowMs: deps.nowMs(),
    replayGuard: deps.replayGuard,
  });
  if (accepted.joinTokenUsed) {
    // Seed 001: a join token is single use, decided through the global log so two nodes racing
    // with one token cannot both win.
    const spend: PeerRequest = { kind: 'proposeGlobal', event: encodeEvent(accepted.joinTokenUsed) };
    const spent = expect(routed.kind === 'forward' ? await deps.peers.call(routed.to, spend) : await deps.node.handlePeer(accepted.nodeId, spend), 'outcome');
    if (!spent.outcome?.ok) throw new PkiError('ERR_AUTH_TOKEN_USED', 'this join token was already used');
  }
  const request: PeerRequest = {
    kind: 'register',
    nodeId: accepted.nodeId,
    az: accepted.az,
    addresses: accepted.addresses,
    icaCsrDer: accepted.icaCsrDer,
    tlsCsrDer: accepted.tlsCsrDer,
  };
  // The local leader signs with the AZ ICA and adds the learner; a follower hands it over.
  const answer = routed.kind === 'forward' ? await deps.peers.call(routed.to, request) : await deps.node.handlePeer(accepted.nodeId, request);
  const registered = expect(answer, 'registered');
  const bundle = await deps.node.caBundle();
  sendJson(ctx.res, 201, registrationResponse({ icaCertDer: registered.icaCertDer, tlsCertDer: registered.tlsCertDer, chainPem: bundle.azIcaPem ?? '' }));
}

/**
 * The first node of a new AZ asks the global leader to add it (AZ ICA, seat). The body is signed
 * like a registration (the PSK proof over its hash, with a server nonce from `GET /api/v1/ca`),
 * and names the node and AZ the proof names.
 */
async function foundAz(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  requireMediaType(ctx.req, ['application/json']);
  if ((await routeRequest(ctx, deps, 'admin')).kind === 'done') return;
  const body = await readBody(ctx.req, deps.maxPeerBodyBytes);
  const clusterId = await deps.node.clusterId();
  if (clusterId === null) throw new PkiError('ERR_NOT_FOUND', 'the cluster has not been founded yet');
  const proof = parseRegistrationProof((ctx.req.headers.authorization ?? '').trim());
  if (deps.psk === undefined) throw new ServerError('ERR_UNAVAILABLE', 'this node holds no cluster PSK (it joined with a join token): it cannot check a founding proof; retry on a node that holds it');
  const claims = verifyRegistration(deps.psk, proof, {
    clusterId,
    body,
    nowSeconds: Math.floor(deps.nowMs() / 1000),
    replayGuard: deps.replayGuard,
  });
  const parsed = parseFoundAzBody(body);
  if (parsed.clusterId !== clusterId) throw new PkiError('ERR_INPUT_INVALID', 'body names another cluster', { field: 'clusterId' });
  if (parsed.nodeId !== claims.nodeId || parsed.az.name !== claims.az) {
    throw new PkiError('ERR_AUTH_PSK_PROOF', 'the body names another node or AZ than the proof', { field: 'body' });
  }
  const answer = await deps.node.handlePeer(parsed.nodeId, {
    kind: 'foundAz',
    az: parsed.az,
    nodeId: parsed.nodeId,
    addresses: parsed.addresses,
    icaCsrDer: new Uint8Array(Buffer.from(parsed.icaCsr, 'base64')),
    tlsCsrDer: new Uint8Array(Buffer.from(parsed.tlsCsr, 'base64')),
    ...(parsed.restoredCas === undefined ? {} : { restoredCas: parsed.restoredCas.map((e) => new Uint8Array(Buffer.from(e, 'base64'))) }),
  });
  const registered = expect(answer, 'registered');
  const azIca = await deps.node.azIcaCertificate(parsed.az.name);
  const chainPem = azIca ? toPem(azIca) : '';
  sendJson(ctx.res, 201, registrationResponse({ icaCertDer: registered.icaCertDer, tlsCertDer: registered.tlsCertDer, chainPem }));
}

/**
 * mTLS between nodes: the verified certificate names the calling node (SAN URI) and is the one
 * registered for it (transport/peer-pins.ts): a revoked, removed or unregistered node, or another
 * certificate naming a registered one, is refused; the request may carry `proposeGlobal`. A
 * certificate that failed verification only by expiring is admitted when it is exactly the one
 * registered for the node (docs/architecture.md §21: renewal after long downtime).
 */
async function peer(ctx: RequestContext, deps: ApiDeps, ownCertPem: () => string | null): Promise<void> {
  const cert = ctx.peerCertificate ?? ctx.expiredPeerCertificate;
  const own = ownCertPem();
  if (cert === null || own === null) throw new ServerError('ERR_CLIENT_CERT_REQUIRED', 'node-to-node requests need a node certificate');
  let from: string;
  try {
    const presented = new X509Certificate(cert.raw);
    from = checkPeer(presented, localIdentity(deps.node.nodeId, own), { uriPrefix: DEFAULT_NODE_URI_PREFIX });
    if (ctx.peerCertificate === null) deps.peerPins.requireExpiredPinned(from, certSha256Hex(presented));
    else deps.peerPins.requirePinned(from, certSha256Hex(presented), presented);
  } catch (err) {
    throw new ServerError('ERR_FORBIDDEN', (err as Error).message);
  }
  // The pins are as fresh as the directory's last poll; a withdrawal is refused from the moment it
  // is applied here (PkiNodeApi.withdrawnNodeIds), as before pinning.
  if (await isWithdrawn(deps, from)) throw new ServerError('ERR_FORBIDDEN', `node ${from} was revoked or removed`);
  requireMediaType(ctx.req, [PEER_MEDIA_TYPE]);
  const request = decodePeerRequest(await readBody(ctx.req, deps.maxPeerBodyBytes));
  const response = await deps.node.handlePeer(from, request);
  sendBytes(ctx.res, 200, PEER_MEDIA_TYPE, encodePeer(response));
}

/** Seed 001: a node whose node CA was revoked, or that was removed, never speaks for the cluster again. */
async function isWithdrawn(deps: ApiDeps, nodeId: string): Promise<boolean> {
  return (await deps.node.withdrawnNodeIds()).has(nodeId);
}

function expect<K extends PeerResponse['kind']>(answer: PeerResponse, kind: K): Extract<PeerResponse, { kind: K }> {
  if (answer.kind === kind) return answer as Extract<PeerResponse, { kind: K }>;
  if (answer.kind === 'error') throw new PkiError(asPkiCode(answer.code), answer.message);
  throw new ServerError('ERR_INTERNAL', `unexpected peer answer ${answer.kind}`);
}


