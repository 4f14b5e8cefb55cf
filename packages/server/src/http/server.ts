// The HTTP(S) front: limits set explicitly (never Node's defaults by accident), built-in
// health/readiness/metrics routes, typed errors mapped through the errors table, and a graceful
// close that stops accepting and lets in-flight requests finish within a deadline.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { PkiError } from '@adrestia/pki-core';
import { ServerError, toErrorResponse } from '../errors.ts';
import { guardConnections } from './connection-guard.ts';
import { normalizeRemoteAddr } from './remote-addr.ts';
import { sendBytes, sendJson } from './respond.ts';
import type { RequestContext, Router } from './router.ts';
import { expiredClientCertificate, expiredPeerCertificate, verifiedPeerCertificate } from './tls.ts';

export interface HttpLimits {
  /** Default cap for request bodies read through the context. */
  maxBodyBytes: number;
  /** Node's `maxHeaderSize`: total bytes of the request line and headers (431 beyond). */
  maxHeaderBytes: number;
  /** Whole request (headers and body) must arrive within this (408 beyond). */
  requestTimeoutMs: number;
  /** Headers must arrive within this; defends against slow-loris. */
  headersTimeoutMs: number;
  /** Idle keep-alive connections close after this. */
  keepAliveTimeoutMs: number;
  /** A connection with no traffic for this long is closed, also one that never sent a byte. */
  idleTimeoutMs: number;
  /** HTTPS: the TLS handshake must finish within this; the socket is closed otherwise. */
  handshakeTimeoutMs: number;
  /** Open connections on this listener, and per source address. */
  maxConnections: number;
  maxConnectionsPerSource: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxBodyBytes: 64 * 1024,
  maxHeaderBytes: 16 * 1024,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  maxConnections: 1024,
  maxConnectionsPerSource: 64,
};

interface HttpsOptions {
  key: string | Buffer;
  /** Server certificate, followed by its intermediates (PEM). */
  cert: string | Buffer;
  /** CA(s) that client certificates must chain to. */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Ask for a client certificate. The handshake still succeeds without one so public HTTPS
   * routes work; routes declared with `requireClientCert` refuse unverified clients.
   */
  requestClientCert: boolean;
}

export interface HttpServerOptions {
  router: Router;
  logger: Logger;
  limits?: HttpLimits;
  tls?: HttpsOptions;
  metrics?: Metrics;
  /** `/readyz` answers 200 when this returns true, 503 otherwise. Absent: always ready. */
  readiness?: () => boolean | Promise<boolean>;
  /** Serve `/metrics` (needs `metrics`). */
  exposeMetrics?: boolean;
  /** Throws (a typed error, answered as such) unless the request may read `/metrics`. Absent: anyone may. */
  authorizeMetrics?: (req: IncomingMessage) => void;
}

const BUILTIN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export class HttpServer {
  readonly server: Server;
  private readonly options: HttpServerOptions;
  private readonly limits: HttpLimits;
  private closing = false;

  constructor(options: HttpServerOptions) {
    this.options = options;
    this.limits = options.limits ?? DEFAULT_HTTP_LIMITS;
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      void this.dispatch(req, res);
    };
    const base = { maxHeaderSize: this.limits.maxHeaderBytes, requestTimeout: this.limits.requestTimeoutMs };
    if (options.tls === undefined) {
      this.server = createHttpServer(base, listener);
    } else {
      const t = options.tls;
      this.server = createHttpsServer(
        {
          ...base,
          ...httpsContextOf(t),
          requestCert: t.requestClientCert,
          rejectUnauthorized: false,
          handshakeTimeout: this.limits.handshakeTimeoutMs,
        },
        listener,
      );
    }
    this.server.headersTimeout = this.limits.headersTimeoutMs;
    this.server.keepAliveTimeout = this.limits.keepAliveTimeoutMs;
    this.server.requestTimeout = this.limits.requestTimeoutMs;
    guardConnections(this.server, this.limits, (why) => options.metrics?.connectionsRefusedTotal.inc({ listener: options.tls === undefined ? 'http' : 'https', reason: why }));
  }

  /** HTTPS: serves a renewed key and certificate (same CAs) on every handshake from now on. */
  setTls(tls: Omit<HttpsOptions, 'requestClientCert'>): void {
    if (this.options.tls === undefined) throw new TypeError('HttpServer.setTls: this server speaks plain HTTP');
    (this.server as HttpsServer).setSecureContext(httpsContextOf(tls));
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /**
   * Stop accepting, close idle keep-alive connections, let in-flight requests finish; after
   * `deadlineMs` the remaining connections are cut.
   */
  async close(deadlineMs: number): Promise<void> {
    if (!this.server.listening) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), deadlineMs);
    try {
      await closed;
    } finally {
      clearTimeout(timer);
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    let route = 'unmatched';
    // While closing, answers carry `Connection: close` so clients do not reuse the socket.
    if (this.closing) res.setHeader('connection', 'close');
    const startedMs = performance.now();
    // Read now: the socket is detached from the request once the response finishes.
    const remoteAddr = normalizeRemoteAddr(req.socket.remoteAddress);
    res.once('finish', () => {
      this.options.metrics?.httpRequestsTotal.inc({ route, method, status: String(res.statusCode) });
      this.options.logger.debug(
        { method, route, status: res.statusCode, remoteAddr, ms: Math.round(performance.now() - startedMs) },
        'request',
      );
    });
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (BUILTIN_PATHS.has(url.pathname)) route = url.pathname;
      if (await this.maybeBuiltin(method, url.pathname, res)) return;
      const match = this.options.router.match(method, url.pathname);
      if (match.kind === 'none') throw new ServerError('ERR_NOT_FOUND_ROUTE', `no route for ${url.pathname}`);
      if (match.kind === 'method') {
        res.setHeader('allow', match.allowed.join(', '));
        throw new ServerError('ERR_METHOD', `method ${method} not allowed`);
      }
      route = match.route.pattern;
      const ctx: RequestContext = {
        req,
        res,
        method,
        path: url.pathname,
        params: match.params,
        query: url.searchParams,
        remoteAddr,
        route,
        peerCertificate: verifiedPeerCertificate(req),
        expiredPeerCertificate: match.route.options.acceptExpiredClientCert === true ? expiredClientCertificate(req) : null,
        maxBodyBytes: this.limits.maxBodyBytes,
      };
      if (match.route.options.requireClientCert === true && ctx.peerCertificate === null && ctx.expiredPeerCertificate === null) {
        if (expiredPeerCertificate(req)) throw new PkiError('ERR_EXPIRED', 'the client certificate has expired: it authenticates nothing; issue a new one');
        throw new ServerError('ERR_CLIENT_CERT_REQUIRED', 'a verified client certificate is required');
      }
      await match.route.handler(ctx);
    } catch (err) {
      this.sendError(req, res, err);
    }
  }

  private sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const r = toErrorResponse(err);
    if (r.unexpected !== undefined) {
      this.options.logger.error({ err: r.unexpected, method: req.method, url: req.url }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // The unread rest of an oversize body is not drained: close the connection instead.
    const headers: Record<string, string> = r.body.error.code === 'ERR_BODY_TOO_LARGE' ? { connection: 'close' } : {};
    if (r.retryAfterSeconds !== undefined) headers['retry-after'] = String(r.retryAfterSeconds);
    else if (r.status === 503) headers['retry-after'] = '1';
    sendJson(res, r.status, r.body, headers);
  }

  private async maybeBuiltin(method: string, path: string, res: ServerResponse): Promise<boolean> {
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      const ready = this.options.readiness === undefined ? true : await this.options.readiness();
      if (!ready) throw new ServerError('ERR_UNAVAILABLE', 'not ready');
      sendJson(res, 200, { status: 'ready' });
      return true;
    }
    if (path === '/metrics' && this.options.exposeMetrics === true && this.options.metrics !== undefined) {
      this.options.authorizeMetrics?.(res.req);
      const registry = this.options.metrics.registry;
      sendBytes(res, 200, registry.contentType, Buffer.from(await registry.metrics(), 'utf8'));
      return true;
    }
    return false;
  }
}

/** The secure context of an HTTPS listener, at start and after `setTls`. */
function httpsContextOf(t: Omit<HttpsOptions, 'requestClientCert'>): { key: string | Buffer; cert: string | Buffer; ca?: HttpsOptions['ca']; minVersion: 'TLSv1.2' } {
  return { key: t.key, cert: t.cert, ...(t.ca === undefined ? {} : { ca: t.ca }), minVersion: 'TLSv1.2' };
}
