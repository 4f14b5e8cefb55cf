// The ACME server (RFC 8555) on the HTTPS listener, on every node: directory, nonces and
// accounts here; orders, authorizations, challenges and certificates in acme-order-routes.ts.
// Clients of another AZ are led to their own AZ by the directory GET alone (a redirect), so no
// signed POST is ever redirected: its JWS `url` would no longer match (docs/architecture.md §15).
import { AcmeProblem, type AcmeNodeApi } from '@adrestia/pki-core';
import type { RequestContext, Router } from '../http/router.ts';
import { routeRequest } from '../api/route-guard.ts';
import type { AcmeDeps } from './acme-deps.ts';
import type { AcmeAnswer } from './acme-http.ts';
import { acmeRoute } from './acme-route.ts';
import { accountJson } from './acme-objects.ts';
import { verifyExternalAccountBinding } from './acme-eab.ts';
import { addAcmeKeyChangeRoute } from './acme-key-change-route.ts';
import { addAcmeOrderRoutes } from './acme-order-routes.ts';
import { addAcmeRenewalInfoRoute } from './acme-renewal-info-route.ts';
import { addAcmeRevokeRoute } from './acme-revoke-route.ts';
import { ACME_PREFIX, type AcmeUrls } from './acme-urls.ts';
import type { ApiDeps } from '../api/deps.ts';
import type { NodeConfig } from '../config/load.ts';
import type { ChallengeValidator } from './challenge-validator.ts';
import { accountOf, payloadOf, readSignedRequest, requirePostAsGet } from './signed-request.ts';

/** `/acme/directory`, and `/acme/<name>/directory` for each of `acme.directories` (RFC 8555 §7.1.1), each with its own URLs. */
export function addAcmeDirectories(router: Router, api: ApiDeps, config: NodeConfig['acme'], validator: ChallengeValidator): Router {
  addAcmeRoutes(router, { api, config, validator, directory: null, prefix: ACME_PREFIX });
  for (const d of config.directories) addAcmeRoutes(router, { api, config, validator, directory: d.name, prefix: `${ACME_PREFIX}/${d.name}` });
  return router;
}

function addAcmeRoutes(router: Router, deps: AcmeDeps): Router {
  const node = deps.api.node.acme;
  router.get(`${deps.prefix}/directory`, acmeRoute(deps, (ctx, urls) => directory(ctx, urls, deps)));
  router.get(`${deps.prefix}/new-nonce`, acmeRoute(deps, (ctx) => Promise.resolve({ status: ctx.method === 'HEAD' ? 200 : 204 })));
  router.post(`${deps.prefix}/new-account`, acmeRoute(deps, (ctx, urls) => newAccount(ctx, urls, node, deps)));
  router.post(`${deps.prefix}/acct/:id`, acmeRoute(deps, (ctx, urls) => accountResource(ctx, urls, node)));
  router.post(`${deps.prefix}/acct/:id/orders`, acmeRoute(deps, (ctx, urls) => accountOrders(ctx, urls, node)));
  return addAcmeRenewalInfoRoute(addAcmeKeyChangeRoute(addAcmeRevokeRoute(addAcmeOrderRoutes(router, deps), deps), deps), deps);
}

/** RFC 8555 §7.1.1; a client of another AZ is sent to its own AZ's directory (route-guard.ts). */
async function directory(ctx: RequestContext, urls: AcmeUrls, deps: AcmeDeps): Promise<AcmeAnswer | null> {
  if ((await routeRequest(ctx, deps.api, 'status')).kind === 'done') return null;
  const meta: Record<string, unknown> = { externalAccountRequired: externalAccountRequired(deps) };
  if (deps.config.termsOfService !== undefined) meta['termsOfService'] = deps.config.termsOfService;
  return {
    status: 200,
    body: {
      newNonce: urls.newNonce(),
      newAccount: urls.newAccount(),
      newOrder: urls.newOrder(),
      revokeCert: urls.revokeCert(),
      keyChange: urls.keyChange(),
      renewalInfo: urls.renewalInfo(),
      meta,
    },
  };
}

/** RFC 8555 §7.3.4: the node's `acme.externalAccountRequired`, or the directory's own. */
function externalAccountRequired(deps: AcmeDeps): boolean {
  if (deps.directory === null) return deps.config.externalAccountRequired;
  return deps.config.directories.find((d) => d.name === deps.directory)?.externalAccountRequired ?? false;
}

/** RFC 8555 §7.3 (contacts must be `mailto:` URLs, §7.3 and §7.1.2). */
function contactsOf(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > 8) throw new AcmeProblem('invalidContact', 'contact must be a list of at most 8 URLs');
  return value.map((c, i) => {
    if (typeof c !== 'string') throw new AcmeProblem('invalidContact', `contact[${i}] is not a string`);
    if (!c.startsWith('mailto:')) throw new AcmeProblem('unsupportedContact', `contact[${i}]: only mailto: contacts are supported`);
    if (!/^mailto:[^@\s,?]+@[^@\s,?]+$/.test(c) || c.length > 512) throw new AcmeProblem('invalidContact', `contact[${i}] ${JSON.stringify(c)} is not one mailto: address`);
    return c;
  });
}

async function newAccount(ctx: RequestContext, urls: AcmeUrls, node: AcmeNodeApi, deps: AcmeDeps): Promise<AcmeAnswer> {
  const request = await readSignedRequest(ctx, node, urls, 'jwk');
  const payload = payloadOf(request);
  const existing = await node.accountByKey(request.keyThumbprint);
  // RFC 8555 §7.3.1: the same key finds its account (200), also with onlyReturnExisting.
  if (existing !== undefined) return { status: 200, body: accountJson(existing, urls), location: urls.account(existing.accountId) };
  if (payload['onlyReturnExisting'] === true) throw new AcmeProblem('accountDoesNotExist', 'no account has this key (onlyReturnExisting)');
  if (deps.config.termsOfService !== undefined && payload['termsOfServiceAgreed'] !== true) {
    throw new AcmeProblem('userActionRequired', `agree to the terms of service at ${deps.config.termsOfService} (termsOfServiceAgreed)`);
  }
  if (externalAccountRequired(deps) && payload['externalAccountBinding'] === undefined) {
    throw new AcmeProblem('externalAccountRequired', 'this server needs an external account binding (RFC 8555 §7.3.4); ask the operator for an EAB key');
  }
  const contact = contactsOf(payload['contact']) ?? [];
  const binding = payload['externalAccountBinding'];
  const eabKeyId = binding === undefined ? undefined : await verifyExternalAccountBinding(binding, urls.newAccount(), request.jwk, node);
  const { account, created } = await node.createAccount({ keyThumbprint: request.keyThumbprint, jwkJson: JSON.stringify(request.jwk), contact, ...(eabKeyId === undefined ? {} : { eabKeyId }) });
  return { status: created ? 201 : 200, body: accountJson(account, urls), location: urls.account(account.accountId) };
}

/** RFC 8555 §7.3.2 update, §7.3.6 deactivation, or POST-as-GET. */
async function accountResource(ctx: RequestContext, urls: AcmeUrls, node: AcmeNodeApi): Promise<AcmeAnswer> {
  const request = await readSignedRequest(ctx, node, urls, 'kid');
  const account = accountOf(request);
  if (account.accountId !== ctx.params['id']) throw new AcmeProblem('unauthorized', `the request is signed by account ${account.accountId}, not by account ${ctx.params['id']}`);
  if (request.payload === null) return { status: 200, body: accountJson(account, urls), location: urls.account(account.accountId) };
  const status = request.payload['status'];
  if (status !== undefined && status !== 'deactivated') throw new AcmeProblem('malformed', 'status may only be set to "deactivated" (RFC 8555 §7.3.6)');
  const contact = contactsOf(request.payload['contact']);
  const updated = await node.updateAccount(account.accountId, { ...(contact === undefined ? {} : { contact }), deactivate: status === 'deactivated' });
  return { status: 200, body: accountJson(updated, urls), location: urls.account(account.accountId) };
}

/**
 * RFC 8555 §7.1.2.1: the account's orders in this AZ (orders are local, docs/architecture.md
 * §15.1), oldest first, a page at a time with `Link: rel="next"`; invalid orders are left out.
 */
async function accountOrders(ctx: RequestContext, urls: AcmeUrls, node: AcmeNodeApi): Promise<AcmeAnswer> {
  const request = await readSignedRequest(ctx, node, urls, 'kid');
  requirePostAsGet(request);
  const account = accountOf(request);
  if (account.accountId !== ctx.params['id']) throw new AcmeProblem('unauthorized', `the request is signed by account ${account.accountId}, not by account ${ctx.params['id']}`);
  const cursor = ctx.query.get('cursor') ?? undefined;
  if (cursor !== undefined && !/^[0-9a-f]{16}\.[A-Za-z0-9_-]{1,64}$/.test(cursor)) throw new AcmeProblem('malformed', 'cursor: not a cursor of this server\'s order list');
  const page = await node.accountOrders(account.accountId, cursor);
  return {
    status: 200,
    body: { orders: page.orderIds.map((id) => urls.order(id)) },
    ...(page.next === null ? {} : { links: [{ url: `${urls.accountOrders(account.accountId)}?cursor=${page.next}`, rel: 'next' }] }),
  };
}
