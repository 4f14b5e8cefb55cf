// RFC 8555 §7.3.5 keyChange: the outer JWS is signed by the account's current key (`kid`); its
// payload is an inner JWS signed by the new key (`jwk`, same `url`, no nonce) whose payload names
// the account and its old key. The key moves only if no account holds the new key yet (409 with
// that account's URL otherwise); the move is a global commit (`AcmeAccountKeyChanged`).
import { AcmeProblem } from '@adrestia/pki-core';
import type { RequestContext, Router } from '../http/router.ts';
import type { AcmeDeps } from './acme-deps.ts';
import { problemAnswer, type AcmeAnswer } from './acme-http.ts';
import { accountJson } from './acme-objects.ts';
import { acmeRoute } from './acme-route.ts';
import type { AcmeUrls } from './acme-urls.ts';
import { jwkThumbprint, parseInnerJws, publicJwk, verifyJws } from './jws.ts';
import { accountOf, payloadOf, readSignedRequest } from './signed-request.ts';

export function addAcmeKeyChangeRoute(router: Router, deps: AcmeDeps): Router {
  router.post(`${deps.prefix}/key-change`, acmeRoute(deps, (ctx, urls) => keyChange(ctx, urls, deps)));
  return router;
}

async function keyChange(ctx: RequestContext, urls: AcmeUrls, deps: AcmeDeps): Promise<AcmeAnswer> {
  const node = deps.api.node.acme;
  const outer = await readSignedRequest(ctx, node, urls, 'kid');
  const account = accountOf(outer);
  const inner = parseInnerJws(payloadOf(outer));
  if (inner.url !== outer.header.url) throw new AcmeProblem('malformed', `the inner JWS "url" ${JSON.stringify(inner.url)} differs from the outer one (RFC 8555 §7.3.5)`);
  const newJwk = publicJwk(inner.jwk);
  const payload = await verifyJws(inner.jws, inner.alg, newJwk);
  if (payload === null) throw new AcmeProblem('malformed', 'the inner JWS of a keyChange needs the payload {account, oldKey} (RFC 8555 §7.3.5)');
  if (payload['account'] !== outer.header.kid) throw new AcmeProblem('malformed', `the inner payload's "account" ${JSON.stringify(payload['account'])} is not the outer "kid" ${outer.header.kid}`);
  const oldKey = payload['oldKey'];
  if (typeof oldKey !== 'object' || oldKey === null || Array.isArray(oldKey)) throw new AcmeProblem('malformed', 'the inner payload needs "oldKey", the account\'s current JWK');
  if ((await jwkThumbprint(publicJwk(oldKey))) !== account.keyThumbprint) throw new AcmeProblem('unauthorized', 'the inner payload\'s "oldKey" is not the current key of the account');
  const newThumbprint = await jwkThumbprint(newJwk);
  const holder = await node.accountByKey(newThumbprint);
  if (holder !== undefined) {
    const conflict = problemAnswer(new AcmeProblem('malformed', `the new key already belongs to account ${holder.accountId}`, { status: 409 }));
    return { ...conflict, location: urls.account(holder.accountId) };
  }
  const changed = await node.changeAccountKey(account.accountId, account.keyThumbprint, { keyThumbprint: newThumbprint, jwkJson: JSON.stringify(newJwk) });
  return { status: 200, body: accountJson(changed, urls), location: urls.account(changed.accountId) };
}
