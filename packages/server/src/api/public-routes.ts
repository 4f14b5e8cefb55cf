// Plain-HTTP routes: public information only (docs/architecture.md §10). Status drives Phase I
// discovery (docs/spec.md §3.1, §3.3), the CA bundle with a PSK proof drives Phase II, the cluster
// map is polled with `since=<generation or ETag>` (docs/spec.md §7.2), and CRLs and CA certificates are
// downloaded at the URLs the certificates carry.
import { PkiError, toPem } from '@adrestia/pki-core';
import { parseClusterMapSince } from '@adrestia/pki-core/cluster';
import { NONCE_BYTES_MAX, NONCE_BYTES_MIN } from '@adrestia/pki-core/registration';
import type { RequestContext, Router } from '../http/router.ts';
import { sendBytes, sendJson } from '../http/respond.ts';
import type { ApiDeps } from './deps.ts';
import { NODE_ID, param } from './inputs.ts';
import { addOcspRoutes } from './ocsp-routes.ts';
import { routeRequest } from './route-guard.ts';

const ISSUER_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** Where a complete CRL's delta CRL is served (node/ca/issuer-urls.ts deltaCrlUrl). */
const DELTA_SUFFIX = '-delta';
/** Where an AZ ICA's indirect CRL is served (node/ca/issuer-urls.ts indirectCrlUrl). */
const INDIRECT_SUFFIX = '-indirect';
/**
 * `<issuer>-p<k>` and `<AZ ICA>-indirect-p<k>` (node/ca/issuer-urls.ts partitionCrlUrl,
 * indirectCrlUrl): k without leading zeros, so each partition has one name, the one leaves carry.
 */
const PARTITION_NAME = /^([A-Za-z0-9_]{1,128})(-indirect)?-p(0|[1-9][0-9]{0,3})$/;

export function addPublicRoutes(router: Router, deps: ApiDeps): Router {
  router.get('/api/v1/status', (ctx) => status(ctx, deps));
  router.get('/api/v1/ca', (ctx) => caBundle(ctx, deps));
  router.get('/api/v1/clusterMap', (ctx) => clusterMap(ctx, deps));
  router.get('/api/v1/nodes', (ctx) => nodes(ctx, deps));
  router.get('/api/v1/nodes/:id', (ctx) => node(ctx, deps));
  router.get('/crl/:file', (ctx) => download(ctx, deps, '.crl'));
  router.get('/ca/:file', (ctx) => download(ctx, deps, '.crt'));
  addOcspRoutes(router, deps);
  return router;
}

async function status(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if ((await routeRequest(ctx, deps, 'status')).kind === 'done') return;
  sendJson(ctx.res, 200, deps.node.status());
}

/**
 * Without `nonce`: the root, this AZ's ICA and this node's chain. With `nonce` (Phase II step 1):
 * the bundle with an HMAC proof under the PSK for that nonce, so a node can trust it over HTTP.
 */
async function caBundle(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if ((await routeRequest(ctx, deps, 'publicRead')).kind === 'done') return;
  const nonceText = ctx.query.get('nonce');
  if (nonceText === null) {
    sendJson(ctx.res, 200, await deps.node.caBundle());
    return;
  }
  const nonce = Buffer.from(nonceText, 'base64url');
  if (nonce.length < NONCE_BYTES_MIN || nonce.length > NONCE_BYTES_MAX || nonce.toString('base64url') !== nonceText) {
    throw new PkiError('ERR_INPUT_INVALID', `nonce: ${NONCE_BYTES_MIN}..${NONCE_BYTES_MAX} bytes, base64url`, { field: 'nonce' });
  }
  const body = await deps.node.caBundleProof({
    psk: deps.psk,
    nonce,
    serverNonce: deps.randomBytes(32),
    nowMs: deps.nowMs(),
  });
  sendJson(ctx.res, 200, body);
}

/**
 * docs/spec.md §7.2: "no change" (304, no body) when `since` names this node's map — its ETag
 * exactly, or its generation — else the whole map. Either way the ETag
 * (`"<generation>.<content SHA-256>"`) names what this node serves.
 */
async function clusterMap(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if ((await routeRequest(ctx, deps, 'publicRead')).kind === 'done') return;
  const diff = await deps.node.clusterMap(parseClusterMapSince(ctx.query.get('since') ?? '0'));
  const etag = `"${diff.etag}"`;
  if (diff.unchanged) {
    ctx.res.writeHead(304, { etag, 'cache-control': 'no-store' });
    ctx.res.end();
    return;
  }
  sendJson(ctx.res, 200, diff.map, { etag });
}

/**
 * The registered nodes and their addresses (the cluster map's node list, read from the state):
 * a joining node learns here where its local group's members are before its log has caught up.
 * Node addresses are public (docs/spec.md §7.3) and every node holds all of them (node
 * registration is global), so any node answers, without routing and without the read barrier
 * (PkiNodeApi.listNodes): the first node of a new AZ asks the cluster VIP before its seat can
 * reach anyone.
 */
async function nodes(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  const list = await deps.node.listNodes();
  sendJson(ctx.res, 200, { nodes: list.map((n) => ({ nodeId: n.nodeId, az: n.az, addresses: { api: n.addresses.api, raft: n.addresses.raft } })) });
}

/**
 * One registered node with its TLS certificate, as applied here (public: every peer sees it in
 * the TLS handshake). A node whose TLS renewal was committed while it was down or cut off fetches
 * its own from its local VIP here (serve/node-tls-follower.ts): its peers pin the new certificate
 * and would refuse the one it still presents.
 */
async function node(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  const nodeId = param(ctx, 'id', NODE_ID, 'a node id');
  const record = await deps.node.getNode(nodeId);
  if (record === undefined) throw new PkiError('ERR_NODE_UNKNOWN', `no node ${nodeId} is registered`, { field: 'id' });
  sendJson(ctx.res, 200, { nodeId: record.nodeId, az: record.az, addresses: { api: record.addresses.api, raft: record.addresses.raft }, tlsCertificatePem: toPem(record.tlsCertDer) });
}

/**
 * RFC 5280 §4.2.1.13 CRL distribution points and §4.2.2.1 caIssuers are fetched by relying parties
 * from anywhere, so they are answered by every node without routing (RFC 5585 media types).
 */
async function download(ctx: RequestContext, deps: ApiDeps, ext: '.crl' | '.crt'): Promise<void> {
  const file = ctx.params['file'] ?? '';
  const issuerId = file.endsWith(ext) ? file.slice(0, -ext.length) : '';
  if (!ISSUER_ID.test(issuerId)) throw new PkiError('ERR_NOT_FOUND', `no ${ext} file ${file}`, { field: 'file' });
  const der = ext === '.crl' ? await crlOf(deps, issuerId) : await deps.node.getCaCertificate(issuerId);
  if (der === null) throw new PkiError('ERR_ISSUER_UNKNOWN', `no ${ext === '.crl' ? 'CRL' : 'CA certificate'} for issuer ${issuerId}`);
  const type = ext === '.crl' ? 'application/pkix-crl' : 'application/pkix-cert';
  sendBytes(ctx.res, 200, type, der, { 'cache-control': 'public, max-age=60' });
}

/**
 * `<issuer>.crl` is the latest complete CRL, `<issuer>-delta.crl` its delta (RFC 5280 §5.2.6
 * Freshest CRL), `<AZ ICA>-indirect.crl` the AZ ICA's indirect CRL (§5.2.5), `<issuer>-p<k>.crl`
 * and `<AZ ICA>-indirect-p<k>.crl` partition k of those (§5.2.5; pki-core state/crl-partitions.ts).
 */
function crlOf(deps: ApiDeps, name: string): Promise<Uint8Array | null> {
  const partition = PARTITION_NAME.exec(name);
  if (partition !== null && partition[2] !== undefined) return deps.node.getIndirectCrl(partition[1]!, Number(partition[3]));
  if (partition !== null) return deps.node.getPartitionCrl(partition[1]!, Number(partition[3]));
  if (name.endsWith(DELTA_SUFFIX)) return deps.node.getDeltaCrl(name.slice(0, -DELTA_SUFFIX.length));
  if (name.endsWith(INDIRECT_SUFFIX)) return deps.node.getIndirectCrl(name.slice(0, -INDIRECT_SUFFIX.length));
  return deps.node.getCrl(name);
}
