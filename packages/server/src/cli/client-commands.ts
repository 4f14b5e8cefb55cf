// Client commands against a running cluster: `status`, `issue`, `revoke`. HTTPS trust is pinned
// to the cluster root given with --ca, and the server must be a node of the cluster answering for
// the address dialled: node certificates name their addresses and the VIPs they may hold, and no
// customer certificate can carry those names or a node identity (pki-core node/reserved-names.ts).
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { buildCsr, parseSanText, toPem } from '@adrestia/pki-core';
import { writeFileAtomic } from '@adrestia/pki-core/support';
import { jsonOf, type HttpCallOptions, type HttpCallResult } from '../peer/http-request.ts';
import { need, UsageError, type ParsedArgs } from './args.ts';
import { call, httpsUrl } from './cluster-call.ts';
import { clusterStatus } from './status-view.ts';

export async function run(command: 'status' | 'issue' | 'revoke', args: ParsedArgs): Promise<number> {
  const { options } = args;
  const sans = args.lists.get('san') ?? [];
  if (command === 'status') return clusterStatus(need(options, 'url'), options.get('from'));
  if (command === 'issue') return issue(options, sans);
  return revoke(options);
}

/** The bearer credential: `--token FILE|-` (a provisioner's one-time token, `issue` only) or `--token-file`. */
async function bearerOf(options: Map<string, string>): Promise<string> {
  const oneTime = options.get('token');
  if (oneTime !== undefined && options.has('token-file')) throw new UsageError('give --token or --token-file, not both');
  if (oneTime === '-') return (await text(process.stdin)).trim();
  return (await readFile(oneTime ?? need(options, 'token-file'), 'utf8')).trim();
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

export async function tlsOptions(options: Map<string, string>): Promise<Omit<HttpCallOptions, 'timeoutMs' | 'maxResponseBytes'>> {
  const token = await bearerOf(options);
  const from = options.get('from');
  return {
    ca: await readFile(need(options, 'ca')),
    serverNode: true,
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
  const lifetime = options.get('lifetime');
  const body = JSON.stringify({
    csr: csrPem,
    profile: need(options, 'profile'),
    ...(sans.length > 0 ? { sans } : {}),
    ...(lifetime === undefined ? {} : { lifetimeSeconds: lifetimeSeconds(lifetime) }),
  });
  const r = await call(`${httpsUrl(options)}/api/v1/certificates`, { ...(await tlsOptions(options)), method: 'POST', body: Buffer.from(body) });
  if (r.status !== 201 && r.status !== 200) return fail(r);
  const issued = jsonOf(r) as { serialHex: string; certificatePem: string; chainPem: string; notAfter: string };
  // As renew does: the key first (0600), each file written whole then renamed.
  if (keyPem !== null) await writeFileAtomic(`${out}.key`, keyPem, 0o600, '--out');
  await writeFileAtomic(`${out}.crt`, issued.certificatePem, 0o644, '--out');
  await writeFileAtomic(`${out}.chain.pem`, issued.chainPem, 0o644, '--out');
  process.stdout.write(`issued serial ${issued.serialHex}, valid until ${issued.notAfter}: ${out}.crt, ${out}.chain.pem${keyPem !== null ? `, ${out}.key (0600)` : ''}\n`);
  return 0;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** `--lifetime`: a whole number of seconds, or of minutes, hours or days with `m`, `h`, `d`. */
export function lifetimeSeconds(text: string, flag = 'lifetime'): number {
  const m = /^(\d{1,12})([smhd]?)$/.exec(text);
  const seconds = m === null ? Number.NaN : Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw new UsageError(`--${flag}: a whole number ≥ 1 of seconds, or with a unit s, m, h or d (e.g. 30d)`);
  return seconds;
}

async function revoke(options: Map<string, string>): Promise<number> {
  const body = JSON.stringify({ serialHex: need(options, 'serial'), reason: options.get('reason') ?? 'unspecified' });
  const r = await call(`${httpsUrl(options)}/api/v1/revocations`, { ...(await tlsOptions(options)), method: 'POST', body: Buffer.from(body) });
  if (r.status !== 200) return fail(r);
  const done = jsonOf(r) as { serialHex: string; revokedAt: string };
  process.stdout.write(`revoked ${done.serialHex} at ${done.revokedAt}\n`);
  return 0;
}
