// HTTPS admin routes of provisioners (admin bearer token, routed to the global leader like the
// other admin routes, admin-routes.ts): add `PUT /api/v1/provisioners/:name` with body
// `{ publicKey: JWK, policy }`, list `GET /api/v1/provisioners`, remove `DELETE …/:name`. pki-core
// validates every field and names the one at fault; answers follow the global commit.
import type { ProvisionerView } from '@adrestia/pki-core';
import type { RequestContext, Router } from '../http/router.ts';
import { readJson } from '../http/body.ts';
import { sendJson } from '../http/respond.ts';
import { admitted } from './admin-routes.ts';
import type { ApiDeps } from './deps.ts';
import { field } from './inputs.ts';

export function addProvisionerRoutes(router: Router, deps: ApiDeps): Router {
  router.add('PUT', '/api/v1/provisioners/:name', (ctx) => addProvisioner(ctx, deps));
  router.add('GET', '/api/v1/provisioners', (ctx) => listProvisioners(ctx, deps));
  router.add('DELETE', '/api/v1/provisioners/:name', (ctx) => removeProvisioner(ctx, deps));
  return router;
}

async function addProvisioner(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const body = await readJson(ctx.req, ctx.maxBodyBytes);
  const added = await deps.node.addProvisioner({ name: ctx.params['name'], publicKey: field(body, 'publicKey'), policy: field(body, 'policy') }, `admin@${ctx.remoteAddr}`);
  sendJson(ctx.res, 201, viewOf(added));
}

async function listProvisioners(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  sendJson(ctx.res, 200, { provisioners: (await deps.node.listProvisioners()).map(viewOf) });
}

async function removeProvisioner(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const name = ctx.params['name'] ?? '';
  await deps.node.removeProvisioner(name, `admin@${ctx.remoteAddr}`);
  sendJson(ctx.res, 200, { name, removed: true });
}

function viewOf(p: ProvisionerView): object {
  return { name: p.name, publicKey: p.publicKey, policy: p.policy, addedBy: p.addedBy, addedAt: new Date(p.addedAt).toISOString() };
}
