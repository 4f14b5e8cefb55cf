// `adrestia-pki audit verify`: fetches the node at --url's history of the global log and of its
// AZ's local log (GET /api/v1/audit, api/audit-routes.ts), recomputes each chain from the
// commands' bytes and checks every signed checkpoint against the roots in --ca (pki-core
// verifyAuditHistory, docs/architecture.md §18). Exit 0 with a summary per log when both are
// clean; exit 1 naming the first divergence: log, position, event type, expected and found hash.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { verifyAuditHistory, type AuditHistoryEntry, type AuditHistoryInput, type AuditVerdict } from '@adrestia/pki-core';
import { httpCallFollowing, jsonOf, type HttpCallResult } from '../peer/http-request.ts';
import { need, UsageError, type ParsedArgs } from './args.ts';
import { fail, tlsOptions } from './client-commands.ts';
import { httpsUrl } from './cluster-call.ts';

/** A page may hold CRLs of megabytes each (base64 in JSON). */
const PAGE_BYTES_MAX = 256 * 1024 * 1024;
const PAGE_TIMEOUT_MS = 60_000;
const PAGE_ENTRIES = 200;
const REDIRECTS_MAX = 3;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

type AuditLog = AuditHistoryInput['tier'];

interface PageJson {
  log: string;
  tier: AuditLog;
  az: string;
  head: { position: number; hash: string };
  entries: { position: number; prev: string; hash: string; bytes: string }[];
  next: number | null;
}

interface History {
  log: string;
  tier: AuditLog;
  az: string;
  head: { position: number; head: Uint8Array };
  entries: AuditHistoryEntry[];
}

class FetchFailed extends Error {
  constructor(readonly result: HttpCallResult) {
    super(`HTTP ${result.status}`);
  }
}

async function rootsOf(file: string): Promise<X509Certificate[]> {
  const pems = (await readFile(file, 'utf8').catch((e: unknown) => {
    throw new UsageError(`--ca: cannot read ${file}: ${(e as Error).message}`);
  })).match(PEM_CERTIFICATE);
  if (pems === null) throw new UsageError(`--ca: ${file} holds no PEM certificate`);
  return pems.map((pem) => new X509Certificate(pem));
}

async function fetchHistory(args: ParsedArgs, log: string): Promise<History> {
  const tls = await tlsOptions(args.options);
  const entries: AuditHistoryEntry[] = [];
  for (let since = 0; ; ) {
    const url = `${httpsUrl(args.options)}/api/v1/audit?log=${encodeURIComponent(log)}&since=${since}&limit=${PAGE_ENTRIES}`;
    const r = await httpCallFollowing(url, { ...tls, method: 'GET', timeoutMs: PAGE_TIMEOUT_MS, maxResponseBytes: PAGE_BYTES_MAX }, REDIRECTS_MAX);
    if (r.status !== 200) throw new FetchFailed(r);
    const page = jsonOf(r) as PageJson;
    for (const e of page.entries) {
      entries.push({ position: e.position, prev: Buffer.from(e.prev, 'hex'), hash: Buffer.from(e.hash, 'hex'), bytes: Buffer.from(e.bytes, 'base64') });
    }
    if (page.next === null) return { log: page.log, tier: page.tier, az: page.az, head: { position: page.head.position, head: Buffer.from(page.head.hash, 'hex') }, entries };
    since = page.next;
  }
}

function report(verdict: AuditVerdict): boolean {
  if (verdict.ok) {
    const s = verdict.summary;
    const held = s.toPosition === 0 ? 'no commands yet' : `positions ${s.fromPosition}..${s.toPosition}`;
    const attested = s.checkpoints.length === 0 ? 'no signed checkpoint yet' : `${s.checkpoints.length} signed checkpoint(s) match, the latest at position ${s.checkpoints.at(-1)}`;
    const before = s.checkpointsBeforeHistory > 0 ? `, ${s.checkpointsBeforeHistory} before the history held` : '';
    process.stdout.write(`${s.log}: ok, ${held}, ${attested}${before}; head ${s.head}\n`);
    return true;
  }
  const d = verdict.divergence;
  process.stdout.write(`${d.log}: DIVERGES at position ${d.position} (${d.eventType}): ${d.reason}\n  expected ${d.expected}\n  found    ${d.found}\n`);
  return false;
}

export async function verifyCommand(args: ParsedArgs): Promise<number> {
  const roots = await rootsOf(need(args.options, 'ca'));
  try {
    const global = await fetchHistory(args, 'global');
    // The global log first: it is the same on every node; then the answering node's AZ's local log.
    if (!report(verifyAuditHistory({ ...global, roots }))) return 1;
    const local = await fetchHistory(args, global.az);
    return report(verifyAuditHistory({ ...local, roots })) ? 0 : 1;
  } catch (e) {
    if (e instanceof FetchFailed) return fail(e.result);
    throw e;
  }
}
