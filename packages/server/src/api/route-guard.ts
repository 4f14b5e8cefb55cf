// Applies docs/spec.md §4 routing (pki-core cluster/routing.ts `decideRoute`) to one request:
// answer here, 307 to the client's AZ local VIP (or the global VIP), or a typed refusal.
//
// A `forward` decision is answered here: the node signs with its own node ICA and its
// EventProposer already forwards the resulting event to the AZ's local leader (or, through the
// seat, to the global log) over the peer client, and a certificate is returned only after its
// event committed. Forwarding the HTTP request itself would add a hop and nothing else.
import { PkiError } from '@adrestia/pki-core';
import { decideRoute, parseRoutingTable, type KnownLeaders, type RequestClass, type RouteContext } from '@adrestia/pki-core/cluster';
import type { RequestContext } from '../http/router.ts';
import { sendRedirect } from '../http/respond.ts';
import type { ApiDeps } from './deps.ts';

/** A stand-in leader id for "some node leads there": routing needs only whether one is known. */
const ELSEWHERE = 'elsewhere';

/**
 * The routing context from the replicated state (AZs and registered nodes, as applied here:
 * PkiNodeApi.listAzs says why no read barrier) and the node's roles; null before the node holds
 * its AZ. Read from the state itself rather than the derived cluster map, so routing depends on
 * nothing but committed events.
 */
async function routeContextOf(deps: ApiDeps): Promise<RouteContext | null> {
  const [azs, nodes] = await Promise.all([deps.node.listAzs(), deps.node.listNodes()]);
  const status = deps.node.status();
  if (!azs.some((az) => az.name === status.az)) return null;
  const hasNodes = (az: string): boolean => nodes.some((n) => n.az === az);
  const localLeaders: Record<string, string> = {};
  for (const az of azs) {
    if (az.name === status.az) {
      if (status.local.leaderId !== null) localLeaders[az.name] = status.local.leaderId;
    } else if (hasNodes(az.name)) {
      // Another AZ's local leader is not visible from here; its VIP is held while one leads, and a
      // client sent to an unheld VIP retries until its AZ elects one (docs/spec.md §4.3).
      localLeaders[az.name] = ELSEWHERE;
    }
  }
  const leaders: KnownLeaders = {
    globalLeader: status.pkiGlobalLeader ? status.nodeId : ELSEWHERE,
    localLeaders,
  };
  return {
    table: parseRoutingTable({
      globalVip: deps.globalVip,
      azs: azs.map((az) => ({ name: az.name, subnets: az.subnets, localVip: az.localVip, founded: hasNodes(az.name) || az.name === status.az })),
    }),
    receiver: { nodeId: status.nodeId, az: status.az, isGlobalLeader: status.pkiGlobalLeader, isLocalLeader: status.pkiLocalLeader },
    leaders,
  };
}

export type Routed = { kind: 'answer' } | { kind: 'forward'; to: string } | { kind: 'done' };

/**
 * Routes the request; on a redirect the response is sent and `done` returned. Refusals throw
 * typed errors (503 + Retry-After for retryable ones, through the errors table).
 */
export async function routeRequest(ctx: RequestContext, deps: ApiDeps, requestClass: RequestClass): Promise<Routed> {
  const context = await routeContextOf(deps);
  if (context === null) throw new PkiError('ERR_NO_LOCAL_QUORUM', 'this node does not hold its AZ yet; retry');
  // A discovering node names its own AZ (GET /api/v1/status?az=NAME): routing rule 6.
  const claimedAz = requestClass === 'status' ? ctx.query.get('az') : null;
  const decision = decideRoute({ clientAddress: ctx.remoteAddr, requestClass, ...(claimedAz === null ? {} : { claimedAz }) }, context);
  switch (decision.kind) {
    case 'answer':
      return { kind: 'answer' };
    case 'forward':
      return { kind: 'forward', to: decision.to };
    case 'redirect':
      sendRedirect(ctx.res, redirectUrl(ctx, deps, decision.location), { redirect: decision.location, az: decision.az });
      return { kind: 'done' };
    case 'refuse':
      throw new PkiError(decision.code, decision.reason);
  }
}

function redirectUrl(ctx: RequestContext, deps: ApiDeps, vip: string): string {
  const secure = 'encrypted' in ctx.req.socket && ctx.req.socket.encrypted === true;
  const port = secure ? deps.ports.https : deps.ports.http;
  const host = vip.includes(':') ? `[${vip}]` : vip;
  const search = ctx.query.toString();
  return `${secure ? 'https' : 'http'}://${host}:${port}${ctx.path}${search === '' ? '' : `?${search}`}`;
}
