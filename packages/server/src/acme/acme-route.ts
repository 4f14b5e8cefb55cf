// One ACME endpoint: its handler's answer, or the problem it raised, sent with the headers every
// ACME answer carries (acme-http.ts).
import type { RequestContext } from '../http/router.ts';
import type { AcmeDeps } from './acme-deps.ts';
import { problemAnswer, problemOf, sendAcme, type AcmeAnswer } from './acme-http.ts';
import { AcmeUrls } from './acme-urls.ts';

export type AcmeHandler = (ctx: RequestContext, urls: AcmeUrls) => Promise<AcmeAnswer | null>;

/** Runs an ACME handler: its answer or its problem, with the headers every ACME answer carries. */
export function acmeRoute(deps: AcmeDeps, handler: AcmeHandler): (ctx: RequestContext) => Promise<void> {
  return async (ctx) => {
    const urls = AcmeUrls.of(ctx, deps.prefix);
    let answer: AcmeAnswer | null;
    let problem = 'none';
    try {
      answer = await handler(ctx, urls);
    } catch (e) {
      const p = problemOf(e, deps.api.logger);
      problem = p.type;
      answer = problemAnswer(p);
    }
    // A null answer was sent by the handler itself (a redirect to the client's own AZ).
    deps.api.metrics.acmeResponsesTotal.inc({ status: String(answer?.status ?? ctx.res.statusCode), problem });
    if (answer !== null) sendAcme(ctx.res, deps.api.node.acme, urls, answer);
  };
}

