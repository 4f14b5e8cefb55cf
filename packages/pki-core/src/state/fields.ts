// Strict readers for decoded MessagePack maps. A replicated log must never crash a node on
// decode, so every field is checked for type, range and size, unknown fields are refused, and
// the result is a freshly built object in a fixed field order (the decoder's output re-encodes
// to canonical bytes). Failures throw `FieldError`, which the codec turns into
// ERR_EVENT_MALFORMED.
import { CRL_REASON_NAMES, type CrlReason, type PlainData } from './events.ts';
import { parseCidr, parseIpAddress } from '../net/ip.ts';

export const LIMITS = Object.freeze({
  maxIdChars: 128,
  maxTextChars: 1024,
  maxSanChars: 255,
  maxSans: 100,
  maxSubnets: 64,
  maxDerBytes: 64 * 1024,
  maxCrlDerBytes: 8 * 1024 * 1024,
  maxWrappedKeyBytes: 16 * 1024,
  /** Sealed keys one KEK rotation re-wraps (roots, AZ ICAs, OCSP responder keys: CA records are never pruned). */
  maxRewrappedKeys: 4096,
  maxProfileDepth: 8,
  maxProfileNodes: 2048,
  maxPruneLimit: 10_000,
  maxIdempotencyWindowMs: 7 * 24 * 3600 * 1000,
});

export class FieldError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'FieldError';
    this.field = field;
  }
}

const ID = /^[\x21-\x7e]+$/;
// eslint-disable-next-line no-control-regex -- control characters are what a text field refuses
const TEXT_FORBIDDEN = /[\x00-\x1f\x7f]/;
// The CA engine's canonical serialHex (ca/serial.ts): lowercase, even length, no leading 00 octet.
const HEX_SERIAL = /^(?!00)(?:[0-9a-f]{2}){1,20}$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Reads the fields of one map; `done()` refuses any field nobody asked for. */
export class FieldReader {
  private readonly seen = new Set<string>();

  constructor(
    private readonly obj: Record<string, unknown>,
    private readonly path: string,
  ) {}

  static of(value: unknown, path: string): FieldReader {
    if (!isPlainObject(value)) throw new FieldError(path, 'expected a map');
    return new FieldReader(value, path);
  }

  private name(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.obj, key);
  }

  raw(key: string): unknown {
    this.seen.add(key);
    if (!this.has(key)) throw new FieldError(this.name(key), 'missing');
    return this.obj[key];
  }

  optional<T>(key: string, read: () => T): T | undefined {
    if (!this.has(key)) return undefined;
    return read();
  }

  id(key: string): string {
    return checkId(this.raw(key), this.name(key));
  }

  text(key: string, minChars = 1, maxChars: number = LIMITS.maxTextChars): string {
    return checkText(this.raw(key), this.name(key), minChars, maxChars);
  }

  time(key: string): number {
    return checkTime(this.raw(key), this.name(key));
  }

  int(key: string, min: number, max: number): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new FieldError(this.name(key), `expected an integer in [${min}, ${max}]`);
    }
    return v;
  }

  bytes(key: string, maxBytes: number): Uint8Array {
    const v = this.raw(key);
    if (!(v instanceof Uint8Array)) throw new FieldError(this.name(key), 'expected binary');
    if (v.byteLength === 0 || v.byteLength > maxBytes) {
      throw new FieldError(this.name(key), `expected 1..${maxBytes} bytes`);
    }
    // Copy out of the decode buffer: the event may outlive it and must own plain bytes.
    return new Uint8Array(v);
  }

  serialHex(key: string): string {
    const v = this.raw(key);
    if (typeof v !== 'string' || !HEX_SERIAL.test(v)) {
      throw new FieldError(this.name(key), 'expected canonical serial hex (lowercase, 1..20 octets, no leading zero octet)');
    }
    return v;
  }

  sha256Hex(key: string): string {
    const v = this.raw(key);
    if (typeof v !== 'string' || !HEX_SHA256.test(v)) {
      throw new FieldError(this.name(key), 'expected 64 lowercase hex digits');
    }
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const v = this.raw(key);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      throw new FieldError(this.name(key), `expected one of ${allowed.join(', ')}`);
    }
    return v as T;
  }

  crlReason(key: string): CrlReason {
    return this.oneOf(key, CRL_REASON_NAMES);
  }

  list<T>(key: string, maxItems: number, item: (value: unknown, path: string) => T): T[] {
    const v = this.raw(key);
    if (!Array.isArray(v) || v.length > maxItems) {
      throw new FieldError(this.name(key), `expected a list of at most ${maxItems}`);
    }
    return v.map((x, i) => item(x, `${this.name(key)}[${i}]`));
  }

  map(key: string): FieldReader {
    return FieldReader.of(this.raw(key), this.name(key));
  }

  done(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.seen.has(key)) throw new FieldError(this.name(key), 'unknown field');
    }
  }
}

function checkId(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length > LIMITS.maxIdChars || !ID.test(v)) {
    throw new FieldError(path, `expected an id of 1..${LIMITS.maxIdChars} printable ASCII characters`);
  }
  return v;
}

export function checkText(v: unknown, path: string, minChars: number, maxChars: number): string {
  if (typeof v !== 'string' || v.length < minChars || v.length > maxChars || TEXT_FORBIDDEN.test(v)) {
    throw new FieldError(path, `expected ${minChars}..${maxChars} characters without control characters`);
  }
  return v;
}

function checkTime(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new FieldError(path, 'expected a time in integer milliseconds since the epoch');
  }
  return v;
}

export function checkCidr(v: unknown, path: string): string {
  if (typeof v !== 'string' || parseCidr(v) === undefined) {
    throw new FieldError(path, 'expected a CIDR block with zero host bits');
  }
  return v;
}

const DNS_NAME = /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** `host:port` with an IPv4 address, a bracketed IPv6 address or a DNS name, port 1..65535. */
export function checkEndpoint(v: unknown, path: string): string {
  const m = typeof v === 'string' ? /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([1-9][0-9]{0,4})$/.exec(v) : null;
  const ok =
    m !== null &&
    Number(m[3]) <= 65535 &&
    (m[1] !== undefined ? parseIpAddress(m[1])?.family === 6 : parseIpAddress(m[2]!) !== undefined || DNS_NAME.test(m[2]!));
  if (!ok) throw new FieldError(path, 'expected host:port');
  return v as string;
}

export function checkIp(v: unknown, path: string): string {
  if (typeof v !== 'string' || parseIpAddress(v) === undefined) {
    throw new FieldError(path, 'expected an IPv4 or IPv6 address');
  }
  return v;
}

/** Checks plain data and returns a copy with map keys sorted, so equal content stores equally. */
export function checkPlainData(v: unknown, path: string, budget = { nodes: LIMITS.maxProfileNodes }, depth = 0): PlainData {
  if (--budget.nodes < 0) throw new FieldError(path, `more than ${LIMITS.maxProfileNodes} values`);
  if (depth > LIMITS.maxProfileDepth) throw new FieldError(path, `nested deeper than ${LIMITS.maxProfileDepth}`);
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new FieldError(path, 'expected a finite number');
    return v;
  }
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map((x, i) => checkPlainData(x, `${path}[${i}]`, budget, depth + 1));
  if (!isPlainObject(v)) throw new FieldError(path, 'expected plain data');
  const out: { [key: string]: PlainData } = {};
  for (const key of Object.keys(v).sort()) {
    out[key] = checkPlainData(v[key], `${path}.${key}`, budget, depth + 1);
  }
  return out;
}
