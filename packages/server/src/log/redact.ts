// Secrets never reach a log line. Two layers: pino's path redaction for the well-known places
// (fast, covers `req.headers.authorization`), and a key-name sanitizer that walks nested plain
// objects, because a secret logged three levels deep under an unplanned path must not leak either.

export const REDACTED = '[REDACTED]';

/** Key names (lower-cased, with '-' and '_' removed) whose values are always redacted. */
const SECRET_KEYS = new Set([
  'psk',
  'authpsk',
  'kek',
  'nextkek',
  'oldkek',
  'newkek',
  'token',
  'admintoken',
  'jointoken',
  'accesstoken',
  'refreshtoken',
  'key',
  'privatekey',
  'secret',
  'password',
  'passphrase',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'xadrestiapsk',
]);

const MAX_DEPTH = 8;

function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase().replace(/[-_]/g, ''));
}

/** pino `redact.paths`: the secret keys at the top level and under any one or two parents. */
export function redactPaths(): string[] {
  const names = ['psk', 'authPsk', 'kek', 'nextKek', 'oldKek', 'newKek', 'token', 'adminToken', 'joinToken', 'joinTokenKey', 'key', 'privateKey', 'secret', 'password'];
  const paths: string[] = [];
  for (const n of names) paths.push(n, `*.${n}`, `*.*.${n}`);
  for (const h of ['authorization', 'cookie', '"proxy-authorization"', '"x-adrestia-psk"']) {
    paths.push(`headers[${h.startsWith('"') ? h : `"${h}"`}]`, `*.headers[${h.startsWith('"') ? h : `"${h}"`}]`);
  }
  return paths;
}

/**
 * A copy of `value` with the values of secret keys replaced, at any depth up to MAX_DEPTH
 * (deeper content is cut, not printed). Only plain objects and arrays are walked; other objects
 * (Error, Buffer, class instances) are left to their serializers.
 */
export function sanitize(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[TRUNCATED]';
  if (Array.isArray(value)) return value.map((v) => sanitize(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = isSecretKey(k) ? REDACTED : sanitize(v, depth + 1);
  }
  return out;
}
