// RFC 8555 §7.4 orders, §7.5 authorizations and challenges, §7.4.2 certificate download.
// Orders live in the local group of the AZ that took them; validation runs on the node the
// challenge POST reached, in the background, and its outcome is committed there.
import { AcmeProblem, type AcmeChallengeType, type AcmeNodeApi, type AcmeOrderView } from '@adrestia/pki-core';
import type { RequestContext, Router } from '../http/router.ts';
import type { AcmeDeps } from './acme-deps.ts';
import type { AcmeAnswer } from './acme-http.ts';
import { authzJson, challengeJson, orderJson } from './acme-objects.ts';
import { acmeRoute } from './acme-route.ts';
import type { AcmeUrls } from './acme-urls.ts';
import { accountOf, payloadOf, readSignedRequest, requirePostAsGet } from './signed-request.ts';

const CHALLENGE_TYPES: readonly string[] = ['http-01', 'dns-01', 'tls-alpn-01'];
/** How soon a client should poll a pending order or authorization again (RFC 8555 §7.4, §8.2). */
const POLL_AFTER_SECONDS = 1;

export function addAcmeOrderRoutes(router: Router, deps: AcmeDeps): Router {
  const node = deps.api.node.acme;
  const inFlight = new Set<string>();
  router.post(`${deps.prefix}/new-order`, acmeRoute(deps, (ctx, urls) => newOrder(ctx, urls, node, deps.directory)));
  router.post(`${deps.prefix}/order/:id`, acmeRoute(deps, (ctx, urls) => orderResource(ctx, urls, node)));
  router.post(`${deps.prefix}/order/:id/finalize`, acmeRoute(deps, (ctx, urls) => finalize(ctx, urls, node)));
  router.post(`${deps.prefix}/authz/:id`, acmeRoute(deps, (ctx, urls) => authzResource(ctx, urls, node)));
  router.post(`${deps.prefix}/chall/:id/:type`, acmeRoute(deps, (ctx, urls) => challenge(ctx, urls, deps, inFlight)));
  router.post(`${deps.prefix}/cert/:id`, acmeRoute(deps, (ctx, urls) => certificate(ctx, urls, node)));
  return router;
}

function orderAnswer(status: number, order: AcmeOrderView, urls: AcmeUrls): AcmeAnswer {
  const pending = order.status === 'pending' || order.status === 'ready';
  return { status, body: orderJson(order, urls), location: urls.order(order.orderId), ...(pending ? { retryAfterSeconds: POLL_AFTER_SECONDS } : {}) };
}

async function newOrder(ctx: RequestContext, urls: AcmeUrls, node: AcmeNodeApi, directory: string | null): Promise<AcmeAnswer> {
  const request = await readSignedRequest(ctx, node, urls, 'kid');
  const payload = payloadOf(request);
  if (payload['notBefore'] !== undefined || payload['notAfter'] !== undefined) {
    throw new AcmeProblem('malformed', 'notBefore and notAfter are not supported: certificates start now and last the configured lifetime');
  }
  const identifiers = payload['identifiers'];
  if (!Array.isArray(identifiers)) throw new AcmeProblem('malformed', 'identifiers must be a list of {type, value}');
  const replaces = payload['replaces'];
  if (replaces !== undefined && typeof replaces !== 'string') throw new AcmeProblem('malformed', 'replaces must be a certificate identifier (RFC 9773 §5)');
  const order = await node.newOrder({ accountId: accountOf(request).accountId, identifiers, ...(replaces === undefined ? {} : { replaces }), ...(directory === null ? {} : { directory }) });
  return orderAnswer(201, order, urls);
}

async function orderResource(ctx: RequestContext, urls: AcmeUrls, node: AcmeNodeApi): Promise<AcmeAnswer> {
  const request = await readSignedRequest(ctx, node, urls, 'kid');
  requirePostAsGet(request);
  return orderAnswer(200, await node.order(accountOf(request).accountId, ctx.params['id']!), urls);
}

async function finalize(ctx: RequestContext, urls: AcmeUrls, node: AcmeNodeApi): Promise<AcmeAnswer> {
  const request = await readSignedRequest(ctx, node, urls, 'kid');
  const csr = payloadOf(request)['csr'];
  if (typeof csr !== 'string' || !/^[A-Za-z0-9_-]+$/.test(csr)) throw new AcmeProblem('badCSR', 'csr must be the base64url DER of a PKCS#10 request (RFC 8555 §7.4)');
  const { order } = await node.finalize(accountOf(request).accountId, ctx.params['id']!, new Uint8Array(Buffer.from(csr, 'base64url')));
  return orderAnswer(200, order, urls);
}

async function authzResource(ctx: RequestContext, urls: AcmeUrls, node: AcmeNodeApi): Promise<AcmeAnswer> {
  const request = await readSignedRequest(ctx, node, urls, 'kid');
  const accountId = accountOf(request).accountId;
  const id = ctx.params['id']!;
  if (request.payload !== null) {
    if (request.payload['status'] !== 'deactivated') throw new AcmeProblem('malformed', 'an authorization takes POST-as-GET, or {"status": "deactivated"} (RFC 8555 §7.5.2)');
    return { status: 200, body: authzJson(await node.deactivateAuthz(accountId, id), urls) };
  }
  const authz = await node.authz(accountId, id);
  return { status: 200, body: authzJson(authz, urls), ...(authz.status === 'pending' ? { retryAfterSeconds: POLL_AFTER_SECONDS } : {}) };
}

/** RFC 8555 §7.5.1: `{}` asks for validation; the answer says `processing` until the outcome commits. */
async function challenge(ctx: RequestContext, urls: AcmeUrls, deps: AcmeDeps, inFlight: Set<string>): Promise<AcmeAnswer> {
  const node = deps.api.node.acme;
  const request = await readSignedRequest(ctx, node, urls, 'kid');
  const account = accountOf(request);
  const type = ctx.params['type']!;
  const authz = await node.authz(account.accountId, ctx.params['id']!);
  const offered = authz.challenges.find((c) => c.type === type);
  if (!CHALLENGE_TYPES.includes(type) || offered === undefined) {
    const types = authz.challenges.map((c) => c.type).join(', ');
    const why = authz.wildcard ? ' (a wildcard is proven by dns-01 only, RFC 8555 §8.4)' : '';
    throw new AcmeProblem('malformed', `authorization ${authz.authzId} offers no ${type} challenge; it offers ${types}${why}`, { status: 404 });
  }
  const start = request.payload !== null && authz.status === 'pending' && offered.status === 'pending';
  if (request.payload !== null && Object.keys(request.payload).length > 0) throw new AcmeProblem('malformed', 'a challenge is answered with an empty object {} (RFC 8555 §7.5.1)');
  if (start && !inFlight.has(authz.authzId)) {
    inFlight.add(authz.authzId);
    void validateInBackground(deps, authz, type as AcmeChallengeType, `${offered.token}.${account.keyThumbprint}`).finally(() => inFlight.delete(authz.authzId));
  }
  return {
    status: 200,
    body: challengeJson(authz, offered, urls, start || inFlight.has(authz.authzId)),
    links: [{ url: urls.authz(authz.authzId), rel: 'up' }],
    ...(start ? { retryAfterSeconds: POLL_AFTER_SECONDS } : {}),
  };
}

async function validateInBackground(deps: AcmeDeps, authz: Parameters<AcmeDeps['validator']['validate']>[0], type: AcmeChallengeType, keyAuthorization: string): Promise<void> {
  try {
    const problem = await deps.validator.validate(authz, type, keyAuthorization);
    if (problem !== undefined) deps.api.logger.info({ authzId: authz.authzId, type, problem }, 'ACME challenge failed');
    await deps.api.node.acme.recordValidation(authz.authzId, type, problem);
  } catch (err) {
    deps.api.logger.error({ err, authzId: authz.authzId, type }, 'ACME validation could not be recorded');
  }
}

async function certificate(ctx: RequestContext, urls: AcmeUrls, node: AcmeNodeApi): Promise<AcmeAnswer> {
  const request = await readSignedRequest(ctx, node, urls, 'kid');
  requirePostAsGet(request);
  const chain = await node.certificateChain(accountOf(request).accountId, ctx.params['id']!);
  return { status: 200, body: chain, contentType: 'application/pem-certificate-chain' };
}
