// Request body readers with an explicit byte limit. The limit is checked against
// Content-Length before reading and against the bytes actually received while reading
// (a client may lie or use chunked encoding), so no more than `maxBytes` are ever buffered.
import type { IncomingMessage } from 'node:http';
import { ServerError } from '../errors.ts';

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new ServerError('ERR_BODY_TOO_LARGE', `body exceeds ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of req) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > maxBytes) {
        throw new ServerError('ERR_BODY_TOO_LARGE', `body exceeds ${maxBytes} bytes`);
      }
      chunks.push(buf);
    }
  } catch (err) {
    // The client went away mid-body: an expected event, not a server fault worth a stack trace.
    if (err instanceof ServerError || !req.destroyed) throw err;
    throw new ServerError('ERR_CLIENT_ABORTED', 'the client closed the connection before the body arrived');
  }
  return Buffer.concat(chunks, total);
}

/** The media type of the request without parameters, lower-cased ('' when absent). */
function mediaType(req: IncomingMessage): string {
  const raw = req.headers['content-type'] ?? '';
  return (raw.split(';')[0] ?? '').trim().toLowerCase();
}

export function requireMediaType(req: IncomingMessage, allowed: readonly string[]): string {
  const type = mediaType(req);
  if (!allowed.includes(type)) {
    throw new ServerError('ERR_UNSUPPORTED_MEDIA_TYPE', `content-type must be one of: ${allowed.join(', ')}`);
  }
  return type;
}

export async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  requireMediaType(req, ['application/json']);
  const raw = await readBody(req, maxBytes);
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new ServerError('ERR_BAD_JSON', 'body is not valid JSON');
  }
}

/**
 * A DER object sent either raw (`application/pkcs10`, `application/pkix-cert`, … as RFC 5967 /
 * RFC 2585 name them) or PEM-armoured (`application/x-pem-file`, `text/plain`). Returns DER.
 */
export async function readDerOrPem(
  req: IncomingMessage,
  maxBytes: number,
  options: { derTypes: readonly string[]; pemLabel: string },
): Promise<Buffer> {
  const pemTypes = ['application/x-pem-file', 'text/plain'];
  const type = requireMediaType(req, [...options.derTypes, ...pemTypes]);
  const raw = await readBody(req, maxBytes);
  if (!pemTypes.includes(type)) {
    if (raw.length === 0) throw new ServerError('ERR_BAD_BODY', 'empty body');
    return raw;
  }
  return pemToDer(raw.toString('latin1'), options.pemLabel);
}

/** RFC 7468 §2: one textual encoding block with the expected label. */
function pemToDer(text: string, label: string): Buffer {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`);
  const m = re.exec(text);
  if (m === null || m[1] === undefined) {
    throw new ServerError('ERR_BAD_BODY', `body is not a PEM "${label}" block`);
  }
  const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  if (der.length === 0) throw new ServerError('ERR_BAD_BODY', `empty PEM "${label}" block`);
  return der;
}
