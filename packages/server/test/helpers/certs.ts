// Throwaway PKI for tests, made with the OpenSSL CLI (an independent implementation): a root CA
// and node certificates carrying `urn:adrestia:node:<uuid>` SAN URIs, P-256 keys.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  certPem: string;
  /** PEM of this CA and its parents below the root ('' for a root): appended to leaf chains. */
  chainPem: string;
  keyPath: string;
  certPath: string;
}

export interface TestNodeCert {
  nodeId: string;
  key: string;
  cert: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function makeRootCa(dir: string, name = 'root'): TestCa {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.pem`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath], dir);
  openssl(
    ['req', '-x509', '-new', '-key', keyPath, '-sha256', '-days', '2', '-subj', `/CN=Test ${name} CA`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-out', certPath],
    dir,
  );
  return { dir, keyPath, certPath, certPem: readFileSync(certPath, 'utf8'), chainPem: '' };
}

/** An intermediate CA (e.g. an AZ ICA, then a node ICA) signed by `parent`. */
export function makeIntermediateCa(parent: TestCa, name: string): TestCa {
  const dir = parent.dir;
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.pem`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath], dir);
  openssl(['req', '-new', '-key', keyPath, '-subj', `/CN=Test ${name} ICA`, '-out', `${keyPath}.csr`], dir);
  writeFileSync(`${keyPath}.ext`, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'].join('\n'));
  openssl(
    ['x509', '-req', '-in', `${keyPath}.csr`, '-CA', parent.certPath, '-CAkey', parent.keyPath, '-CAcreateserial',
      '-days', '2', '-sha256', '-extfile', `${keyPath}.ext`, '-out', certPath],
    dir,
  );
  const certPem = readFileSync(certPath, 'utf8');
  return { dir, keyPath, certPath, certPem, chainPem: certPem + parent.chainPem };
}

/**
 * A node certificate signed by `ca`, valid for both TLS server and client use; `expired`: signed
 * under libfaketime three days ago for one day (Debian `faketime`), so it has expired now.
 */
export function makeNodeCert(ca: TestCa, nodeId: string, extraSan = '', options: { expired?: boolean } = {}): TestNodeCert {
  const base = join(ca.dir, `node-${nodeId}-${Math.abs(hash(extraSan))}${options.expired === true ? '-expired' : ''}`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${base}.key`], ca.dir);
  openssl(['req', '-new', '-key', `${base}.key`, '-subj', `/CN=node ${nodeId}`, '-out', `${base}.csr`], ca.dir);
  const san = [`URI:urn:adrestia:node:${nodeId}`, 'IP:127.0.0.1', extraSan].filter((s) => s.length > 0).join(',');
  writeFileSync(
    `${base}.ext`,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${san}`,
    ].join('\n'),
  );
  const sign = ['x509', '-req', '-in', `${base}.csr`, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial',
    '-days', '1', '-sha256', '-extfile', `${base}.ext`, '-out', `${base}.pem`];
  if (options.expired === true) execFileSync('faketime', ['-f', '-3d', 'openssl', ...sign], { cwd: ca.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  else openssl(sign, ca.dir);
  return { nodeId, key: readFileSync(`${base}.key`, 'utf8'), cert: readFileSync(`${base}.pem`, 'utf8') + ca.chainPem };
}

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}
