// RFC 8555 §7.6 revokeCert: signed by the account that ordered the certificate (`kid`) or by the
// certificate's own key (`jwk`). Acknowledged only after the `Revoked` event's global commit
// (PkiNodeApi.revoke, docs/architecture.md §4.4).
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { AcmeProblem, isPkiError, readCertificateFields, type CrlReason } from '@adrestia/pki-core';
import type { RequestContext, Router } from '../http/router.ts';
import type { AcmeDeps } from './acme-deps.ts';
import type { AcmeAnswer } from './acme-http.ts';
import { acmeRoute } from './acme-route.ts';
import type { AcmeUrls } from './acme-urls.ts';
import { payloadOf, readSignedRequest } from './signed-request.ts';

/** RFC 5280 §5.3.1 codes a subscriber may give (CA-side and hold reasons are refused). */
const REASONS_BY_CODE: Readonly<Record<number, CrlReason>> = { 0: 'unspecified', 1: 'keyCompromise', 3: 'affiliationChanged', 4: 'superseded', 5: 'cessationOfOperation' };

export function addAcmeRevokeRoute(router: Router, deps: AcmeDeps): Router {
  router.post(`${deps.prefix}/revoke-cert`, acmeRoute(deps, (ctx, urls) => revokeCert(ctx, urls, deps)));
  return router;
}

function reasonOf(value: unknown): CrlReason {
  if (value === undefined) return 'unspecified';
  const reason = typeof value === 'number' ? REASONS_BY_CODE[value] : undefined;
  if (reason === undefined) throw new AcmeProblem('badRevocationReason', `reason ${JSON.stringify(value)} is not one of ${Object.keys(REASONS_BY_CODE).join(', ')} (RFC 5280 §5.3.1)`);
  return reason;
}

async function revokeCert(ctx: RequestContext, urls: AcmeUrls, deps: AcmeDeps): Promise<AcmeAnswer> {
  const node = deps.api.node;
  const request = await readSignedRequest(ctx, node.acme, urls, 'either');
  const payload = payloadOf(request);
  const b64 = payload['certificate'];
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9_-]+$/.test(b64)) throw new AcmeProblem('malformed', 'certificate must be the base64url DER of the certificate to revoke');
  const der = new Uint8Array(Buffer.from(b64, 'base64url'));
  let fields;
  try {
    fields = readCertificateFields(der);
  } catch {
    throw new AcmeProblem('malformed', 'certificate is not a DER X.509 certificate');
  }
  const reason = reasonOf(payload['reason']);
  const record = (await node.getCertificate(fields.serialHex)).find((c) => c.kind === 'leaf' && Buffer.from(c.certDer).equals(der));
  if (record === undefined || record.kind !== 'leaf') throw new AcmeProblem('malformed', `certificate ${fields.serialHex} was not issued by this AZ's ACME server`, { status: 404 });
  if (request.account !== null) {
    if (record.requester !== `acme:${request.account.accountId}`) throw new AcmeProblem('unauthorized', `account ${request.account.accountId} did not order certificate ${fields.serialHex}`);
  } else {
    const spki = createPublicKey({ key: request.jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    if (!spki.equals(Buffer.from(fields.spkiDer))) throw new AcmeProblem('unauthorized', 'the JWS key is neither an account that ordered this certificate nor the certificate\'s key');
  }
  try {
    await node.revoke({ serialHex: record.serialHex, issuerId: record.issuerId, reason, requestedBy: request.account === null ? 'acme:certificate-key' : `acme:${request.account.accountId}` });
  } catch (e) {
    if (isPkiError(e, 'ERR_ALREADY_REVOKED')) throw new AcmeProblem('alreadyRevoked', `certificate ${record.serialHex} is already revoked`);
    throw e;
  }
  return { status: 200 };
}
