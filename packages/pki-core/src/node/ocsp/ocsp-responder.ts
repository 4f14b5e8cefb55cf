// The OCSP responder of a node (RFC 6960, RFC 5019 profile; docs/architecture.md §14): any node of
// any AZ answers for any certificate of the cluster. A request names its issuer by hashes
// (ocsp-issuers.ts), the issuing AZ says what it knows of each serial (ocsp-status.ts), and the
// answer is signed by this AZ's delegated responder (ocsp-signers.ts). Failures are answered, never
// thrown: a malformed request `malformedRequest`, an issuer not of this cluster `unauthorized`, an
// issuing AZ out of reach or a responder not certified yet `tryLater`, anything else
// `internalError` (RFC 6960 §2.3), reported to `onError`.
import { OcspRequestError, parseOcspRequest, type ParsedOcspRequest } from '../../ca/ocsp-request.ts';
import { buildOcspResponse, ocspErrorResponse, type OcspCertStatus, type OcspErrorStatus } from '../../ca/ocsp-response.ts';
import { truncateToSeconds } from '../../ca/time.ts';
import { isTransient } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { OcspPeerStatus } from '../peer/protocol.ts';
import type { OcspIssuers } from './ocsp-issuers.ts';
import type { OcspSigners } from './ocsp-signers.ts';
import type { OcspStatusLookup } from './ocsp-status.ts';

/** What an answer said: the first certificate's status, or the error status sent instead. */
export type OcspOutcome = OcspPeerStatus['kind'] | OcspErrorStatus;

export interface OcspAnswer {
  /** The DER OCSPResponse (`application/ocsp-response`). */
  readonly der: Uint8Array;
  readonly outcome: OcspOutcome;
  /** For HTTP caching of signed answers (RFC 5019 §6.2); absent for error statuses. */
  readonly validity?: { readonly producedAtMs: number; readonly nextUpdateMs: number };
}

export interface OcspResponderLimits {
  /** How long an answer is valid (nextUpdate − thisUpdate, RFC 6960 §4.2.2.1). */
  readonly validitySeconds: number;
  /** Signed nonce-less answers kept for reuse while their status holds (RFC 5019 §2.2.1 pre-produced responses). */
  readonly cachedAnswersMax: number;
}

function certStatus(s: OcspPeerStatus): OcspCertStatus {
  return s.kind === 'revoked' ? { kind: 'revoked', revokedAt: new Date(s.revokedAt), reason: s.reason } : s;
}

function errorAnswer(status: OcspErrorStatus): OcspAnswer {
  return { der: ocspErrorResponse(status), outcome: status };
}

export class OcspResponder {
  /** Nonce-less answers by request CertIDs and statuses: a changed status never reuses an answer. */
  private readonly cache = new Map<string, OcspAnswer>();

  constructor(
    private readonly ctx: Pick<NodeContext, 'nowMs' | 'onError'>,
    private readonly issuers: OcspIssuers,
    private readonly lookup: OcspStatusLookup,
    private readonly signers: OcspSigners,
    private readonly limits: OcspResponderLimits,
  ) {}

  async answer(requestDer: Uint8Array): Promise<OcspAnswer> {
    let request: ParsedOcspRequest;
    try {
      request = parseOcspRequest(requestDer);
    } catch (e) {
      if (e instanceof OcspRequestError) return errorAnswer('malformedRequest');
      throw e;
    }
    try {
      return await this.answerParsed(request);
    } catch (e) {
      if (isTransient(e)) return errorAnswer('tryLater');
      this.ctx.onError(e);
      return errorAnswer('internalError');
    }
  }

  private async answerParsed(request: ParsedOcspRequest): Promise<OcspAnswer> {
    const issuers = await Promise.all(request.certIds.map((id) => this.issuers.issuerOf(id)));
    const issuer = issuers[0];
    // One signer per response: every CertID must name the same CA of this cluster (RFC 5019 §2.1.1 sends one).
    if (issuer === undefined || issuers.some((i) => i?.issuerId !== issuer.issuerId)) return errorAnswer('unauthorized');
    const statuses = await this.lookup.statuses(issuer, request.certIds.map((id) => id.serialHex));
    const cacheKey = request.nonceExtnValue === undefined ? request.certIds.map((id) => Buffer.from(id.der).toString('hex')).join(',') + JSON.stringify(statuses) : undefined;
    const now = this.ctx.nowMs();
    const cached = cacheKey === undefined ? undefined : this.cache.get(cacheKey);
    // Reused for the first half of its validity, so a cache never hands out an almost stale answer.
    if (cached?.validity !== undefined && now < (cached.validity.producedAtMs + cached.validity.nextUpdateMs) / 2) return cached;
    const responder = await this.signers.signingFor(issuer);
    if (responder === undefined) return errorAnswer('tryLater');
    const thisUpdate = truncateToSeconds(new Date(now));
    const nextUpdate = new Date(thisUpdate.getTime() + this.limits.validitySeconds * 1000);
    const der = await buildOcspResponse({
      responder,
      producedAt: thisUpdate,
      answers: request.certIds.map((id, i) => ({ certIdDer: id.der, status: certStatus(statuses[i]!), thisUpdate, nextUpdate })),
      ...(request.nonceExtnValue === undefined ? {} : { nonceExtnValue: request.nonceExtnValue }),
    });
    const answer: OcspAnswer = { der, outcome: statuses[0]!.kind, validity: { producedAtMs: thisUpdate.getTime(), nextUpdateMs: nextUpdate.getTime() } };
    if (cacheKey !== undefined) this.remember(cacheKey, answer);
    return answer;
  }

  private remember(key: string, answer: OcspAnswer): void {
    // Bounded: when full, the oldest entry goes (Map keeps insertion order).
    if (this.cache.size >= this.limits.cachedAnswersMax) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, answer);
  }
}
