// HTTPS admin routes (admin bearer token, routed to the global leader like revocations): withdraw
// a node, declare, decommission or re-found an AZ, set or remove a certificate profile, mint a join token;
// and the cluster backup, which any node answers.
// Each answer is sent after the change committed globally (PkiNodeApi admin methods).
import { PkiError } from '@adrestia/pki-core';
import { AZ_NAME } from '@adrestia/pki-core/cluster';
import { JOIN_TOKEN_TTL_SECONDS_MAX } from '@adrestia/pki-core/registration';
import { ServerError } from '../errors.ts';
import { readJson } from '../http/body.ts';
import type { RequestContext, Router } from '../http/router.ts';
import { sendBytes, sendJson } from '../http/respond.ts';
import { requireAdmin } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import { field, NODE_ID, optionalField, param } from './inputs.ts';
import { routeRequest } from './route-guard.ts';

// pki-core state ids: 1..128 printable ASCII characters (state/fields.ts checkId).
const PROFILE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const DEFAULT_JOIN_TOKEN_TTL_SECONDS = 3600;
const BACKUP_MEDIA_TYPE = 'application/octet-stream';

export function addAdminRoutes(router: Router, deps: ApiDeps): Router {
  router.add('DELETE', '/api/v1/nodes/:id', (ctx) => removeNode(ctx, deps));
  router.add('PUT', '/api/v1/azs/:name', (ctx) => addAz(ctx, deps));
  router.add('DELETE', '/api/v1/azs/:name', (ctx) => removeAz(ctx, deps));
  router.post('/api/v1/azs/:name/refound', (ctx) => refoundAz(ctx, deps));
  router.add('PUT', '/api/v1/profiles/:name', (ctx) => setProfile(ctx, deps));
  router.add('POST', '/api/v1/acme/eab-keys', (ctx) => createEabKey(ctx, deps));
  router.add('DELETE', '/api/v1/profiles/:name', (ctx) => removeProfile(ctx, deps));
  router.post('/api/v1/join-tokens', (ctx) => issueJoinToken(ctx, deps));
  router.get('/api/v1/backup', (ctx) => backup(ctx, deps));
  return router;
}

/** Authenticates first (401/403 before anything else), then routes to the global leader. */
export async function admitted(ctx: RequestContext, deps: ApiDeps): Promise<boolean> {
  requireAdmin(ctx, deps.adminToken);
  return (await routeRequest(ctx, deps, 'admin')).kind !== 'done';
}

async function removeNode(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const nodeId = param(ctx, 'id', NODE_ID, 'a node id');
  const removed = await deps.node.removeNode(nodeId, `admin@${ctx.remoteAddr}`);
  sendJson(ctx.res, 200, removed);
}

/**
 * Body `{ subnets: [CIDR…], localVip }`: the AZ is declared ahead of its nodes (201; 200 when the
 * same declaration is already there, so a retried PUT is harmless); its first node, configured
 * with the same subnets and VIP, founds it. Errors name the field.
 */
async function addAz(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const name = param(ctx, 'name', AZ_NAME, 'an AZ name');
  const body = await readJson(ctx.req, ctx.maxBodyBytes);
  // checkAzSpec (pki-core) checks the types of both fields and names the one at fault.
  const { az, created } = await deps.node.addAz({ name, subnets: field(body, 'subnets') as string[], localVip: field(body, 'localVip') as string }, `admin@${ctx.remoteAddr}`);
  sendJson(ctx.res, created ? 201 : 200, { name: az.name, subnets: az.subnets, localVip: az.localVip, phase: az.phase });
}

/** Decommissions the AZ (pki-core node/admin/az-admin.ts); a retried request completes a partial run. */
async function removeAz(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const name = param(ctx, 'name', AZ_NAME, 'an AZ name');
  sendJson(ctx.res, 200, await deps.node.removeAz(name, `admin@${ctx.remoteAddr}`));
}

/**
 * Body `{ force?: boolean }`: re-founds an AZ whose nodes are all gone (pki-core
 * node/admin/az-refound.ts); ERR_AZ_LIVE while it still answers, unless `force`. A retried
 * request after success answers `refounded: false`.
 */
async function refoundAz(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const name = param(ctx, 'name', AZ_NAME, 'an AZ name');
  const force = optionalField(await readJson(ctx.req, ctx.maxBodyBytes), 'force') ?? false;
  if (typeof force !== 'boolean') throw new PkiError('ERR_INPUT_INVALID', 'force: true or false', { field: 'force' });
  sendJson(ctx.res, 200, await deps.node.refoundAz({ name, force, requestedBy: `admin@${ctx.remoteAddr}` }));
}

/** Body: the profile as JSON (pki-core `CertificateProfile`, `name` equal to the path's). */
async function setProfile(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const name = param(ctx, 'name', PROFILE_NAME, 'a profile name');
  await deps.node.setProfile(name, await readJson(ctx.req, ctx.maxBodyBytes));
  sendJson(ctx.res, 200, { name });
}

/** RFC 8555 §7.3.4: a new external account binding key; its HMAC key is answered once and never logged. */
async function createEabKey(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const { keyId, hmacKey } = await deps.node.acme.createEabKey();
  sendJson(ctx.res, 201, { keyId, hmacKey: Buffer.from(hmacKey).toString('base64url') });
}

async function removeProfile(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const name = param(ctx, 'name', PROFILE_NAME, 'a profile name');
  await deps.node.removeProfile(name);
  sendJson(ctx.res, 200, { name, removed: true });
}

/** Body `{ az, ttlSeconds?, nodeId? }`; the token is returned once and never stored or logged. */
async function issueJoinToken(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  if (deps.joinTokenKey === undefined) throw new ServerError('ERR_FORBIDDEN', 'this node has no joinTokenKey configured: it mints no join tokens');
  const body = await readJson(ctx.req, ctx.maxBodyBytes);
  const az = field(body, 'az');
  if (typeof az !== 'string' || !AZ_NAME.test(az)) throw new PkiError('ERR_INPUT_INVALID', 'az: an AZ name', { field: 'az' });
  const ttl = optionalField(body, 'ttlSeconds') ?? DEFAULT_JOIN_TOKEN_TTL_SECONDS;
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > JOIN_TOKEN_TTL_SECONDS_MAX) {
    throw new PkiError('ERR_INPUT_INVALID', `ttlSeconds: 1..${JOIN_TOKEN_TTL_SECONDS_MAX}`, { field: 'ttlSeconds' });
  }
  const nodeId = optionalField(body, 'nodeId');
  if (nodeId !== undefined && (typeof nodeId !== 'string' || !NODE_ID.test(nodeId))) throw new PkiError('ERR_INPUT_INVALID', 'nodeId: a node id', { field: 'nodeId' });
  const issued = await deps.node.issueJoinToken({ az, ttlSeconds: ttl, ...(nodeId === undefined ? {} : { nodeId }) }, deps.joinTokenKey);
  sendJson(ctx.res, 201, { token: issued.token, tokenId: issued.tokenId, az: issued.az, expiresAt: new Date(issued.expiresAt).toISOString() });
}

/**
 * The cluster backup file (pki-core node/admin/backup-file.ts), answered by whichever node is
 * asked: it reads its own AZ and asks every other AZ, each at a linearizable point there.
 */
async function backup(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  requireAdmin(ctx, deps.adminToken);
  sendBytes(ctx.res, 200, BACKUP_MEDIA_TYPE, await deps.node.backup(), { 'cache-control': 'no-store' });
}

