// The OCSP responder over plain HTTP (RFC 6960 Appendix A.1, RFC 5019 §5): `GET /ocsp/<base64 of
// the DER request, URL-encoded>` and `POST /ocsp` with `application/ocsp-request`, answered by
// every node and VIP for every certificate of the cluster (PkiNodeApi.answerOcsp). Every OCSP
// outcome, errors included, is an `application/ocsp-response` with HTTP 200 (RFC 6960 §2.3);
// signed GET answers carry the caching headers of RFC 5019 §6.2.
import { createHash } from 'node:crypto';
import { OCSP_REQUEST_BYTES_MAX, type OcspAnswer } from '@adrestia/pki-core';
import { readBody, requireMediaType } from '../http/body.ts';
import type { RequestContext, Router } from '../http/router.ts';
import { sendBytes } from '../http/respond.ts';
import type { ApiDeps } from './deps.ts';

const OCSP_RESPONSE_TYPE = 'application/ocsp-response';
/** Base64 (RFC 4648 §4, or the URL-safe §5 alphabet some clients send) of at most OCSP_REQUEST_BYTES_MAX bytes. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const BASE64_CHARS_MAX = Math.ceil(OCSP_REQUEST_BYTES_MAX / 3) * 4;

export function addOcspRoutes(router: Router, deps: ApiDeps): void {
  router.get('/ocsp/:request', (ctx) => ocspGet(ctx, deps));
  router.post('/ocsp', (ctx) => ocspPost(ctx, deps));
}

/** The request bytes a GET path names; empty (so: malformedRequest) when it is not base64 of a small request. */
function requestOfPath(text: string): Uint8Array {
  if (text.length > BASE64_CHARS_MAX || !BASE64.test(text)) return new Uint8Array(0);
  return new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

async function ocspGet(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  const answer = await answerCounted(deps, 'GET', requestOfPath(ctx.params['request'] ?? ''));
  if (answer.validity === undefined) {
    sendBytes(ctx.res, 200, OCSP_RESPONSE_TYPE, answer.der, { 'cache-control': 'no-store' });
    return;
  }
  const etag = `"${createHash('sha256').update(answer.der).digest('hex').slice(0, 32)}"`;
  const maxAgeSeconds = Math.max(0, Math.floor((answer.validity.nextUpdateMs - deps.nowMs()) / 1000));
  const headers = {
    // RFC 5019 §6.2: caches may keep the answer until nextUpdate, and must not change it.
    'cache-control': `max-age=${maxAgeSeconds}, public, no-transform, must-revalidate`,
    etag,
    expires: new Date(answer.validity.nextUpdateMs).toUTCString(),
    'last-modified': new Date(answer.validity.producedAtMs).toUTCString(),
  };
  if (ctx.req.headers['if-none-match'] === etag) {
    ctx.res.writeHead(304, headers);
    ctx.res.end();
    return;
  }
  sendBytes(ctx.res, 200, OCSP_RESPONSE_TYPE, answer.der, headers);
}

async function ocspPost(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  requireMediaType(ctx.req, ['application/ocsp-request']);
  const body = await readBody(ctx.req, OCSP_REQUEST_BYTES_MAX);
  const answer = await answerCounted(deps, 'POST', new Uint8Array(body));
  // RFC 5019 §5: POST answers are not cached (a nonce may make each one unique).
  sendBytes(ctx.res, 200, OCSP_RESPONSE_TYPE, answer.der, { 'cache-control': 'no-store' });
}

async function answerCounted(deps: ApiDeps, method: 'GET' | 'POST', requestDer: Uint8Array): Promise<OcspAnswer> {
  const answer = await deps.node.answerOcsp(requestDer);
  deps.metrics.ocspRequestsTotal.inc({ method, outcome: answer.outcome });
  return answer;
}
