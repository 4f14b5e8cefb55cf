// Every ACME answer carries a fresh Replay-Nonce, Cache-Control: no-store and
// Link: <directory>;rel="index" (RFC 8555 §6.5, §7.1); failures are RFC 7807 problem documents
// with an RFC 8555 §6.7 type. A `badNonce` therefore always brings the nonce to retry with.
import type { ServerResponse } from 'node:http';
import { AcmeProblem, isPkiError, type AcmeNodeApi } from '@adrestia/pki-core';
import { HTTP_STATUS_BY_CODE, ServerError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { AcmeUrls } from './acme-urls.ts';

export interface AcmeAnswer {
  status: number;
  /** JSON body, PEM text, or nothing. */
  body?: unknown;
  contentType?: string;
  location?: string;
  links?: { url: string; rel: string }[];
  retryAfterSeconds?: number;
}

/** PKI errors the client can act on, as ACME problems; anything else is `serverInternal`. */
const PKI_CODE_PROBLEMS: Readonly<Record<string, AcmeProblem['type']>> = {
  ERR_NO_LOCAL_QUORUM: 'serverInternal',
  ERR_NO_GLOBAL_QUORUM: 'serverInternal',
  ERR_NOT_LEADER: 'serverInternal',
  ERR_TIMEOUT: 'serverInternal',
  ERR_NOT_READY: 'serverInternal',
  ERR_SAN_FORBIDDEN: 'rejectedIdentifier',
  ERR_SAN_INVALID: 'rejectedIdentifier',
  ERR_NAME_NOT_ALLOWED: 'rejectedIdentifier',
  ERR_AZ_REMOVING: 'serverInternal',
  ERR_AZ_UNKNOWN: 'unauthorized',
};
const RETRYABLE = new Set(['ERR_NO_LOCAL_QUORUM', 'ERR_NO_GLOBAL_QUORUM', 'ERR_NOT_LEADER', 'ERR_TIMEOUT', 'ERR_NOT_READY']);

export function problemOf(err: unknown, logger: Logger): AcmeProblem {
  if (err instanceof AcmeProblem) return err;
  // The HTTP layer's refusals (body too large, the client went away): the request was malformed.
  if (err instanceof ServerError) return new AcmeProblem('malformed', err.message, { status: HTTP_STATUS_BY_CODE[err.code] });
  if (isPkiError(err) && Object.hasOwn(PKI_CODE_PROBLEMS, err.code)) {
    const retry = RETRYABLE.has(err.code);
    return new AcmeProblem(PKI_CODE_PROBLEMS[err.code]!, retry ? `${err.message} (the cluster is electing or catching up; retry)` : err.message, retry ? { status: 503, retryAfterSeconds: 1 } : {});
  }
  logger.error({ err }, 'ACME request failed');
  return new AcmeProblem('serverInternal', 'the server failed to answer this request; the cause is logged');
}

export function sendAcme(res: ServerResponse, node: Pick<AcmeNodeApi, 'newNonce'>, urls: AcmeUrls, answer: AcmeAnswer): void {
  const links = [{ url: urls.directory(), rel: 'index' }, ...(answer.links ?? [])];
  const headers: Record<string, string | string[]> = {
    'replay-nonce': node.newNonce(),
    'cache-control': 'no-store',
    link: links.map((l) => `<${l.url}>;rel="${l.rel}"`),
    'x-content-type-options': 'nosniff',
  };
  if (answer.location !== undefined) headers['location'] = answer.location;
  if (answer.retryAfterSeconds !== undefined) headers['retry-after'] = String(answer.retryAfterSeconds);
  if (answer.body === undefined) {
    res.writeHead(answer.status, headers);
    res.end();
    return;
  }
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  const payload = Buffer.from(text, 'utf8');
  headers['content-type'] = answer.contentType ?? 'application/json';
  headers['content-length'] = String(payload.length);
  res.writeHead(answer.status, headers);
  res.end(payload);
}

export function problemAnswer(p: AcmeProblem): AcmeAnswer {
  return {
    status: p.status,
    contentType: 'application/problem+json',
    body: {
      type: `urn:ietf:params:acme:error:${p.type}`,
      detail: p.detail,
      status: p.status,
      ...(p.options.subproblems === undefined ? {} : { subproblems: p.options.subproblems.map((s) => ({ ...s, type: `urn:ietf:params:acme:error:${s.type}` })) }),
      ...(p.type === 'badSignatureAlgorithm' ? { algorithms: ['RS256', 'ES256', 'ES384', 'EdDSA'] } : {}),
    },
    ...(p.options.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: p.options.retryAfterSeconds }),
  };
}
