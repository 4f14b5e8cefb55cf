// The wire shapes of Phase II registration (docs/spec.md §3.2) as plain JSON-able data: binary
// fields are base64 DER, so the HTTP layer carries them as they are. Parsing is strict — exact
// keys, types and sizes — because the body arrives from a node not yet authenticated by TLS.
import { PkiError } from '../../errors.ts';
import { csrMaxBytes } from '../../ca/csr.ts';
import { checkEndpoint } from '../../state/fields.ts';

export const REGISTRATION_BODY_VERSION = 1;
/** Two CSRs of at most `csrMaxBytes` each, base64 (4/3), plus small fields. */
const REGISTRATION_BODY_BYTES_MAX = Math.ceil((2 * csrMaxBytes * 4) / 3) + 4096;
const ID_CHARS_MAX = 128;
const ENDPOINT_CHARS_MAX = 300;

/** POST body of the registration request (HTTPS, authenticated by PSK proof or join token). */
export interface RegistrationRequestBody {
  version: typeof REGISTRATION_BODY_VERSION;
  clusterId: string;
  nodeId: string;
  az: string;
  addresses: { api: string; raft: string };
  /** PKCS#10 DER of the node ICA key, base64. */
  icaCsr: string;
  /** PKCS#10 DER of the node TLS key, base64. */
  tlsCsr: string;
}

/** Answer to the plain-HTTP CA bundle fetch: the bundle and the server's proof that it knows the PSK. */
export interface CaBundleResponseBody {
  clusterId: string;
  /** Root first, then the AZ ICAs; exactly the bytes the proof covers (UTF-8). */
  bundlePem: string;
  /** base64url; echoed in the registration proof. */
  serverNonce: string;
  /** base64url HMAC (cluster/psk-proof.ts). */
  proof: string;
}

/** Answer to an accepted registration: the node's certificates, base64 DER, and the chain to serve. */
export interface RegistrationResponseBody {
  icaCert: string;
  tlsCert: string;
  /** The AZ ICA (and any CA above it but the root), PEM, to send after the TLS certificate. */
  chainPem: string;
}

function invalid(field: string, why: string): PkiError {
  return new PkiError('ERR_INPUT_INVALID', `registration ${field}: ${why}`, { field });
}

export function encodeRegistrationBody(body: RegistrationRequestBody): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(body));
}

/** Canonical base64 of DER bytes only: one encoding per value, so the signed body hash is unambiguous. */
export function base64Der(text: unknown, field: string, maxBytes: number): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw invalid(field, 'expected base64');
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw invalid(field, 'expected canonical base64');
  if (bytes.length === 0 || bytes.length > maxBytes) throw invalid(field, `expected 1..${maxBytes} bytes`);
  return new Uint8Array(bytes);
}

function id(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > ID_CHARS_MAX || !/^[\x21-\x7e]+$/.test(value)) {
    throw invalid(field, `expected 1..${ID_CHARS_MAX} printable ASCII characters`);
  }
  return value;
}

/** The state's own endpoint rule (fields.ts), so a request accepted here never fails to decode in the log. */
function endpoint(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > ENDPOINT_CHARS_MAX) throw invalid(field, 'expected host:port');
  try {
    checkEndpoint(value, field);
  } catch {
    throw invalid(field, 'expected host:port (IPv6 in brackets, port 1..65535)');
  }
  return value;
}

function exactKeys(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, 'expected an object');
  const obj = value as Record<string, unknown>;
  const extra = Object.keys(obj).find((k) => !keys.includes(k));
  if (extra !== undefined) throw invalid(`${field}.${extra}`, 'unknown field');
  const missing = keys.find((k) => !Object.hasOwn(obj, k));
  if (missing !== undefined) throw invalid(`${field}.${missing}`, 'missing');
  return obj;
}

export interface ParsedRegistrationBody {
  readonly body: RegistrationRequestBody;
  readonly icaCsrDer: Uint8Array;
  readonly tlsCsrDer: Uint8Array;
}

/** Parses the exact bytes received; ERR_INPUT_INVALID naming the field otherwise. */
export function parseRegistrationBody(bytes: Uint8Array): ParsedRegistrationBody {
  if (bytes.length > REGISTRATION_BODY_BYTES_MAX) throw invalid('body', `over ${REGISTRATION_BODY_BYTES_MAX} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid('body', 'not UTF-8 JSON');
  }
  const o = exactKeys(json, 'body', ['version', 'clusterId', 'nodeId', 'az', 'addresses', 'icaCsr', 'tlsCsr']);
  if (o['version'] !== REGISTRATION_BODY_VERSION) throw invalid('body.version', `expected ${REGISTRATION_BODY_VERSION}`);
  const a = exactKeys(o['addresses'], 'body.addresses', ['api', 'raft']);
  const icaCsrDer = base64Der(o['icaCsr'], 'body.icaCsr', csrMaxBytes);
  const tlsCsrDer = base64Der(o['tlsCsr'], 'body.tlsCsr', csrMaxBytes);
  const body: RegistrationRequestBody = {
    version: REGISTRATION_BODY_VERSION,
    clusterId: id(o['clusterId'], 'body.clusterId'),
    nodeId: id(o['nodeId'], 'body.nodeId'),
    az: id(o['az'], 'body.az'),
    addresses: { api: endpoint(a['api'], 'body.addresses.api'), raft: endpoint(a['raft'], 'body.addresses.raft') },
    icaCsr: o['icaCsr'] as string,
    tlsCsr: o['tlsCsr'] as string,
  };
  return { body, icaCsrDer, tlsCsrDer };
}
