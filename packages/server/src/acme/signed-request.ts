// One authenticated ACME POST (RFC 8555 §6.2–§6.5), checked in this order: media type, JWS
// shape and header, `url` equal to the request URL, the nonce (accepted once, cluster-wide),
// the key (`jwk`, or the account `kid` names, which must exist and be valid), the signature.
import type { JWK } from 'jose';
import { AcmeProblem, type AcmeAccountRecord, type AcmeNodeApi } from '@adrestia/pki-core';
import { readBody } from '../http/body.ts';
import type { RequestContext } from '../http/router.ts';
import { jwkThumbprint, parseJws, publicJwk, verifyJws, type ProtectedHeader } from './jws.ts';
import { AcmeUrls } from './acme-urls.ts';

export interface SignedRequest {
  header: ProtectedHeader;
  /** null for POST-as-GET. */
  payload: Record<string, unknown> | null;
  /** The key that signed: the header's `jwk`, or the account's. */
  jwk: JWK;
  keyThumbprint: string;
  /** Set for `kid` requests. */
  account: AcmeAccountRecord | null;
  /** The raw JWS, for requests that nest another (keyChange). */
  raw: Buffer;
}

export type KeyRule = 'kid' | 'jwk' | 'either';

export async function readSignedRequest(ctx: RequestContext, node: AcmeNodeApi, urls: AcmeUrls, rule: KeyRule): Promise<SignedRequest> {
  const type = (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/jose+json') throw new AcmeProblem('malformed', `Content-Type must be application/jose+json (RFC 8555 §6.2), not ${JSON.stringify(type)}`, { status: 415 });
  const raw = await readBody(ctx.req, ctx.maxBodyBytes);
  const { jws, header } = parseJws(raw);
  const expectedUrl = urls.requestUrl(ctx);
  if (header.url !== expectedUrl) throw new AcmeProblem('unauthorized', `the JWS "url" ${JSON.stringify(header.url)} is not the URL this request was sent to (${expectedUrl}) (RFC 8555 §6.4)`);
  const verdict = await node.consumeNonce(header.nonce);
  if (!verdict.ok) throw new AcmeProblem('badNonce', `${verdict.reason}; retry with the Replay-Nonce of this answer`);
  if (rule === 'kid' && header.jwk !== undefined) throw new AcmeProblem('malformed', 'this resource takes "kid" (the account URL), not "jwk" (RFC 8555 §6.2)');
  if (rule === 'jwk' && header.kid !== undefined) throw new AcmeProblem('malformed', 'this resource takes "jwk" (the new account key), not "kid" (RFC 8555 §6.2)');
  let jwk: JWK;
  let account: AcmeAccountRecord | null = null;
  if (header.kid !== undefined) {
    const accountId = AcmeUrls.accountIdOfKid(header.kid);
    if (accountId === null) throw new AcmeProblem('malformed', `"kid" ${JSON.stringify(header.kid)} is not an account URL of this server`);
    account = (await node.account(accountId)) ?? null;
    if (account === null) throw new AcmeProblem('accountDoesNotExist', `account ${accountId} does not exist`);
    if (account.status !== 'valid') throw new AcmeProblem('unauthorized', `account ${accountId} is deactivated`);
    jwk = JSON.parse(account.jwkJson) as JWK;
  } else {
    jwk = publicJwk(header.jwk!);
  }
  const payload = await verifyJws(jws, header.alg, jwk);
  return { header, payload, jwk, keyThumbprint: account?.keyThumbprint ?? (await jwkThumbprint(jwk)), account, raw };
}

/** The account of a `kid` request (readSignedRequest with rule `kid` always sets it). */
export function accountOf(request: SignedRequest): AcmeAccountRecord {
  if (request.account === null) throw new Error('assertion failed: a kid request without its account');
  return request.account;
}

/** POST-as-GET resources take an empty payload only (RFC 8555 §6.3). */
export function requirePostAsGet(request: SignedRequest): void {
  if (request.payload !== null) throw new AcmeProblem('malformed', 'this resource is read with POST-as-GET: send an empty payload (RFC 8555 §6.3)');
}

export function payloadOf(request: SignedRequest): Record<string, unknown> {
  if (request.payload === null) throw new AcmeProblem('malformed', 'this request needs a JSON object payload');
  return request.payload;
}
