// Fixtures for the node CA service tests: a real LevelDB state in a temp dir that every event is
// applied to (with increasing log indexes), OpenSSL as the independent verifier, and CSRs made by
// `openssl req`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { PkiStateStore, type ApplyOutcome, type PkiEvent } from '../src/state/index.ts';

/** A fixed instant: every validity window is reproducible; OpenSSL checks at `-attime`. */
export const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export interface TestState {
  readonly dir: string;
  readonly store: PkiStateStore;
  /** Applies events in order as committed log entries; returns their outcomes. */
  apply(...events: PkiEvent[]): Promise<ApplyOutcome[]>;
  /** Applies and asserts every event was accepted. */
  applyOk(...events: PkiEvent[]): Promise<ApplyOutcome[]>;
  close(): Promise<void>;
}

export async function openTestState(prefix: string): Promise<TestState> {
  const dir = mkdtempSync(join(tmpdir(), `adrestia-${prefix}-`));
  const store = await PkiStateStore.open(join(dir, 'state'), { syncWrites: false });
  let index = 0;
  const apply = async (...events: PkiEvent[]): Promise<ApplyOutcome[]> => {
    const outcomes = await store.applyEvents(events.map((event) => ({ event, meta: { index: ++index, term: 1 } })));
    return outcomes.map((o) => {
      if (o === null) throw new Error('assertion failed: an event was skipped');
      return o;
    });
  };
  return {
    dir,
    store,
    apply,
    async applyOk(...events) {
      const outcomes = await apply(...events);
      outcomes.forEach((o, i) => expect(o, `${events[i]!.type}: ${JSON.stringify(o.ok ? '' : o.error)}`).to.have.property('ok', true));
      return outcomes;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface OpensslResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function openssl(args: readonly string[]): OpensslResult {
  const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function writeFile(dir: string, name: string, data: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

/** `-attime` argument: seconds since the epoch. */
export function attime(ms: number): string {
  return String(Math.floor(ms / 1000));
}

/** A P-256 key and CSR made by OpenSSL, with the given subject and SAN extension text. */
export function opensslCsr(dir: string, name: string, subject: string, san?: string): { csrPem: string; csrDer: Uint8Array } {
  const args = ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-subj', subject];
  if (san !== undefined) args.push('-addext', `subjectAltName=${san}`);
  args.push('-out', join(dir, `${name}.csr`));
  const r = openssl(args);
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  const csrPem = readFileSync(join(dir, `${name}.csr`), 'utf8');
  const der = openssl(['req', '-in', join(dir, `${name}.csr`), '-outform', 'DER', '-out', join(dir, `${name}.csr.der`)]);
  if (der.status !== 0) throw new Error(`openssl req -outform DER failed: ${der.stderr}`);
  return { csrPem, csrDer: new Uint8Array(readFileSync(join(dir, `${name}.csr.der`))) };
}

/** Asserts `openssl verify` accepts `leaf` (a path) and returns nothing; shows OpenSSL's words on failure. */
export function expectVerifies(args: readonly string[]): void {
  const r = openssl(['verify', ...args]);
  expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
  expect(r.stdout).to.match(/: OK\s*$/);
}
