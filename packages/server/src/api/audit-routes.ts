// `GET /api/v1/audit?log=<global|AZ>&since=<position>&limit=<n>` (admin token, HTTPS): this
// node's history of one log (pki-core node/audit/audit-history.ts, docs/architecture.md §18),
// answered by whichever node is asked — a history is each node's own record, so it is not routed.
// Each entry carries its position, the chain hashes before and after it, the command's bytes as
// the log committed them (base64) and a decoded summary; `adrestia-pki audit verify` recomputes
// the chain from the bytes and checks the signed checkpoints among them.
import { AUDIT_PAGE_ENTRIES_MAX, PkiError, auditEventSummary, type AuditPage } from '@adrestia/pki-core';
import type { RequestContext, Router } from '../http/router.ts';
import { sendJson } from '../http/respond.ts';
import { requireAdmin } from './auth.ts';
import type { ApiDeps } from './deps.ts';

const DEFAULT_PAGE_ENTRIES = 100;
const POSITION = /^\d{1,15}$/;

export function addAuditRoutes(router: Router, deps: ApiDeps): Router {
  router.get('/api/v1/audit', (ctx) => auditPage(ctx, deps));
  return router;
}

async function auditPage(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  requireAdmin(ctx, deps.adminToken);
  const log = ctx.query.get('log');
  if (log === null || log === '') throw new PkiError('ERR_INPUT_INVALID', "log: 'global' or an AZ name", { field: 'log' });
  const since = wholeParam(ctx, 'since', 0, Number.MAX_SAFE_INTEGER, 'a position, 0 or more');
  const limit = wholeParam(ctx, 'limit', 1, AUDIT_PAGE_ENTRIES_MAX, `1..${AUDIT_PAGE_ENTRIES_MAX} entries`) ?? DEFAULT_PAGE_ENTRIES;
  const page = await deps.node.auditHistory(log, since ?? 0, limit);
  sendJson(ctx.res, 200, pageJson(page), { 'cache-control': 'no-store' });
}

function wholeParam(ctx: RequestContext, name: string, min: number, max: number, what: string): number | undefined {
  const text = ctx.query.get(name);
  if (text === null) return undefined;
  const value = POSITION.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) throw new PkiError('ERR_INPUT_INVALID', `${name}: ${what}`, { field: name });
  return value;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function pageJson(page: AuditPage): object {
  return {
    log: page.log,
    tier: page.tier,
    az: page.az,
    head: { position: page.head.position, hash: hex(page.head.head) },
    firstHeldPosition: page.firstHeldPosition,
    checkpoint: page.checkpoint,
    entries: page.entries.map((e) => ({ position: e.position, seq: e.seq, prev: hex(e.prev), hash: hex(e.hash), bytes: Buffer.from(e.bytes).toString('base64'), ...auditEventSummary(e.bytes) })),
    next: page.next,
  };
}
