// A small HTTP(S) client for node-to-node calls, discovery and the CLI: explicit timeout, bounded
// response size, optional source address (000_… routes by REMOTE_ADDR, so a node must speak from
// its own address) and optional client certificate. Redirects are never followed here: the
// caller decides (discovery must see the 307 to learn its AZ's local VIP).
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

export interface HttpCallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: Uint8Array;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Source address of the connection. */
  localAddress?: string;
  /** HTTPS: the CA(s) the server must chain to (the cluster root). */
  ca?: string | Buffer;
  /** HTTPS: our client certificate chain and key (mTLS). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /**
   * HTTPS: accept a server certificate for another host name. Nodes answer on VIPs that are not
   * in their certificates (a VIP moves between nodes); trust then rests on the pinned cluster
   * root, and `checkServer` may add a check of its own (e.g. "names a node of this cluster").
   */
  anyServerName?: boolean;
  checkServer?: (cert: X509Certificate) => Error | undefined;
}

export interface HttpCallResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class HttpCallError extends Error {
  readonly code: 'ERR_HTTP_TIMEOUT' | 'ERR_HTTP_CONNECT' | 'ERR_HTTP_RESPONSE_TOO_LARGE';
  constructor(code: HttpCallError['code'], message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'HttpCallError';
    this.code = code;
  }
}

export function httpCall(url: string, options: HttpCallOptions): Promise<HttpCallResult> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const body = options.body;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: { ...options.headers, ...(body === undefined ? {} : { 'content-length': String(body.byteLength) }) },
        timeout: options.timeoutMs,
        agent: false,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        ...(secure ? tlsOptions(options) : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > options.maxResponseBytes) {
            req.destroy(new HttpCallError('ERR_HTTP_RESPONSE_TOO_LARGE', `response exceeds ${options.maxResponseBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, total) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new HttpCallError('ERR_HTTP_TIMEOUT', `${url}: no answer within ${options.timeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof HttpCallError ? err : new HttpCallError('ERR_HTTP_CONNECT', `${url}: ${err.message}`, err)));
    req.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
}

function tlsOptions(o: HttpCallOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { minVersion: 'TLSv1.2' };
  if (o.ca !== undefined) out['ca'] = o.ca;
  if (o.cert !== undefined) out['cert'] = o.cert;
  if (o.key !== undefined) out['key'] = o.key;
  if (o.anyServerName === true || o.checkServer !== undefined) {
    out['checkServerIdentity'] = (_host: string, peer: PeerCertificate): Error | undefined => {
      if (o.checkServer === undefined) return undefined;
      return o.checkServer(new X509Certificate(peer.raw));
    };
  }
  return out;
}

/** The JSON of a response body, or undefined when it is not JSON. */
export function jsonOf(result: HttpCallResult): unknown {
  try {
    return JSON.parse(result.body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
