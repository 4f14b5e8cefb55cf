// The certificate being renewed, as `issue` or a renewal wrote it: a PEM chain, leaf first. Read
// once per renewal by `renew` and `needs-renewal`, so both judge the same validity.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pemBlocks } from '@adrestia/pki-core';
import type { Validity } from './renew-schedule.ts';
import { UsageError } from './args.ts';

export interface CurrentCertificate {
  readonly leaf: X509Certificate;
  readonly validity: Validity;
  /** The chain the client presents over mTLS: every certificate but the self-signed root. */
  readonly presentedPem: string;
  /** The leaf's subject CN, carried into the new request (the cluster keeps profile and SANs). */
  readonly commonName: string;
}

/** Reads the chain in `path` (`flag` names the option that gave it, for the error). */
export async function readCurrentCertificate(path: string, flag: string): Promise<CurrentCertificate> {
  const pem = await readFile(path, 'utf8');
  const blocks = pemBlocks(pem).filter((b) => b.label === 'CERTIFICATE');
  const certs = blocks.map((b) => new X509Certificate(Buffer.from(b.der)));
  const leaf = certs[0];
  if (leaf === undefined) throw new UsageError(`--${flag}: no certificate in ${path}`);
  return {
    leaf,
    validity: { notBeforeMs: Date.parse(leaf.validFrom), notAfterMs: Date.parse(leaf.validTo) },
    presentedPem: certs.filter((c) => c.subject !== c.issuer).map((c) => c.toString()).join(''),
    commonName: /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1] ?? 'renewed',
  };
}
