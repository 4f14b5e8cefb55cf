// Issuance with a one-time provisioner token instead of the admin token: the token names its
// provisioner (`iss`), whose public key verifies it (provisioner-token.ts); the request must be
// what the token is bound to (CSR CN = `sub`, SANs = `sans`) and what the provisioner's policy
// allows (provisioner-policy.ts); then the `jti` is spent through the GLOBAL log
// (`ProvisionerTokenUsed`) before the certificate is signed and handed out, so of two uses of
// one token, in any AZs, exactly one issues. A failure after the spend (a lost local quorum)
// leaves the token spent: the requester asks its deployment tooling for a new one.
import { decodeJwt } from 'jose';
import { attributeValues } from '../../ca/names.ts';
import { parseCsr } from '../../ca/csr.ts';
import { parseSanText, type SanEntry } from '../../ca/san.ts';
import { PkiError } from '../../errors.ts';
import type { PkiEvent } from '../../state/events.ts';
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
    const sans = boundSans(claims, requestedNames(request));
    const profile = await profileFor(request.profile, store);
    checkProvisionerPolicy(provisioner.policy, { profile: request.profile, sans, lifetimeSeconds: request.lifetimeSeconds ?? profile.lifetime.defaultSeconds });
    if (await store.isProvisionerTokenUsed(name, claims.jti)) throw new PkiError('ERR_AUTH_TOKEN_USED', `token ${claims.jti} of provisioner ${name} was already used`, { field: 'authorization' });
    // The same buckets apply judges (state/apply-provisioners.ts), read here to refuse before the global commit.
    const early = await rateLimitRefusal(store, provisioner, claims.sub, nowMs);
    if (early !== undefined) throw early;
    const outcome = await this.commitGlobal({ type: 'ProvisionerTokenUsed', provisioner: name, tokenId: claims.jti, subject: claims.sub, expiresAt: claims.exp * 1000, at: nowMs });
    // Another node's spend took the last token first: the state applied now says when one is back.
    if (!outcome.ok && outcome.error.code === 'ERR_RATE_LIMITED') throw await rateLimitedAfterCommit(await this.state(), provisioner, claims.sub, nowMs, outcome.error.message);
    if (!outcome.ok) throw new PkiError(outcome.error.code, outcome.error.message, { field: 'authorization' });
    return this.issue({ ...request, sans: sans.map((s) => `${s.type}:${s.value}`), requester: `provisioner:${name}:${claims.jti}` });
  }
}

/** The CSR's subject CN and the SANs asked for: the request's `sans`, else the CSR's, else none given. */
function requestedNames(request: TokenIssueRequest): { commonName: string | undefined; sans: readonly SanEntry[] | undefined } {
  const csr = parseCsr(request.csr);
  const commonNames = attributeValues(csr.subjectRdns, 'CN');
  if (commonNames.length > 1) throw new PkiError('ERR_SUBJECT_INVALID', 'the CSR names more than one CN', { field: 'csr' });
  const sans = request.sans?.map((t, i) => parseSanText(t, `sans[${i}]`)) ?? (csr.requestedSans.length > 0 ? csr.requestedSans : undefined);
  return { commonName: commonNames[0], sans };
}
