// Client commands against a running cluster: `status`, `issue`, `revoke`. HTTPS trust is pinned
// to the cluster root given with --ca; the server may answer on a VIP that is not in its node
// certificate (VIPs move), so the host name is not checked (trust rests on the pinned root).
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { buildCsr, parseSanText, toPem, writeFileAtomic } from '@adrestia/pki-core';
import { httpCall, jsonOf, type HttpCallOptions, type HttpCallResult } from '../peer/http-request.ts';
import { parseArgs } from './args.ts';
import { UsageError } from './serve-command.ts';
import { clusterStatus } from './status-view.ts';

const RESPONSE_BYTES_MAX = 4 * 1024 * 1024;
const TIMEOUT_MS = 30_000;
const REDIRECTS_MAX = 3;

export async function run(command: 'status' | 'issue' | 'revoke', argv: string[]): Promise<number> {
  const { options } = parseArgs(argv);
  const sans = argv.flatMap((a, i) => (a === '--san' && argv[i + 1] !== undefined ? [argv[i + 1] as string] : []));
  if (command === 'status') return clusterStatus(options.get('url') ?? 'http://127.0.10.1:8080', options.get('from'));
  if (command === 'issue') return issue(options, sans);
  return revoke(options);
}

/** GET/POST following 307s (method and body kept, RFC 9110 §15.4.8). */
export async function call(url: string, o: Omit<HttpCallOptions, 'timeoutMs' | 'maxResponseBytes'>): Promise<HttpCallResult> {
  let target = url;
  for (let hop = 0; ; hop++) {
    const r = await httpCall(target, { ...o, timeoutMs: TIMEOUT_MS, maxResponseBytes: RESPONSE_BYTES_MAX });
    const location = r.headers.location;
    if (r.status !== 307 || location === undefined || hop >= REDIRECTS_MAX) return r;
    target = location;
  }
}

export function need(options: Map<string, string>, name: string): string {
  const v = options.get(name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

export async function tlsOptions(options: Map<string, string>): Promise<Omit<HttpCallOptions, 'timeoutMs' | 'maxResponseBytes'>> {
  const token = (await readFile(need(options, 'token-file'), 'utf8')).trim();
  const from = options.get('from');
  return {
    ca: await readFile(need(options, 'ca')),
    anyServerName: true,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(from === undefined ? {} : { localAddress: from }),
  };
}

export function fail(r: HttpCallResult): number {
  const body = jsonOf(r) as { error?: { code?: string; message?: string } } | undefined;
  process.stderr.write(`HTTP ${r.status} ${body?.error?.code ?? ''}: ${body?.error?.message ?? r.body.toString('utf8').slice(0, 200)}\n`);
  return 1;
}

async function issue(options: Map<string, string>, sans: string[]): Promise<number> {
  const out = need(options, 'out');
  const csrFile = options.get('csr');
  let csrPem: string;
  let keyPem: string | null = null;
  if (csrFile !== undefined) {
    csrPem = await readFile(csrFile, 'utf8');
  } else {
    // Seed 003: the key is generated here and never leaves this machine; only the CSR travels.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cn = need(options, 'cn');
    csrPem = toPem(buildCsr({ subject: `CN=${cn}`, privateKey, sans: sans.map((s, i) => parseSanText(s, `san[${i}]`)) }), 'CERTIFICATE REQUEST');
    keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  }
  const body = JSON.stringify({ csr: csrPem, profile: need(options, 'profile'), ...(sans.length > 0 ? { sans } : {}) });
  const r = await call(`${need(options, 'url')}/api/v1/certificates`, { ...(await tlsOptions(options)), method: 'POST', body: Buffer.from(body) });
  if (r.status !== 201 && r.status !== 200) return fail(r);
  const issued = jsonOf(r) as { serialHex: string; certificatePem: string; chainPem: string; notAfter: string };
  // As renew does: the key first (0600), each file written whole then renamed.
  if (keyPem !== null) await writeFileAtomic(`${out}.key`, keyPem, 0o600, '--out');
  await writeFileAtomic(`${out}.crt`, issued.certificatePem, 0o644, '--out');
  await writeFileAtomic(`${out}.chain.pem`, issued.chainPem, 0o644, '--out');
  process.stdout.write(`issued serial ${issued.serialHex}, valid until ${issued.notAfter}: ${out}.crt, ${out}.chain.pem${keyPem !== null ? `, ${out}.key (0600)` : ''}\n`);
  return 0;
}

async function revoke(options: Map<string, string>): Promise<number> {
  const body = JSON.stringify({ serialHex: need(options, 'serial'), reason: options.get('reason') ?? 'unspecified' });
  const r = await call(`${need(options, 'url')}/api/v1/revocations`, { ...(await tlsOptions(options)), method: 'POST', body: Buffer.from(body) });
  if (r.status !== 200) return fail(r);
  const done = jsonOf(r) as { serialHex: string; revokedAt: string };
  process.stdout.write(`revoked ${done.serialHex} at ${done.revokedAt}\n`);
  return 0;
}
