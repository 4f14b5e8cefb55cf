// Caller authentication of HTTPS routes: the admin bearer token (RFC 6750 §2.1) compared in
// constant time. (Client certificates authenticate renewal and node-to-node calls, elsewhere.)
import { createHash, timingSafeEqual } from 'node:crypto';
import { ServerError } from '../errors.ts';
import type { RequestContext } from '../http/router.ts';

// RFC 7235 §2.1: the auth-scheme is case-insensitive; RFC 6750 §2.1: `Bearer 1*SP b64token`.
const BEARER = /^bearer +([\x21-\x7e]{1,4096}) *$/i;

/** Whether the request carries the admin token. Hashing first makes the comparison length-blind. */
function hasAdminToken(ctx: Pick<RequestContext, 'req'>, adminToken: Uint8Array | undefined): boolean {
  if (adminToken === undefined) return false;
  const m = BEARER.exec(ctx.req.headers.authorization ?? '');
  if (m === null || m[1] === undefined) return false;
  const given = createHash('sha256').update(m[1], 'utf8').digest();
  const expected = createHash('sha256').update(adminToken).digest();
  return timingSafeEqual(given, expected);
}

export function requireAdmin(ctx: Pick<RequestContext, 'req'>, adminToken: Uint8Array | undefined): void {
  if ((ctx.req.headers.authorization ?? '').trim() === '') throw new ServerError('ERR_UNAUTHORIZED', 'admin operations need Authorization: Bearer <admin token>');
  if (!hasAdminToken(ctx, adminToken)) throw new ServerError('ERR_FORBIDDEN', 'the admin token is not valid');
}

/**
 * Who may issue: the admin token's holder (an operator or a provisioning service). A certificate
 * of this cluster is no licence to issue others for any name; its holder renews it instead
 * (mTLS on the renewal route). The requester is part of the idempotency key of an issuance.
 */
export function requireIssuer(ctx: RequestContext, adminToken: Uint8Array | undefined): string {
  requireAdmin(ctx, adminToken);
  return 'admin';
}

// RFC 7519 §3.1: a JWS compact serialization, three base64url parts.
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * A provisioner's one-time token (pki-core node/provisioners/token-issuance.ts), when the bearer
 * credential is a JWT and not the admin token; undefined otherwise (the admin path then decides).
 */
export function provisionerToken(ctx: Pick<RequestContext, 'req'>, adminToken: Uint8Array | undefined): string | undefined {
  const m = BEARER.exec(ctx.req.headers.authorization ?? '');
  if (m === null || m[1] === undefined || !COMPACT_JWT.test(m[1]) || hasAdminToken(ctx, adminToken)) return undefined;
  return m[1];
}
