// Method + path routing with `:name` parameters. Patterns are split into segments once; a
// request is matched segment by segment, so there is no regular expression built from input.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { X509Certificate } from 'node:crypto';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** The path without query, percent-decoded per segment. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The client's IP (REMOTE_ADDR, docs/spec.md §4.1), IPv4-mapped IPv6 normalized to IPv4. */
  remoteAddr: string;
  /** The route pattern that matched (bounded-cardinality label for metrics). */
  route: string;
  /** The client certificate when the TLS layer verified it against the CA, else null. */
  peerCertificate: X509Certificate | null;
  /**
   * On a route declared `acceptExpiredClientCert`: the client certificate whose only verification
   * failure is its expiry (http/tls.ts `failedOnlyOnExpiry`), which the route must pin; else null.
   */
  expiredPeerCertificate: X509Certificate | null;
  /** The server's body cap, for readJson/readDerOrPem (a route may pass a smaller one). */
  maxBodyBytes: number;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export interface RouteOptions {
  /** Refuse the request with 401 unless a client certificate was presented and verified. */
  requireClientCert?: boolean;
  /**
   * With `requireClientCert`: a client certificate that failed verification only because it
   * expired reaches the handler as `expiredPeerCertificate` instead of a refusal. For the peer
   * endpoint only, which admits it on its exact pin (docs/architecture.md §21).
   */
  acceptExpiredClientCert?: boolean;
}

interface Route {
  method: HttpMethod;
  pattern: string;
  segments: string[];
  handler: Handler;
  options: RouteOptions;
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method'; allowed: HttpMethod[] }
  | { kind: 'none' };

export class Router {
  private readonly routes: Route[] = [];

  add(method: HttpMethod, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    if (!pattern.startsWith('/')) throw new TypeError(`route pattern must start with '/': ${pattern}`);
    const segments = splitPath(pattern);
    if (this.routes.some((r) => r.method === method && r.pattern === pattern)) {
      throw new TypeError(`duplicate route ${method} ${pattern}`);
    }
    this.routes.push({ method, pattern, segments, handler, options });
    return this;
  }

  get(pattern: string, handler: Handler, options?: RouteOptions): this {
    return this.add('GET', pattern, handler, options);
  }

  post(pattern: string, handler: Handler, options?: RouteOptions): this {
    return this.add('POST', pattern, handler, options);
  }

  /** HEAD falls back to GET (RFC 9110 §9.3.2); the server drops the body. */
  match(method: string, path: string): RouteMatch {
    const segments = splitPath(path);
    const allowed: HttpMethod[] = [];
    let fallback: { route: Route; params: Record<string, string> } | undefined;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (params === undefined) continue;
      if (route.method === method) return { kind: 'found', route, params };
      if (method === 'HEAD' && route.method === 'GET') fallback = { route, params };
      allowed.push(route.method);
    }
    if (fallback !== undefined) return { kind: 'found', ...fallback };
    return allowed.length > 0 ? { kind: 'method', allowed } : { kind: 'none' };
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const a = actual[i] as string;
    if (p.startsWith(':')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(a);
      } catch {
        return undefined;
      }
      params[p.slice(1)] = decoded;
    } else if (p !== a) {
      return undefined;
    }
  }
  return params;
}
