// Strict readers of JSON request fields and path parameters: each failure names the field (ERR_INPUT_INVALID).
import { PkiError } from '@adrestia/pki-core';
import type { RequestContext } from '../http/router.ts';

const SANS_MAX = 100;
const CSR_PEM = /^-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----/;

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PkiError('ERR_INPUT_INVALID', 'body: a JSON object', { field: 'body' });
  return body as Record<string, unknown>;
}

export function field(body: unknown, name: string): unknown {
  const o = object(body);
  if (!Object.hasOwn(o, name)) throw new PkiError('ERR_INPUT_INVALID', `${name}: required`, { field: name });
  return o[name];
}

export function optionalField(body: unknown, name: string): unknown {
  const o = object(body);
  return Object.hasOwn(o, name) ? o[name] : undefined;
}

export function stringArray(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.length > SANS_MAX || !value.every((v) => typeof v === 'string' && v.length <= 1024)) {
    throw new PkiError('ERR_INPUT_INVALID', `${name}: at most ${SANS_MAX} strings`, { field: name });
  }
  return value as string[];
}

/** A CSR given as PEM text or as base64 DER. */
export function readCsr(value: unknown): string | Uint8Array {
  if (typeof value !== 'string' || value.length === 0) throw new PkiError('ERR_INPUT_INVALID', 'csr: PEM text or base64 DER', { field: 'csr' });
  if (CSR_PEM.test(value.trimStart())) return value;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw new PkiError('ERR_CSR_MALFORMED', 'csr: neither PEM nor base64 DER', { field: 'csr' });
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/** A node id in a path: printable ASCII. */
export const NODE_ID = /^[\x21-\x7e]{1,128}$/;

/** Path parameter `name`, when it matches `pattern`; ERR_INPUT_INVALID naming it and saying `what` it must be otherwise. */
export function param(ctx: RequestContext, name: string, pattern: RegExp, what: string): string {
  const value = ctx.params[name];
  if (value === undefined || !pattern.test(value)) throw new PkiError('ERR_INPUT_INVALID', `${name}: ${what}`, { field: name });
  return value;
}
