// Issuance with a one-time provisioner token instead of the admin token: the token names its
// provisioner (`iss`), whose public key verifies it (provisioner-token.ts); the request must be
// what the token is bound to (CSR CN = `sub`, SANs = `sans`) and what the provisioner's policy
// allows (provisioner-policy.ts); then the `jti` is spent through the GLOBAL log
// (`ProvisionerTokenUsed`) before the certificate is signed and handed out, so of two uses of
// one token, in any AZs, exactly one issues. The spend names the AZ and the request it was spent
// for (`spentFor`): the SAME request retried in that AZ within the idempotency window — after a
// lost answer, or a failure after the spend such as a leader change before the certificate
// committed — gets the certificate without a second spend. Issuance is idempotent per requester
// (`provisioner:<name>:<jti>`), key, SANs and profile (state/idempotency.ts), so the retry gets
// the first attempt's certificate when there was one, and at most one is ever issued for the token.
// Any other use of a spent token is ERR_AUTH_TOKEN_USED.
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { attributeValues } from '../../ca/names.ts';
import { parseCsr, type ParsedCsr } from '../../ca/csr.ts';
import { parseSanText, type SanEntry } from '../../ca/san.ts';
import { PkiError } from '../../errors.ts';
import type { PkiEvent } from '../../state/events.ts';
import type { TokenSpentFor } from '../../state/provisioner-events.ts';
import type { ProvisionerTokenRecord } from '../../state/provisioner-records.ts';
import type { ApplyOutcome } from '../../state/outcome.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { profileFor } from '../issuance/ca-profiles.ts';
import type { IssuedLeaf, IssueRequest } from '../pki-node-api.ts';
import { checkProvisionerPolicy } from './provisioner-policy.ts';
import { boundSans, verifyProvisionerToken } from './provisioner-token.ts';
import { rateLimitedAfterCommit, rateLimitRefusal } from './rate-limit-refusal.ts';

export type TokenIssueRequest = Omit<IssueRequest, 'requester'>;

function invalid(message: string): PkiError {
  return new PkiError('ERR_AUTH_TOKEN_INVALID', message, { field: 'authorization' });
}

/** The `iss` of a token not yet verified: it only picks the key the token is then verified with. */
function claimedProvisioner(token: string): string {
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    throw invalid('the bearer token is neither the admin token nor a provisioner JWT');
  }
  if (typeof iss !== 'string') throw invalid('provisioner token: no iss (the provisioner name)');
  return iss;
}

export class TokenIssuance {
  constructor(
    private readonly az: string,
    private readonly nowMs: () => number,
    private readonly state: () => Promise<PkiStateQueries>,
    private readonly commitGlobal: (event: PkiEvent) => Promise<ApplyOutcome>,
    private readonly issue: (request: IssueRequest) => Promise<IssuedLeaf>,
  ) {}

  async issueWithToken(token: string, request: TokenIssueRequest): Promise<IssuedLeaf> {
    const store = await this.state();
    const name = claimedProvisioner(token);
    const provisioner = await store.getProvisioner(name);
    if (provisioner === undefined) throw invalid(`provisioner token: no provisioner ${JSON.stringify(name)}`);
    const cluster = await store.cluster();
    if (cluster === undefined) throw new PkiError('ERR_NOT_READY', 'this node holds no cluster yet');
    const nowMs = this.nowMs();
    const claims = await verifyProvisionerToken(token, { provisioner: name, publicKey: provisioner.publicKey, audience: cluster.clusterId, nowSeconds: Math.floor(nowMs / 1000) });
    const csr = parseCsr(request.csr);
    const sans = boundSans(claims, requestedNames(csr, request));
    const profile = await profileFor(request.profile, store);
    const lifetimeSeconds = request.lifetimeSeconds ?? profile.lifetime.defaultSeconds;
    checkProvisionerPolicy(provisioner.policy, { profile: request.profile, sans, lifetimeSeconds });
    const spentFor: TokenSpentFor = { az: this.az, requestHash: tokenRequestHash(csr, sans, request.profile, lifetimeSeconds) };
    const issue = (): Promise<IssuedLeaf> => this.issue({ ...request, sans: sans.map((s) => `${s.type}:${s.value}`), requester: `provisioner:${name}:${claims.jti}` });
    const spend = await store.provisionerTokenSpend(name, claims.jti);
    if (spend !== undefined) {
      await this.requireRetryOf(spend, spentFor, store, nowMs);
      return issue();
    }
    // The same buckets apply judges (state/apply-provisioners.ts), read here to refuse before the global commit.
    const early = await rateLimitRefusal(store, provisioner, claims.sub, nowMs);
    if (early !== undefined) throw early;
    const outcome = await this.commitGlobal({ type: 'ProvisionerTokenUsed', provisioner: name, tokenId: claims.jti, subject: claims.sub, expiresAt: claims.exp * 1000, spentFor, at: nowMs });
    // Another node's spend took the last token first: the state applied now says when one is back.
    if (!outcome.ok && outcome.error.code === 'ERR_RATE_LIMITED') throw await rateLimitedAfterCommit(await this.state(), provisioner, claims.sub, nowMs, outcome.error.message);
    if (!outcome.ok && outcome.error.code === 'ERR_AUTH_TOKEN_USED') {
      // A racing attempt spent it first: if it was this same request, this is its retry.
      const after = await this.state();
      const raced = await after.provisionerTokenSpend(name, claims.jti);
      if (raced === undefined) throw new PkiError(outcome.error.code, outcome.error.message, { field: 'authorization' });
      await this.requireRetryOf(raced, spentFor, after, nowMs);
      return issue();
    }
    if (!outcome.ok) throw new PkiError(outcome.error.code, outcome.error.message, { field: 'authorization' });
    return issue();
  }

  /** ERR_AUTH_TOKEN_USED unless `spend` was for this very request, in this AZ, within the idempotency window. */
  private async requireRetryOf(spend: ProvisionerTokenRecord, request: TokenSpentFor, store: PkiStateQueries, nowMs: number): Promise<void> {
    const windowMs = (await store.settings()).idempotencyWindowMs;
    const same = spend.spentFor !== undefined && spend.spentFor.az === request.az && spend.spentFor.requestHash === request.requestHash;
    if (same && nowMs < spend.usedAt + windowMs) return;
    throw new PkiError('ERR_AUTH_TOKEN_USED', `token ${spend.tokenId} of provisioner ${spend.provisioner} was already used${same ? ', longer ago than a retry may come' : ' for another request'}`, { field: 'authorization' });
  }
}

/**
 * What a spend is for: the CSR's public key, the SANs bound (as a set), the profile and the
 * lifetime. SHA-256 over an unambiguous JSON encoding, as state/idempotency.ts does.
 */
export function tokenRequestHash(csr: ParsedCsr, sans: readonly SanEntry[], profile: string, lifetimeSeconds: number): string {
  const names = [...new Set(sans.map((s) => `${s.type}:${s.value.toLowerCase()}`))].sort();
  const material = JSON.stringify(['adrestia-pki/token-request/v1', Buffer.from(csr.spkiDer).toString('hex'), names, profile, lifetimeSeconds]);
  return createHash('sha256').update(material, 'utf8').digest('hex');
}

/** The CSR's subject CN and the SANs asked for: the request's `sans`, else the CSR's, else none given. */
function requestedNames(csr: ParsedCsr, request: TokenIssueRequest): { commonName: string | undefined; sans: readonly SanEntry[] | undefined } {
  const commonNames = attributeValues(csr.subjectRdns, 'CN');
  if (commonNames.length > 1) throw new PkiError('ERR_SUBJECT_INVALID', 'the CSR names more than one CN', { field: 'csr' });
  const sans = request.sans?.map((t, i) => parseSanText(t, `sans[${i}]`)) ?? (csr.requestedSans.length > 0 ? csr.requestedSans : undefined);
  return { commonName: commonNames[0], sans };
}
