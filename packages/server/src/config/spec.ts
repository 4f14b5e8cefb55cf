// Hand-written validators for the node configuration. Each spec parses an `unknown` into a typed
// value or records issues naming the exact field path (`azs[1].subnets[0]: not a CIDR`); all
// issues are collected so an operator fixes a file in one pass. Object specs list their fields,
// which also drives the ADRESTIA_<PATH> environment overrides (env.ts).
import { parseCidr, parseIpAddress } from '@adrestia/pki-core/support';

export interface Issue {
  path: string;
  message: string;
}

export interface Spec<T> {
  readonly kind: 'scalar' | 'object' | 'array';
  /** Fields of an object spec (for env overrides and unknown-field checks). */
  readonly fields?: Readonly<Record<string, Spec<unknown>>>;
  /** Turns an environment variable's text into the value this spec parses. */
  fromEnv(raw: string): unknown;
  parse(value: unknown, path: string, issues: Issue[]): T | undefined;
}

export type SpecType<S> = S extends Spec<infer T> ? T : never;

export function joinPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- JSON.stringify is undefined only for a function or a symbol, which String() renders
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** A scalar spec from a predicate; `what` completes "not a …". */
function scalar<T>(what: string, check: (v: unknown) => v is T, fromEnv: (raw: string) => unknown = (raw) => raw): Spec<T> {
  return {
    kind: 'scalar',
    fromEnv,
    parse(value, path, issues) {
      if (check(value)) return value;
      issues.push({ path, message: `not ${what} (got ${describe(value)})` });
      return undefined;
    },
  };
}

export function str(options: { pattern?: RegExp; what?: string; maxLength?: number } = {}): Spec<string> {
  const maxLength = options.maxLength ?? 4096;
  return scalar(
    options.what ?? 'a non-empty string',
    (v): v is string => typeof v === 'string' && v.length > 0 && v.length <= maxLength && (options.pattern?.test(v) ?? true),
  );
}

export function int(min: number, max: number): Spec<number> {
  return scalar(
    `an integer in [${min}, ${max}]`,
    (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max,
    (raw) => (/^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw),
  );
}

export function bool(): Spec<boolean> {
  return scalar('true or false', (v): v is boolean => typeof v === 'boolean', (raw) => (raw === 'true' ? true : raw === 'false' ? false : raw));
}

export function oneOf<const V extends string>(values: readonly V[]): Spec<V> {
  return scalar(`one of ${values.join('|')}`, (v): v is V => typeof v === 'string' && (values as readonly string[]).includes(v));
}

export function ip(): Spec<string> {
  return scalar('an IP address', (v): v is string => typeof v === 'string' && parseIpAddress(v) !== undefined);
}

/** RFC 4632 / RFC 4291 §2.3 prefix notation; host bits must be zero so the intent is clear. */
export function cidr(): Spec<string> {
  return scalar('a CIDR', (v): v is string => typeof v === 'string' && parseCidr(v) !== undefined);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function uuid(): Spec<string> {
  return scalar('a lower-case UUID', (v): v is string => typeof v === 'string' && UUID_RE.test(v));
}

export function isUuid(v: string): boolean {
  return UUID_RE.test(v);
}

/** The field may be absent; absent becomes `fallback`. */
export function optional<T>(spec: Spec<T>): Spec<T | undefined>;
export function optional<T>(spec: Spec<T>, fallback: T): Spec<T>;
export function optional<T>(spec: Spec<T>, fallback?: T): Spec<T | undefined> {
  return {
    kind: spec.kind,
    ...(spec.fields === undefined ? {} : { fields: spec.fields }),
    fromEnv: (raw) => spec.fromEnv(raw),
    parse(value, path, issues) {
      if (value === undefined || value === null) return fallback;
      return spec.parse(value, path, issues);
    },
  };
}

export function arr<T>(item: Spec<T>, minItems: number, maxItems: number): Spec<T[]> {
  return {
    kind: 'array',
    fromEnv: parseJsonEnv,
    parse(value, path, issues) {
      if (!Array.isArray(value) || value.length < minItems || value.length > maxItems) {
        issues.push({ path, message: `not a list of ${minItems}..${maxItems} items (got ${describe(value)})` });
        return undefined;
      }
      const out: T[] = [];
      value.forEach((v: unknown, i) => {
        const parsed = item.parse(v, joinPath(path, i), issues);
        if (parsed !== undefined) out.push(parsed);
      });
      return out.length === value.length ? out : undefined;
    },
  };
}

type ObjType<F extends Record<string, Spec<unknown>>> = { [K in keyof F]: SpecType<F[K]> };

export function obj<F extends Record<string, Spec<unknown>>>(fields: F): Spec<ObjType<F>> {
  return {
    kind: 'object',
    fields,
    fromEnv: parseJsonEnv,
    parse(value, path, issues) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path, message: `not an object (got ${describe(value)})` });
        return undefined;
      }
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!(key in fields)) issues.push({ path: joinPath(path, key), message: 'unknown field' });
      }
      const before = issues.length;
      const out: Record<string, unknown> = {};
      for (const [key, spec] of Object.entries(fields)) out[key] = spec.parse(record[key], joinPath(path, key), issues);
      return issues.length === before ? (out as ObjType<F>) : undefined;
    },
  };
}

function parseJsonEnv(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
