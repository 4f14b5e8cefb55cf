// The URLs of ACME resources, absolute on the origin the client used (RFC 8555 §7.1: the
// directory's URLs; §6.4: a request's JWS `url` must equal the URL it was sent to).
import type { RequestContext } from '../http/router.ts';

export const ACME_PREFIX = '/acme';

/** RFC 3339 time without fractions, as ACME objects carry it (RFC 8555 §7.1). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class AcmeUrls {
  constructor(
    readonly origin: string,
    /** `/acme`, or `/acme/<directory>` for a directory of `acme.directories`. */
    private readonly prefix: string = ACME_PREFIX,
  ) {}

  /** `https://<Host header>` of the request (the TLS listener; the host and port the client dialled). */
  static of(ctx: RequestContext, prefix: string): AcmeUrls {
    return new AcmeUrls(`https://${ctx.req.headers.host ?? 'localhost'}`, prefix);
  }

  /** The URL this request was sent to, as the client's JWS must name it. */
  requestUrl(ctx: RequestContext): string {
    return this.origin + (ctx.req.url ?? ctx.path);
  }

  directory(): string {
    return `${this.origin}${this.prefix}/directory`;
  }
  newNonce(): string {
    return `${this.origin}${this.prefix}/new-nonce`;
  }
  newAccount(): string {
    return `${this.origin}${this.prefix}/new-account`;
  }
  newOrder(): string {
    return `${this.origin}${this.prefix}/new-order`;
  }
  revokeCert(): string {
    return `${this.origin}${this.prefix}/revoke-cert`;
  }
  keyChange(): string {
    return `${this.origin}${this.prefix}/key-change`;
  }
  renewalInfo(): string {
    return `${this.origin}${this.prefix}/renewal-info`;
  }
  account(accountId: string): string {
    return `${this.origin}${this.prefix}/acct/${accountId}`;
  }
  accountOrders(accountId: string): string {
    return `${this.account(accountId)}/orders`;
  }
  order(orderId: string): string {
    return `${this.origin}${this.prefix}/order/${orderId}`;
  }
  finalize(orderId: string): string {
    return `${this.order(orderId)}/finalize`;
  }
  certificate(orderId: string): string {
    return `${this.origin}${this.prefix}/cert/${orderId}`;
  }
  authz(authzId: string): string {
    return `${this.origin}${this.prefix}/authz/${authzId}`;
  }
  challenge(authzId: string, type: string): string {
    return `${this.origin}${this.prefix}/chall/${authzId}/${type}`;
  }

  /** The account id a `kid` names: an account URL of this server, on any of its origins (VIP or node). */
  static accountIdOfKid(kid: string): string | null {
    let url: URL;
    try {
      url = new URL(kid);
    } catch {
      return null;
    }
    // Accounts are global: an account URL of any directory names the same account.
    const m = /^\/acme\/(?:[a-z][a-z0-9-]{0,31}\/)?acct\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
    return url.protocol === 'https:' && m !== null ? m[1]! : null;
  }
}
