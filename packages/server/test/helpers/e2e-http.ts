// A client of a real cluster as the end-to-end tests need it: it speaks from a chosen source
// address (docs/spec.md §4.1: requests route by REMOTE_ADDR), pins the cluster root over HTTPS (a
// VIP is not in any node certificate), carries the admin token, and can follow 307s as a real
// client does.
import type { X509Certificate } from 'node:crypto';
import { DEV_PORTS } from '../../src/dev/layout.ts';
import { httpCall, jsonOf, type HttpCallOptions, type HttpCallResult } from '../../src/peer/http-request.ts';

export interface E2eClientOptions {
  /** Source address: puts the client in an AZ (or in none). */
  from: string;
  rootPem: string;
  adminToken: string;
  timeoutMs?: number;
}

/** RFC 9110 §15.4.8: a 307 keeps method and body; a real client follows a few of them. */
const REDIRECTS_MAX = 3;
const RESPONSE_BYTES_MAX = 4 << 20;

export interface E2eClient {
  readonly from: string;
  /** Plain HTTP GET (public routes), redirects not followed. */
  get(host: string, path: string): Promise<HttpCallResult>;
  /** HTTPS GET with the pinned root, redirects not followed. */
  getSecure(host: string, path: string): Promise<HttpCallResult>;
  /** HTTPS POST of JSON (or raw text) with the admin token, redirects not followed. */
  post(host: string, path: string, body: unknown, headers?: Record<string, string>): Promise<HttpCallResult>;
  /** The same POST, following 307/308 to their Location (same method, body and source address). */
  postFollowing(host: string, path: string, body: unknown): Promise<HttpCallResult>;
}

export function e2eClient(o: E2eClientOptions): E2eClient {
  const timeoutMs = o.timeoutMs ?? 20_000;
  const secure: HttpCallOptions = { timeoutMs, maxResponseBytes: RESPONSE_BYTES_MAX, ca: o.rootPem, serverNode: true, localAddress: o.from };
  const postOptions = (body: unknown, headers: Record<string, string>): HttpCallOptions => ({
    ...secure,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${o.adminToken}`, ...headers },
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  });
  return {
    from: o.from,
    get: (host, path) => httpCall(`http://${host}:${DEV_PORTS.http}${path}`, { timeoutMs: 5_000, maxResponseBytes: RESPONSE_BYTES_MAX, localAddress: o.from }),
    getSecure: (host, path) => httpCall(`https://${host}:${DEV_PORTS.https}${path}`, secure),
    post: (host, path, body, headers = {}) => httpCall(`https://${host}:${DEV_PORTS.https}${path}`, postOptions(body, headers)),
    postFollowing: (host, path, body) => callFollowing(`https://${host}:${DEV_PORTS.https}${path}`, postOptions(body, {})),
  };
}

async function callFollowing(url: string, options: HttpCallOptions): Promise<HttpCallResult> {
  let target = url;
  for (let hop = 0; ; hop++) {
    const r = await httpCall(target, options);
    const location = r.headers.location;
    if ((r.status !== 307 && r.status !== 308) || location === undefined || hop >= REDIRECTS_MAX) return r;
    target = new URL(location, target).toString();
  }
}

/** The `error.code` of a refusal, or null. */
export function errorCodeOf(r: HttpCallResult): string | null {
  const body = jsonOf(r) as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : null;
}

const NODE_URI = /URI:urn:adrestia:node:([0-9a-fA-F-]{36})/;

/**
 * Who holds a VIP, as a client sees it: the node named in the TLS certificate answering there
 * (node certificates carry `urn:adrestia:node:<id>`). Independent of routing and of the roles the
 * holder believes it has; null when nothing listens.
 */
export async function vipHolder(vip: string, from: string, rootPem: string): Promise<string | null> {
  let holder: string | null = null;
  const checkServer = (cert: X509Certificate): undefined => {
    holder = NODE_URI.exec(cert.subjectAltName ?? '')?.[1] ?? null;
    return undefined;
  };
  try {
    await httpCall(`https://${vip}:${DEV_PORTS.https}/api/v1/status`, { timeoutMs: 2_000, maxResponseBytes: RESPONSE_BYTES_MAX, ca: rootPem, checkServer, localAddress: from });
  } catch {
    // Nothing listening (between holders), or the holder died mid-answer: the handshake tells.
  }
  return holder;
}
