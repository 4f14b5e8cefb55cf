// Shared fixtures for the CA engine tests: Name DER built with the engine's own DER writer (so
// these tests do not depend on the CSR helper's names.ts), temp dirs, and OpenSSL invocation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oid, sequence, setOf, utf8String } from '../src/ca/der.ts';
import { OID_ATTR } from '../src/ca/oids.ts';
import { SeededRandom } from '@adrestia/consensus';
import { createRootCertificate, issueCertificate, type ExtensionChoices, type IssuedCertificate } from '../src/ca/issue.ts';
import { generateCaKeyPair, type CaKeyType, type GeneratedKeyPair } from '../src/ca/keys.ts';
import { randomSerial } from '../src/ca/serial.ts';
import { KeyObjectSigner } from '../src/ca/signer.ts';

/** A Name with one attribute per RDN (RFC 5280 §4.1.2.4), in the order given. */
export function nameDer(attrs: ReadonlyArray<[keyof typeof OID_ATTR, string]>): Uint8Array {
  return sequence(...attrs.map(([type, value]) => setOf(sequence(oid(OID_ATTR[type]), utf8String(value)))));
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `adrestia-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface OpensslResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function openssl(args: readonly string[], input?: string): OpensslResult {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input, timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function writeFile(dir: string, name: string, text: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Seconds since the epoch, for `openssl verify -attime`. */
export function epochSeconds(d: Date): string {
  return String(Math.floor(d.getTime() / 1000));
}


/** A fixed instant so every run issues the same validity windows; OpenSSL checks at `-attime`. */
export const T0 = new Date('2026-03-01T00:00:00Z');
export const days = (n: number): number => n * 86_400_000;
export const at = (base: Date, ms: number): Date => new Date(base.getTime() + ms);

export const CA_EXTENSIONS = (pathLen: number): ExtensionChoices => ({
  basicConstraints: { ca: true, pathLen },
  keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
});

export const SERVER_LEAF: ExtensionChoices = {
  basicConstraints: { ca: false },
  keyUsage: ['digitalSignature', 'keyEncipherment'],
  extKeyUsage: ['serverAuth'],
};

export const CLIENT_LEAF: ExtensionChoices = {
  basicConstraints: { ca: false },
  keyUsage: ['digitalSignature'],
  extKeyUsage: ['clientAuth'],
};

interface Level {
  readonly key: GeneratedKeyPair;
  readonly signer: KeyObjectSigner;
  readonly cert: IssuedCertificate;
}

export interface Hierarchy {
  readonly root: Level;
  readonly az: Level;
  readonly node: Level;
  readonly random: SeededRandom;
}

/** root (10 y) → AZ ICA (5 y) → node ICA (2 y), all with keys of `keyType`. */
export async function buildHierarchy(keyType: CaKeyType, seed = 1): Promise<Hierarchy> {
  const random = new SeededRandom(seed);
  const rootKey = await generateCaKeyPair(keyType);
  const rootSigner = new KeyObjectSigner(rootKey.privateKey);
  const rootCert = await createRootCertificate({
    signer: rootSigner,
    subjectDer: nameDer([['organization', 'Adrestia'], ['commonName', `Adrestia Root ${keyType}`]]),
    serial: randomSerial(random),
    notBefore: T0,
    notAfter: at(T0, days(3650)),
    pathLen: 2,
  });
  const root = { key: rootKey, signer: rootSigner, cert: rootCert };
  const az = await issueCa(root, keyType, `AZ az-1 ICA ${keyType}`, days(1825), 1, random);
  const node = await issueCa(az, keyType, `Node ICA ${keyType}`, days(730), 0, random);
  return { root, az, node, random };
}

async function issueCa(parent: Level, keyType: CaKeyType, cn: string, lifetimeMs: number, pathLen: number, random: SeededRandom): Promise<Level> {
  const key = await generateCaKeyPair(keyType);
  const cert = await issueCertificate({
    issuer: { certDer: parent.cert.der, signer: parent.signer },
    subjectDer: nameDer([['organization', 'Adrestia'], ['commonName', cn]]),
    spkiDer: key.spkiDer,
    serial: randomSerial(random),
    notBefore: T0,
    notAfter: at(T0, lifetimeMs),
    extensions: CA_EXTENSIONS(pathLen),
  });
  return { key, signer: new KeyObjectSigner(key.privateKey), cert };
}
