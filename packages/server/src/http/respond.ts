// Response writers. Every JSON answer goes through sendJson so that headers are uniform
// (no sniffing, no caching of API answers).
import type { ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(payload.length),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(payload);
}

export function sendBytes(res: ServerResponse, status: number, contentType: string, body: Uint8Array, headers?: Record<string, string>): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(body.byteLength),
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/**
 * RFC 9110 §15.4.8: 307 keeps the method and body, so a redirected POST stays a POST
 * (a 302 may be turned into GET by clients).
 */
export function sendRedirect(res: ServerResponse, location: string, body: unknown = {}): void {
  sendJson(res, 307, body, { location });
}
