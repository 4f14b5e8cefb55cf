// One renewal request (docs/spec.md §5.8), for `renew` and `renew --daemon`: a new P-256 key made
// here (it never leaves this machine), a CSR that only carries it, authenticated over mTLS by the
// current certificate; the cluster keeps the profile and SANs of the certificate being renewed.
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { buildCsr, toPem } from '@adrestia/pki-core';
import { jsonOf } from '../peer/http-request.ts';
import { need } from './args.ts';
import { call, httpsUrl } from './cluster-call.ts';
import type { CurrentCertificate } from './renew-current.ts';
import type { IssuedAnswer } from './renew-output.ts';

/** Where the cluster answers and how it is trusted (`--url`, `--ca`, `--from`). */
export interface RenewTarget {
  readonly url: string;
  readonly caPem: Buffer;
  readonly from: string | undefined;
}

export type RenewalAnswer =
  | { readonly kind: 'renewed'; readonly keyPem: string; readonly issued: IssuedAnswer }
  /** `permanent`: asking again cannot help (revoked, expired, unknown, forbidden). */
  | { readonly kind: 'refused'; readonly status: number; readonly code: string; readonly message: string; readonly permanent: boolean };

/**
 * RFC 9110 §15.5: a 4xx says the request itself is refused, so repeating it is pointless — except
 * 408 (timeout), 421 (misdirected: a VIP moved under the connection) and 429 (slow down). 5xx and
 * failures to connect are the cluster's (a failover under way) and are retried.
 */
function isPermanentRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 421 && status !== 429;
}

/** One renewal request; connection failures throw (the caller retries them). */
export async function requestRenewal(target: RenewTarget, current: CurrentCertificate, currentKeyPem: Buffer): Promise<RenewalAnswer> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const csr = toPem(buildCsr({ subject: `CN=${current.commonName}`, privateKey }), 'CERTIFICATE REQUEST');
  const r = await call(`${target.url}/api/v1/certificates/renew`, {
    method: 'POST',
    body: Buffer.from(JSON.stringify({ csr })),
    headers: { 'content-type': 'application/json' },
    ca: target.caPem,
    serverNode: true,
    cert: current.presentedPem,
    key: currentKeyPem,
    ...(target.from === undefined ? {} : { localAddress: target.from }),
  });
  if (r.status === 201 || r.status === 200) {
    return { kind: 'renewed', keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, issued: jsonOf(r) as IssuedAnswer };
  }
  const error = (jsonOf(r) as { error?: { code?: string; message?: string } } | undefined)?.error;
  return {
    kind: 'refused',
    status: r.status,
    code: error?.code ?? 'ERR_HTTP_STATUS',
    message: error?.message ?? r.body.toString('utf8').slice(0, 200),
    permanent: isPermanentRefusal(r.status),
  };
}

export async function renewTargetOf(options: ReadonlyMap<string, string>): Promise<RenewTarget> {
  return { url: httpsUrl(options), caPem: await readFile(need(options, 'ca')), from: options.get('from') };
}
