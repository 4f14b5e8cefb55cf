// Where relying parties find an issuer's CRL, certificate and OCSP responder (RFC 5280 §4.2.1.13
// CRL distribution points, §4.2.2.1 AIA caIssuers and ocsp): under a public HTTP base URL, at the
// paths the server serves (`/crl/<issuer>.crl`, `/ca/<issuer>.crt`, `/ocsp`; RFC 6960 §A.1). A CRL of a node or AZ ICA lives in its AZ, so its URL
// is that AZ's local VIP; the root's CRL is in every AZ, so its URL is the cluster VIP.
import type { ExtensionChoices } from '../../ca/issue.ts';

/** `http://host:port` for an IPv4 or IPv6 address (RFC 3986 §3.2.2: IPv6 in brackets). */
export function httpBaseUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The issuer's CRL, certificate and OCSP URLs under `baseUrl` (every node answers OCSP for every issuer). */
function issuerUrls(baseUrl: string, issuerId: string): { crl: string; caIssuers: string; ocsp: string } {
  const base = baseUrl.replace(/\/+$/, '');
  return { crl: `${base}/crl/${issuerId}.crl`, caIssuers: `${base}/ca/${issuerId}.crt`, ocsp: `${base}/ocsp` };
}

/**
 * RFC 5280 §5.2.5: where an AZ ICA's indirect CRL of its node ICAs' leaves is
 * (`/crl/<AZ ICA>-indirect.crl`), or partition k of it (`/crl/<AZ ICA>-indirect-p<k>.crl`).
 */
export function indirectCrlUrl(baseUrl: string, azIcaIssuerId: string, partition?: number): string {
  return `${baseUrl.replace(/\/+$/, '')}/crl/${azIcaIssuerId}-indirect${partition === undefined ? '' : `-p${partition}`}.crl`;
}

/**
 * RFC 5280 §4.2.1.13, §5.2.5: where partition `partition` of an issuer's CRL is
 * (`/crl/<issuer>-p<k>.crl`; state/crl-partitions.ts). The CRL's issuing distribution point names
 * this exact URL, which relying parties match against the certificate's distribution point.
 */
export function partitionCrlUrl(baseUrl: string, issuerId: string, partition: number): string {
  return `${baseUrl.replace(/\/+$/, '')}/crl/${issuerId}-p${partition}.crl`;
}

/** RFC 5280 §5.2.6: where the delta CRLs of an issuer's complete CRL are (`/crl/<issuer>-delta.crl`). */
export function deltaCrlUrl(baseUrl: string, issuerId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/crl/${issuerId}-delta.crl`;
}

// Extension choices are encoded once per choices object (ca/issue.ts): keep one merged object per
// (profile choices, base URL, issuer), so certificates of one issuer and profile reuse the encoding.
const withUrlsCache = new WeakMap<ExtensionChoices, Map<string, ExtensionChoices>>();

/** The CA above a node ICA, whose indirect CRL also lists what the node ICA issued (node/revocation/indirect-crl.ts). */
export interface IndirectCrlIssuer {
  readonly issuerId: string;
  readonly nameDer: Uint8Array;
}

/**
 * `choices` plus the issuer's CRL DP and AIA caIssuers and OCSP; `choices` itself when there is no
 * base URL. With `indirect`, a second distribution point names the indirect CRL that CA signs
 * (cRLIssuer, RFC 5280 §4.2.1.13), current while the issuing node is down. With `partition`, both
 * name that partition (partitionCrlUrl, indirectCrlUrl) instead of the whole CRL.
 */
export function withIssuerUrls(choices: ExtensionChoices, baseUrl: string | undefined, issuerId: string, indirect?: IndirectCrlIssuer, partition?: number): ExtensionChoices {
  if (baseUrl === undefined) return choices;
  let byIssuer = withUrlsCache.get(choices);
  if (byIssuer === undefined) withUrlsCache.set(choices, (byIssuer = new Map<string, ExtensionChoices>()));
  const key = `${baseUrl} ${issuerId} ${indirect?.issuerId ?? ''} ${partition ?? ''}`;
  let merged = byIssuer.get(key);
  if (merged === undefined) {
    const urls = issuerUrls(baseUrl, issuerId);
    const crl = partition === undefined ? urls.crl : partitionCrlUrl(baseUrl, issuerId, partition);
    const points = indirect === undefined ? [crl] : [crl, { url: indirectCrlUrl(baseUrl, indirect.issuerId, partition), crlIssuerNameDer: indirect.nameDer }];
    merged = Object.freeze({ ...choices, crlDistributionPoints: points, authorityInfoAccess: { caIssuers: [urls.caIssuers], ocsp: [urls.ocsp] } });
    byIssuer.set(key, merged);
  }
  return merged;
}
