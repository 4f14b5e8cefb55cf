// Shared fixtures for the CA engine tests: Name DER built with the engine's own DER writer (so
// these tests do not depend on the CSR helper's names.ts), temp dirs, and OpenSSL invocation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oid, sequence, setOf, utf8String } from '../src/ca/der.ts';
import { OID_ATTR } from '../src/ca/oids.ts';

/** A Name with one attribute per RDN (RFC 5280 §4.1.2.4), in the order given. */
export function nameDer(attrs: ReadonlyArray<[keyof typeof OID_ATTR, string]>): Uint8Array {
  return sequence(...attrs.map(([type, value]) => setOf(sequence(oid(OID_ATTR[type]), utf8String(value)))));
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `adrestia-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface OpensslResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function openssl(args: readonly string[], input?: string): OpensslResult {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input, timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function writeFile(dir: string, name: string, text: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Seconds since the epoch, for `openssl verify -attime`. */
export function epochSeconds(d: Date): string {
  return String(Math.floor(d.getTime() / 1000));
}
