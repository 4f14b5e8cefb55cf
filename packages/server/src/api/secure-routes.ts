// HTTPS routes: issuance from a CSR, renewal over mTLS, revocation and certificate lookup (seed
// 004: a small public API). Every answer that reports a change is sent only after the change
// committed (PkiNodeApi: `issue` after the local commit of `Issued`, `revoke` after the global one).
import { PkiError, REVOCATION_REASONS, type IssuedLeafResult, type IssueRequest } from '@adrestia/pki-core';
import { ServerError } from '../errors.ts';
import { readBody, readJson, requireMediaType } from '../http/body.ts';
import type { RequestContext, Router } from '../http/router.ts';
import { sendJson } from '../http/respond.ts';
import { provisionerToken, requireAdmin, requireIssuer } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import { routeRequest } from './route-guard.ts';
import { field, optionalField, readCsr, stringArray } from './inputs.ts';

const SERIAL_HEX = /^[0-9a-f]{2,40}$/;

export function addSecureRoutes(router: Router, deps: ApiDeps): Router {
  router.post('/api/v1/certificates', (ctx) => issue(ctx, deps));
  router.post('/api/v1/certificates/renew', (ctx) => renew(ctx, deps), { requireClientCert: true });
  router.post('/api/v1/revocations', (ctx) => revoke(ctx, deps));
  router.get('/api/v1/certificates/:serial', (ctx) => lookup(ctx, deps));
  return router;
}

/**
 * Body: JSON `{ csr, profile, sans?, lifetimeSeconds? }` (csr as PEM text or base64 DER), or the
 * CSR itself (`application/pkcs10` DER, RFC 5967, or PEM) with `?profile=&san=&lifetimeSeconds=`.
 */
async function issue(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  const token = provisionerToken(ctx, deps.adminToken);
  const requester = token === undefined ? requireIssuer(ctx, deps.adminToken) : 'provisioner';
  if ((await routeRequest(ctx, deps, 'issue')).kind === 'done') return;
  const request = await readIssueRequest(ctx, `${requester}@${ctx.remoteAddr}`);
  if (token !== undefined) {
    // The provisioner and the token's jti make the requester (pki-core token-issuance.ts).
    const { requester: _byAddress, ...asked } = request;
    await sendIssued(ctx, deps, request.profile, () => deps.node.issueWithToken(token, asked), () => 'issued');
    return;
  }
  await sendIssued(ctx, deps, request.profile, () => deps.node.issue(request), (leaf) => (leaf.duplicate ? 'duplicate' : 'issued'));
}

async function readIssueRequest(ctx: RequestContext, requester: string): Promise<IssueRequest> {
  const type = requireMediaType(ctx.req, ['application/json', 'application/pkcs10', 'application/x-pem-file', 'text/plain']);
  if (type === 'application/json') {
    const body = await readJson(ctx.req, ctx.maxBodyBytes);
    const csr = readCsr(field(body, 'csr'));
    const sans = optionalField(body, 'sans');
    const lifetime = optionalField(body, 'lifetimeSeconds');
    return {
      csr,
      profile: profileName(field(body, 'profile')),
      requester,
      ...(sans === undefined ? {} : { sans: stringArray(sans, 'sans') }),
      ...(lifetime === undefined ? {} : { lifetimeSeconds: lifetimeOf(lifetime) }),
    };
  }
  const raw = await readBody(ctx.req, ctx.maxBodyBytes);
  const csr = type === 'application/pkcs10' ? new Uint8Array(raw) : raw.toString('latin1');
  const sans = ctx.query.getAll('san');
  const lifetime = ctx.query.get('lifetimeSeconds');
  return {
    csr,
    profile: profileName(ctx.query.get('profile')),
    requester,
    ...(sans.length === 0 ? {} : { sans }),
    ...(lifetime === null ? {} : { lifetimeSeconds: lifetimeOf(Number(lifetime)) }),
  };
}

/**
 * Answers with the leaf `produce` makes, counting the request under `profile` with the result
 * `resultOf(leaf)` (or `error`) and its latency.
 */
async function sendIssued(ctx: RequestContext, deps: ApiDeps, profile: string, produce: () => Promise<IssuedLeafResult>, resultOf: (leaf: IssuedLeafResult) => string): Promise<void> {
  const startedMs = performance.now();
  let result = 'error';
  try {
    const leaf = await produce();
    result = resultOf(leaf);
    sendLeaf(ctx, leaf);
  } finally {
    deps.metrics.issuanceTotal.inc({ profile, result });
    deps.metrics.issuanceSeconds.observe({ profile, result }, (performance.now() - startedMs) / 1000);
  }
}

function sendLeaf(ctx: RequestContext, leaf: IssuedLeafResult): void {
  sendJson(ctx.res, leaf.duplicate ? 200 : 201, {
    serialHex: leaf.serialHex,
    issuerId: leaf.issuerId,
    certificatePem: leaf.certificatePem,
    chainPem: leaf.chainPem,
    notAfter: new Date(leaf.notAfter).toISOString(),
    duplicate: leaf.duplicate,
  });
}

/**
 * Renewal (at 2/3 of the lifetime, with a new key): authenticated by the current certificate over
 * mTLS. The new certificate keeps the profile and the SANs of the current one; the CSR only brings
 * the new key. A revoked or expired certificate is refused (PkiNodeApi.renew).
 */
async function renew(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  const current = ctx.peerCertificate;
  if (current === null) throw new ServerError('ERR_CLIENT_CERT_REQUIRED', 'renewal is authenticated by the current certificate');
  if ((await routeRequest(ctx, deps, 'issue')).kind === 'done') return;
  const body = await readJson(ctx.req, ctx.maxBodyBytes);
  const csr = readCsr(field(body, 'csr'));
  await sendIssued(ctx, deps, 'renewal', () => deps.node.renew({ currentCertDer: new Uint8Array(current.raw), csr }), () => 'renewed');
}

/** Body `{ serialHex, issuerId?, reason? }`; acknowledged after the global commit. */
async function revoke(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  requireAdmin(ctx, deps.adminToken);
  if ((await routeRequest(ctx, deps, 'revoke')).kind === 'done') return;
  const body = await readJson(ctx.req, ctx.maxBodyBytes);
  const serialHex = serialOf(field(body, 'serialHex'));
  const issuerId = optionalField(body, 'issuerId');
  const reasonValue = optionalField(body, 'reason') ?? 'unspecified';
  const reason = REVOCATION_REASONS.find((r) => r === reasonValue);
  if (reason === undefined) throw new PkiError('ERR_INPUT_INVALID', `reason: one of ${REVOCATION_REASONS.join(', ')}`, { field: 'reason' });
  if (issuerId !== undefined && typeof issuerId !== 'string') throw new PkiError('ERR_INPUT_INVALID', 'issuerId: a string', { field: 'issuerId' });
  const { revokedAt } = await deps.node.revoke({
    serialHex,
    reason,
    requestedBy: `admin@${ctx.remoteAddr}`,
    ...(issuerId === undefined ? {} : { issuerId }),
  });
  sendJson(ctx.res, 200, { serialHex, revokedAt: new Date(revokedAt).toISOString(), reason });
}

async function lookup(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if ((await routeRequest(ctx, deps, 'publicRead')).kind === 'done') return;
  const serialHex = serialOf(ctx.params['serial']);
  const records = await deps.node.getCertificate(serialHex);
  if (records.length === 0) throw new PkiError('ERR_NOT_FOUND', `no certificate with serial ${serialHex}`, { field: 'serial' });
  sendJson(ctx.res, 200, {
    certificates: records.map((r) => ({
      kind: r.kind,
      issuerId: r.issuerId,
      serialHex: r.serialHex,
      notAfter: new Date(r.notAfter).toISOString(),
      certificatePem: `-----BEGIN CERTIFICATE-----\n${(Buffer.from(r.certDer).toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`,
      ...(r.kind === 'leaf' ? { subject: r.subject, sans: r.sans, profile: r.profile } : {}),
    })),
  });
}

function serialOf(value: unknown): string {
  const text = typeof value === 'string' ? value.toLowerCase().replace(/:/g, '') : '';
  if (!SERIAL_HEX.test(text)) throw new PkiError('ERR_SERIAL_INVALID', 'serial: 1..20 bytes as hex', { field: 'serialHex' });
  return text;
}

function profileName(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    throw new PkiError('ERR_INPUT_INVALID', 'profile: a profile name', { field: 'profile' });
  }
  return value;
}

function lifetimeOf(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new PkiError('ERR_LIFETIME_INVALID', 'lifetimeSeconds: a positive whole number', { field: 'lifetimeSeconds' });
  }
  return value;
}
