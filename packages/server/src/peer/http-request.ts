// A small HTTP(S) client for node-to-node calls, discovery and the CLI: explicit timeout, bounded
// response size, optional source address (docs/spec.md §4.6: requests route by REMOTE_ADDR, so a
// node must speak from its own address) and optional client certificate. Redirects are never
// followed here: the caller decides (discovery must see the 307 to learn its AZ's local VIP).
import { request as httpRequest, type ClientRequestArgs, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type Agent } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, connect as tlsConnect, TLSSocket, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { failedOnlyOnExpiry } from '../http/tls.ts';
import { DEFAULT_NODE_URI_PREFIX, nodeIdOf } from '../transport/identity.ts';

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
   * HTTPS: the server must also be a node of this cluster: its certificate names a node identity
   * (`urn:adrestia:node:<id>`, which no customer certificate may carry), any node (`true`) or the
   * given node id. The chain (against `ca`) and the host dialled (RFC 6125 §6: DNS name or IP
   * SAN; node certificates name their addresses and the VIPs they may hold) are always checked.
   */
  serverNode?: true | string;
  /** HTTPS: one more check of the server certificate, after the ones above. */
  checkServer?: (cert: X509Certificate) => Error | undefined;
  /**
   * A keep-alive agent whose connections the call may reuse (default: a new connection, closed
   * after the answer). A reused connection's server is checked again (`serverNode`,
   * `checkServer`) before the request is sent: a pin withdrawn since the handshake still refuses.
   */
  agent?: Agent;
  /**
   * HTTPS, without `agent`: a server certificate whose only verification failure is its expiry
   * (http/tls.ts `failedOnlyOnExpiry`) is accepted when, after the host and `serverNode` checks,
   * this returns no error (the peer client: the exact pin, docs/architecture.md §21). The check
   * runs on the handshake's socket before a byte of the request is written.
   */
  acceptExpiredServer?: (cert: X509Certificate) => Error | undefined;
}

export interface HttpCallResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

class HttpCallError extends Error {
  readonly code: 'ERR_HTTP_TIMEOUT' | 'ERR_HTTP_CONNECT' | 'ERR_HTTP_RESPONSE_TOO_LARGE' | 'ERR_HTTP_REDIRECT_REFUSED';
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
        ...(secure && options.acceptExpiredServer !== undefined && options.agent === undefined ? { createConnection: checkedConnection(options) } : { agent: options.agent ?? false }),
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
    if (secure && options.agent !== undefined) req.on('socket', (socket) => recheckReused(req.reusedSocket, socket, target.host, options, req.destroy.bind(req)));
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
  out['checkServerIdentity'] = (host: string, peer: PeerCertificate): Error | undefined => {
    const nameError = checkServerIdentity(host, peer);
    if (nameError !== undefined) return nameError;
    return serverCertError(host, new X509Certificate(peer.raw), o);
  };
  return out;
}

/**
 * A TLS connection (for `acceptExpiredServer`) handed to the request only once its server passed:
 * verified by OpenSSL and the checks of `tlsOptions`, or failing only on expiry and then the
 * host, `serverNode` and `acceptExpiredServer` checks. Anything else ends it unused.
 */
function checkedConnection(o: HttpCallOptions): NonNullable<ClientRequestArgs['createConnection']> {
  return (args, oncreate) => {
    const host = args.host ?? 'localhost';
    const socket = tlsConnect({ ...(args as ConnectionOptions), host, rejectUnauthorized: false });
    socket.setTimeout(o.timeoutMs, () => socket.destroy(new HttpCallError('ERR_HTTP_TIMEOUT', `https://${host}: no TLS handshake within ${o.timeoutMs} ms`)));
    socket.once('error', (err: Error) => oncreate(err, socket));
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      const err = socket.authorized ? undefined : expiredServerError(socket, host, o);
      if (err === undefined) {
        oncreate(null, socket);
        return;
      }
      socket.destroy();
      oncreate(err, socket);
    });
    return undefined;
  };
}

function expiredServerError(socket: TLSSocket, host: string, o: HttpCallOptions): Error | undefined {
  const peer = socket.getPeerCertificate();
  if (peer.raw === undefined) return new Error(`https://${host}: the server presented no certificate`);
  const cert = new X509Certificate(peer.raw);
  // Host and node checks first: with a chain OpenSSL accepted they are what failed, and say why.
  const named = checkServerIdentity(host, peer) ?? serverCertError(host, cert, o);
  if (named !== undefined) return named;
  if (!failedOnlyOnExpiry(socket)) return new Error(`https://${host}: the server certificate does not verify (${String(socket.authorizationError)})`);
  return o.acceptExpiredServer?.(cert);
}

/** The node identity and caller checks of a server certificate (after chain and name). */
function serverCertError(host: string, cert: X509Certificate, o: HttpCallOptions): Error | undefined {
  if (o.serverNode !== undefined) {
    const id = nodeIdOf(cert, DEFAULT_NODE_URI_PREFIX);
    if (id === undefined) return new Error(`the server at ${host} is not a node of this cluster (its certificate names no node identity)`);
    if (o.serverNode !== true && id !== o.serverNode.toLowerCase()) return new Error(`the server at ${host} is node ${id}, not ${o.serverNode}`);
  }
  return o.checkServer?.(cert);
}

/** The server certificate a kept-alive connection showed at its handshake (a reused TLSSocket may no longer expose it). */
const HANDSHAKE_CERT = Symbol('handshakeCert');
type KeptSocket = TLSSocket & { [HANDSHAKE_CERT]?: X509Certificate };

/**
 * A kept-alive connection passed its chain and name checks at its handshake, to the same
 * `host:port` with the same TLS material (the agent pools by both); the node identity and the
 * caller's pin are checked again, as they may have changed since.
 */
function recheckReused(reused: boolean, socket: unknown, host: string, o: HttpCallOptions, refuse: (err: Error) => void): void {
  if (!(socket instanceof TLSSocket)) return;
  const kept = socket as KeptSocket;
  if (!reused) {
    kept.once('secureConnect', () => (kept[HANDSHAKE_CERT] = kept.getPeerX509Certificate()));
    return;
  }
  const cert = kept[HANDSHAKE_CERT];
  const err = cert === undefined ? new Error(`the kept-alive connection to ${host} shows no server certificate`) : serverCertError(host, cert, o);
  if (err !== undefined) refuse(new HttpCallError('ERR_HTTP_CONNECT', `https://${host}: ${err.message}`, err));
}

/**
 * `httpCall`, following 307/308 redirects (method, body and headers kept: RFC 9110 §15.4.8) up
 * to `redirectsMax` times, to the same scheme only, and with credentials (an Authorization
 * header or a client certificate) only over https: anything else is refused
 * (ERR_HTTP_REDIRECT_REFUSED), so credentials never travel in clear. Every hop is
 * verified as the first was (`ca`, the host dialled, `serverNode`), so a redirect can lead only
 * to a server that proves it is what the caller was configured to trust.
 */
export async function httpCallFollowing(url: string, options: HttpCallOptions, redirectsMax: number): Promise<HttpCallResult> {
  let target = new URL(url);
  if (target.protocol !== 'https:' && carriesCredentials(options)) {
    throw new HttpCallError('ERR_HTTP_REDIRECT_REFUSED', `${target.href}: credentials are never sent over plain HTTP`);
  }
  for (let hop = 0; ; hop++) {
    const result = await httpCall(target.href, options);
    const location = result.headers.location;
    if ((result.status !== 307 && result.status !== 308) || location === undefined || hop >= redirectsMax) return result;
    const next = new URL(location, target);
    if (next.protocol !== target.protocol || (next.protocol !== 'https:' && carriesCredentials(options))) {
      throw new HttpCallError('ERR_HTTP_REDIRECT_REFUSED', `${target.href} redirects to ${next.href}: a redirect is followed only to the same scheme, and with credentials only from https to https`);
    }
    target = next;
  }
}

function carriesCredentials(o: HttpCallOptions): boolean {
  const auth = Object.entries(o.headers ?? {}).some(([name]) => name.toLowerCase() === 'authorization');
  return auth || o.cert !== undefined || o.key !== undefined;
}

/** The JSON of a response body, or undefined when it is not JSON. */
export function jsonOf(result: HttpCallResult): unknown {
  try {
    return JSON.parse(result.body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
