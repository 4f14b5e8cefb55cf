// HTTPS admin routes of a CA that runs for years (docs/architecture.md §19): a root rollover and
// a KEK rotation, each on the global leader (routed there like the other admin routes), each
// answered once committed.
import { X509Certificate } from 'node:crypto';
import { isPkiError, PkiError, toPem, type PendingRootRollover, type RotatedRoot } from '@adrestia/pki-core';
import { readJson } from '../http/body.ts';
import type { RequestContext, Router } from '../http/router.ts';
import { sendJson } from '../http/respond.ts';
import { admitted } from './admin-routes.ts';
import type { ApiDeps } from './deps.ts';
import { field, optionalField } from './inputs.ts';

const KEK_BYTES = 32;
const SUBJECT_CHARS_MAX = 1024;

export function addCaLifecycleRoutes(router: Router, deps: ApiDeps): Router {
  router.post('/api/v1/root-rollovers', (ctx) => rotateRoot(ctx, deps));
  router.post('/api/v1/kek-rotations', (ctx) => rotateKek(ctx, deps));
  return router;
}

/** A certificate as the CLI prints it: subject, issuer, SHA-256 fingerprint, and the PEM. */
function described(der: Uint8Array): { subject: string; issuer: string; sha256Fingerprint: string; notAfter: string; pem: string } {
  const x = new X509Certificate(der);
  // node:crypto lists the RDNs in DER order; RFC 4514 §2.1 writes them last first.
  const oneLine = (name: string): string => name.split('\n').reverse().join(',');
  return { subject: oneLine(x.subject), issuer: oneLine(x.issuer), sha256Fingerprint: x.fingerprint256, notAfter: new Date(x.validTo).toISOString(), pem: toPem(der) };
}

/**
 * Body `{ rootSubject? }` (RFC 4514; default "CN=Adrestia Root CA G<n>,OU=<cluster id>"): 201
 * with the new root and both cross certificates. Under a root held offline (pki-core
 * node/ca/root-rollover-offline.ts): 202 `{ pending }`, whose `tbsDer` the offline root signs;
 * then body `{ pending, signature }` (base64 of the signature) completes it: 201 as above.
 */
async function rotateRoot(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const body = await readJson(ctx.req, ctx.maxBodyBytes);
  if (optionalField(body, 'pending') !== undefined) {
    sendRotated(ctx, await deps.node.completeRootRollover({ pending: pendingOf(field(body, 'pending')), signature: base64Field(body, 'signature') }));
    return;
  }
  const rootSubject = optionalField(body, 'rootSubject');
  if (rootSubject !== undefined && (typeof rootSubject !== 'string' || rootSubject.length === 0 || rootSubject.length > SUBJECT_CHARS_MAX)) {
    throw new PkiError('ERR_INPUT_INVALID', `rootSubject: an RFC 4514 name of 1..${SUBJECT_CHARS_MAX} characters`, { field: 'rootSubject' });
  }
  const request = rootSubject === undefined ? {} : { rootSubject };
  try {
    sendRotated(ctx, await deps.node.rotateRoot(request));
  } catch (e) {
    if (!isPkiError(e, 'ERR_ROOT_OFFLINE')) throw e;
    sendJson(ctx.res, 202, { pending: pendingJson(await deps.node.prepareRootRollover(request)) });
  }
}

function sendRotated(ctx: RequestContext, rotated: RotatedRoot): void {
  sendJson(ctx.res, 201, {
    previousRootIssuerId: rotated.previousRootIssuerId,
    rootIssuerId: rotated.rootIssuerId,
    root: described(rotated.rootCertDer),
    crossCertificates: rotated.crossCertificates.map((c) => ({ signerIssuerId: c.signerIssuerId, subjectIssuerId: c.subjectIssuerId, serialHex: c.serialHex, ...described(c.certDer) })),
    azIcas: rotated.azIcas,
  });
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** A pending rollover as the operator keeps it between the steps: byte fields in base64. */
function pendingJson(p: PendingRootRollover): Record<string, string | number> {
  return { ...p, rootCertDer: b64(p.rootCertDer), wrappedRootKey: b64(p.wrappedRootKey), tbsDer: b64(p.tbsDer) };
}

function base64Field(body: unknown, name: string): Uint8Array {
  const v = field(body, name);
  if (typeof v !== 'string' || v.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) throw new PkiError('ERR_INPUT_INVALID', `${name}: base64`, { field: name });
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function stringField(body: unknown, name: string): string {
  const v = field(body, name);
  if (typeof v !== 'string' || v.length === 0 || v.length > SUBJECT_CHARS_MAX) throw new PkiError('ERR_INPUT_INVALID', `pending.${name}: a string`, { field: `pending.${name}` });
  return v;
}

/** The operator's copy of a pending rollover, each field checked; pki-core checks what they mean. */
function pendingOf(value: unknown): PendingRootRollover {
  const bytes = (name: string): Uint8Array => {
    try {
      return base64Field(value, name);
    } catch {
      throw new PkiError('ERR_INPUT_INVALID', `pending.${name}: base64`, { field: `pending.${name}` });
    }
  };
  const crossNotAfterMax = field(value, 'crossNotAfterMax');
  if (typeof crossNotAfterMax !== 'number' || !Number.isSafeInteger(crossNotAfterMax)) throw new PkiError('ERR_INPUT_INVALID', 'pending.crossNotAfterMax: ms since the epoch', { field: 'pending.crossNotAfterMax' });
  return {
    previousRootIssuerId: stringField(value, 'previousRootIssuerId'),
    rootIssuerId: stringField(value, 'rootIssuerId'),
    rootCertDer: bytes('rootCertDer'),
    wrappedRootKey: bytes('wrappedRootKey'),
    tbsDer: bytes('tbsDer'),
    serialHex: stringField(value, 'serialHex'),
    signatureAlgorithm: stringField(value, 'signatureAlgorithm') as PendingRootRollover['signatureAlgorithm'],
    crossNotAfterMax,
  };
}

/** A KEK of the request body: base64 of 32 bytes. The message names the field, never the value. */
function kekField(body: unknown, name: 'oldKek' | 'newKek'): Uint8Array {
  const v = field(body, name);
  const bytes = typeof v === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(v) ? Buffer.from(v, 'base64') : undefined;
  if (bytes === undefined || bytes.length !== KEK_BYTES) throw new PkiError('ERR_INPUT_INVALID', `${name}: base64 of a ${KEK_BYTES}-byte KEK`, { field: name });
  return new Uint8Array(bytes);
}

/**
 * Body `{ oldKek, newKek }` (base64): 200 with the keys re-sealed (by id, never their bytes);
 * 422 ERR_KEK_MISMATCH, nothing changed, when oldKek does not open every sealed key. The KEKs are
 * never logged: the body is read here and dropped.
 */
async function rotateKek(ctx: RequestContext, deps: ApiDeps): Promise<void> {
  if (!(await admitted(ctx, deps))) return;
  const body = await readJson(ctx.req, ctx.maxBodyBytes);
  const oldKek = kekField(body, 'oldKek');
  const newKek = kekField(body, 'newKek');
  try {
    sendJson(ctx.res, 200, await deps.node.rotateKek({ oldKek, newKek }));
  } finally {
    oldKek.fill(0);
    newKek.fill(0);
  }
}
