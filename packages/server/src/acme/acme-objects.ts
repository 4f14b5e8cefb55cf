// The JSON of ACME resources (RFC 8555 §7.1.2 account, §7.1.3 order, §7.1.4 authorization,
// §8 challenge) from the node's records.
import type { AcmeAccountRecord, AcmeAuthzView, AcmeIdentifier, AcmeOrderView, AcmeProblemData } from '@adrestia/pki-core';
import { isoSeconds as iso, type AcmeUrls } from './acme-urls.ts';


function problemJson(p: AcmeProblemData): { type: string; detail: string } {
  return { type: `urn:ietf:params:acme:error:${p.type}`, detail: p.detail };
}

export function accountJson(a: AcmeAccountRecord, urls: AcmeUrls): Record<string, unknown> {
  return { status: a.status, contact: a.contact, orders: urls.accountOrders(a.accountId) };
}

export function orderJson(o: AcmeOrderView, urls: AcmeUrls): Record<string, unknown> {
  return {
    status: o.status,
    expires: iso(o.expiresAt),
    identifiers: o.identifiers.map((i: AcmeIdentifier) => ({ type: i.type, value: i.value })),
    authorizations: o.authzIds.map((id) => urls.authz(id)),
    finalize: urls.finalize(o.orderId),
    ...(o.certificate === null ? {} : { certificate: urls.certificate(o.orderId) }),
    ...(o.error === null ? {} : { error: problemJson(o.error) }),
    ...(o.replaces === null ? {} : { replaces: o.replaces }),
  };
}

export function challengeJson(a: AcmeAuthzView, c: AcmeAuthzView['challenges'][number], urls: AcmeUrls, processing = false): Record<string, unknown> {
  return {
    type: c.type,
    url: urls.challenge(a.authzId, c.type),
    token: c.token,
    status: processing && c.status === 'pending' ? 'processing' : c.status,
    ...(c.validatedAt === null ? {} : { validated: iso(c.validatedAt) }),
    ...(c.error === null ? {} : { error: problemJson(c.error) }),
  };
}

export function authzJson(a: AcmeAuthzView, urls: AcmeUrls): Record<string, unknown> {
  return {
    identifier: { type: a.identifier.type, value: a.identifier.value },
    status: a.status,
    expires: iso(a.expiresAt),
    challenges: a.challenges.map((c) => challengeJson(a, c, urls)),
    ...(a.wildcard ? { wildcard: true } : {}),
  };
}
