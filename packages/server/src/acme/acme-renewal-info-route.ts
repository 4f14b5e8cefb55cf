// RFC 9773 renewalInfo: an unauthenticated GET of `<renewalInfo>/<AKI>.<serial>` answering the
// window in which to renew (node/acme/acme-renewal-info.ts), with Retry-After saying when to
// ask again (§4.3). Leaves are local to their AZ (docs/architecture.md §15.1): a certificate of
// another AZ is not found here.
import type { RequestContext, Router } from '../http/router.ts';
import type { AcmeDeps } from './acme-deps.ts';
import type { AcmeAnswer } from './acme-http.ts';
import { acmeRoute } from './acme-route.ts';
import { isoSeconds } from './acme-urls.ts';

/** RFC 9773 §4.3 suggests checking again after about six hours. */
const RENEWAL_INFO_RETRY_AFTER_SECONDS = 6 * 3600;

export function addAcmeRenewalInfoRoute(router: Router, deps: AcmeDeps): Router {
  router.get(`${deps.prefix}/renewal-info/:id`, acmeRoute(deps, (ctx) => renewalInfo(ctx, deps)));
  return router;
}

async function renewalInfo(ctx: RequestContext, deps: AcmeDeps): Promise<AcmeAnswer> {
  const window = await deps.api.node.acme.renewalInfo(ctx.params['id']!);
  return {
    status: 200,
    body: { suggestedWindow: { start: isoSeconds(window.startMs), end: isoSeconds(window.endMs) } },
    retryAfterSeconds: RENEWAL_INFO_RETRY_AFTER_SECONDS,
  };
}
