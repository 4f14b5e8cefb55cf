// `adrestia-pki renew`: renewal (docs/spec.md §5.8). A new key is generated here (it never leaves
// this machine); the request is authenticated by the current certificate over mTLS, and the cluster
// keeps the profile and SANs of the certificate being renewed.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { buildCsr, pemBlocks, toPem } from '@adrestia/pki-core';
import { writeFileAtomic } from '@adrestia/pki-core/support';
import { jsonOf } from '../peer/http-request.ts';
import { need, type ParsedArgs } from './args.ts';
import { fail } from './client-commands.ts';
import { call, httpsUrl } from './cluster-call.ts';

export async function renewCommand(args: ParsedArgs): Promise<number> {
  const { options } = args;
  const certPem = await readFile(need(options, 'cert'), 'utf8');
  const keyPem = await readFile(need(options, 'key'));
  const out = need(options, 'out');
  const blocks = pemBlocks(certPem).map((b) => new X509Certificate(Buffer.from(b.der)));
  const leaf = blocks[0];
  if (leaf === undefined) throw new TypeError('--cert: no certificate in the file');
  // The chain as `issue` wrote it, less the self-signed root (the server holds that one).
  const presented = blocks.filter((c) => c.subject !== c.issuer).map((c) => c.toString()).join('');
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1] ?? 'renewed';
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const csr = toPem(buildCsr({ subject: `CN=${cn}`, privateKey }), 'CERTIFICATE REQUEST');
  const from = options.get('from');
  const r = await call(`${httpsUrl(options)}/api/v1/certificates/renew`, {
    method: 'POST',
    body: Buffer.from(JSON.stringify({ csr })),
    headers: { 'content-type': 'application/json' },
    ca: await readFile(need(options, 'ca')),
    serverNode: true,
    cert: presented,
    key: keyPem,
    ...(from === undefined ? {} : { localAddress: from }),
  });
  if (r.status !== 201 && r.status !== 200) return fail(r);
  const issued = jsonOf(r) as { serialHex: string; certificatePem: string; chainPem: string; notAfter: string };
  // The new key first (0600), each file written whole then renamed, so a crash leaves no mix.
  await writeFileAtomic(`${out}.key`, privateKey.export({ format: 'pem', type: 'pkcs8' }), 0o600, '--out');
  await writeFileAtomic(`${out}.crt`, issued.certificatePem, 0o644, '--out');
  await writeFileAtomic(`${out}.chain.pem`, issued.chainPem, 0o644, '--out');
  process.stdout.write(`renewed: serial ${issued.serialHex}, valid until ${issued.notAfter}: ${out}.crt, ${out}.chain.pem, ${out}.key (0600)\n`);
  return 0;
}
