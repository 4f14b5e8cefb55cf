// OpenSSL as the independent judge of what a real cluster hands out (docs/spec.md §5.11): leaf
// chains by `openssl verify -x509_strict`, CRLs by `openssl crl -verify`, revocation by
// `openssl verify -crl_check`. Work files go to fresh directories under the test's own.
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCsr, toPem } from '@adrestia/pki-core';

/** A certificate as the issuance route acknowledges it. */
export interface IssuedLeaf {
  serialHex: string;
  issuerId: string;
  certificatePem: string;
  /** The issuing node ICA, its AZ ICA and the root. */
  chainPem: string;
}

/** A PKCS#10 request (PEM) for `cn` with that DNS SAN, on a fresh P-256 key. */
export function leafCsrPem(cn: string): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return toPem(buildCsr({ subject: `CN=${cn}`, privateKey, sans: [{ type: 'dns', value: cn }] }), 'CERTIFICATE REQUEST');
}

/** `openssl verify` of one leaf up to the pinned root; its output (throws when OpenSSL refuses). */
export function opensslVerifyLeaf(dir: string, rootPem: string, leaf: IssuedLeaf): string {
  const d = mkdtempSync(join(dir, 'verify-'));
  writeFileSync(join(d, 'root.pem'), rootPem);
  writeFileSync(join(d, 'leaf.pem'), leaf.certificatePem);
  writeFileSync(join(d, 'chain.pem'), leaf.chainPem);
  return execFileSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(d, 'root.pem'), '-untrusted', join(d, 'chain.pem'), join(d, 'leaf.pem')], { encoding: 'utf8' });
}

/**
 * One `openssl verify` run over many leaves (intermediates of all of them as the untrusted set):
 * the serials OpenSSL accepted. A refused leaf makes OpenSSL exit non-zero; its line names it.
 */
export function opensslVerifiedSerials(dir: string, rootPem: string, leaves: readonly IssuedLeaf[]): Set<string> {
  const d = mkdtempSync(join(dir, 'verify-all-'));
  writeFileSync(join(d, 'root.pem'), rootPem);
  writeFileSync(join(d, 'chains.pem'), [...new Set(leaves.map((l) => l.chainPem))].join(''));
  const files = leaves.map((l) => {
    const path = join(d, `${l.serialHex}.pem`);
    writeFileSync(path, l.certificatePem);
    return path;
  });
  const args = ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(d, 'root.pem'), '-untrusted', join(d, 'chains.pem'), ...files];
  const out = spawnSync('openssl', args, { encoding: 'utf8' }).stdout;
  const ok = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /([0-9a-f]+)\.pem: OK$/.exec(line.trim());
    if (m?.[1] !== undefined) ok.add(m[1]);
  }
  return ok;
}

/**
 * `openssl crl -verify` against the issuer (found by name in `caPem`, the leaf's chain), then the
 * serials the CRL lists, as lower-case hex without leading zero bytes. Throws if the signature fails.
 */
export function opensslCrlSerials(dir: string, crlDer: Uint8Array, caPem: string): Set<string> {
  const d = mkdtempSync(join(dir, 'crl-'));
  writeFileSync(join(d, 'crl.der'), crlDer);
  writeFileSync(join(d, 'ca.pem'), caPem);
  // `openssl crl -verify` reports its verdict on stderr; stdout carries the text.
  const r = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', join(d, 'crl.der'), '-verify', '-CAfile', join(d, 'ca.pem'), '-noout', '-text'], { encoding: 'utf8' });
  if (r.status !== 0 || !/verify OK/.test(r.stderr)) throw new Error(`openssl crl -verify refused the CRL: ${r.stderr}`);
  const serials = new Set<string>();
  for (const m of r.stdout.matchAll(/Serial Number: ([0-9A-Fa-f]+)/g)) serials.add(normalSerial(m[1] ?? ''));
  return serials;
}

/** Lower-case hex without leading zero bytes: serials compare equal whatever their encoding. */
export function normalSerial(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=.)/, '');
}

/** `openssl verify -crl_check` with the issuer's CRL: OpenSSL's own verdict text (expects "certificate revoked"). */
export function opensslRevocationVerdict(dir: string, rootPem: string, crlDer: Uint8Array, leaf: IssuedLeaf): string {
  const d = mkdtempSync(join(dir, 'crl-check-'));
  writeFileSync(join(d, 'crl.der'), crlDer);
  execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(d, 'crl.der'), '-out', join(d, 'crl.pem')]);
  writeFileSync(join(d, 'root.pem'), rootPem);
  writeFileSync(join(d, 'leaf.pem'), leaf.certificatePem);
  writeFileSync(join(d, 'chain.pem'), leaf.chainPem);
  const r = spawnSync('openssl', ['verify', '-crl_check', '-CRLfile', join(d, 'crl.pem'), '-CAfile', join(d, 'root.pem'), '-untrusted', join(d, 'chain.pem'), join(d, 'leaf.pem')], { encoding: 'utf8' });
  return r.stdout + r.stderr;
}
