// The dashboard's routes on both listeners: the page and its two small modules (assets/, served
// from the node itself: no CDN), the live stream of the cluster view, and this node's report that
// every other node's dashboard gathers. All of it is public; the admin part of the stream (recent
// revocations with who asked) needs the admin token, and only over HTTPS, where it is not sent in
// the clear.
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { PkiNodeApi } from '@adrestia/pki-core';
import { requireAdmin } from '../api/auth.ts';
import { ServerError } from '../errors.ts';
import { sendBytes, sendJson } from '../http/respond.ts';
import type { RequestContext, Router } from '../http/router.ts';
import type { DashboardCollector } from './collector.ts';
import { EventStream } from './event-stream.ts';
import type { NodeReport } from './node-report.ts';

/** Revocations the admin part of the stream lists. */
const RECENT_REVOCATIONS_MAX = 20;
/** The page's reconnection delay after a lost stream (SSE `retry:`). */
const STREAM_RETRY_MS = 1_000;

export interface DashboardDeps {
  collector: Pick<DashboardCollector, 'watch'>;
  ownReport: () => Promise<NodeReport>;
  node: Pick<PkiNodeApi, 'recentRevocations'>;
  adminToken: Uint8Array | undefined;
}

interface Asset {
  type: string;
  body: Buffer;
}

// The page allows nothing but its own modules: no inline script, no other origin.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'cache-control': 'no-cache',
  'referrer-policy': 'no-referrer',
};

function loadAssets(): Map<string, Asset> {
  const file = (name: string): Buffer => readFileSync(new URL(`./assets/${name}`, import.meta.url));
  return new Map([
    ['/dashboard', { type: 'text/html; charset=utf-8', body: file('index.html') }],
    ['/dashboard/app.js', { type: 'text/javascript; charset=utf-8', body: file('app.js') }],
    ['/dashboard/view.js', { type: 'text/javascript; charset=utf-8', body: file('view.js') }],
    ['/dashboard/style.css', { type: 'text/css; charset=utf-8', body: file('style.css') }],
  ]);
}

export function addDashboardRoutes(router: Router, deps: DashboardDeps): Router {
  const assets = loadAssets();
  for (const [path, asset] of assets) router.get(path, (ctx) => sendBytes(ctx.res, 200, asset.type, asset.body, PAGE_HEADERS));
  router.get('/dashboard/events', (ctx) => stream(ctx, deps));
  router.get('/api/v1/nodeReport', async (ctx) => sendJson(ctx.res, 200, await deps.ownReport()));
  return router;
}

/** Views as the collector makes them; with the admin token (HTTPS only), the recent revocations too. */
function stream(ctx: RequestContext, deps: DashboardDeps): void {
  const admin = (ctx.req.headers.authorization ?? '').trim() !== '';
  if (admin) {
    if ((ctx.req.socket as Partial<TLSSocket>).encrypted !== true) throw new ServerError('ERR_FORBIDDEN', 'the admin token is accepted over HTTPS only: open the dashboard on the HTTPS port');
    requireAdmin(ctx, deps.adminToken);
  }
  const events = new EventStream(ctx.res, STREAM_RETRY_MS);
  const unwatch = deps.collector.watch({
    view: (view) => {
      events.send('cluster', view);
      if (admin) void deps.node.recentRevocations(RECENT_REVOCATIONS_MAX).then((list) => events.send('admin', { revocations: list }), () => undefined);
    },
    end: () => events.end(),
  });
  events.onClose(unwatch);
}
