// Shared fixtures for the state-machine tests: real stores in temp dirs, a real root certificate
// made by OpenSSL, and event builders with sensible defaults.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { idempotencyKey, PkiStateStore, type EventOf, type PkiEvent } from '../src/state/index.ts';

export const T0 = Date.UTC(2026, 0, 1);
export const DAY_MS = 24 * 3600 * 1000;
export const ROOT_ID = 'root-1';
export const AZ1 = 'az1';
export const AZ1_ICA = 'az1-ica';
export const NODE1 = '6f1c7a3e-8a51-4f7e-9a55-1a2b3c4d5e6f';
export const NODE1_ICA = 'node1-ica';

const dirs: string[] = [];

export function tempDir(prefix = 'pki-state-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export async function openStore(dir = tempDir()): Promise<PkiStateStore> {
  return PkiStateStore.open(join(dir, 'state'), { syncWrites: false });
}

let rootDer: Uint8Array | undefined;

/** A real self-signed P-256 root made by OpenSSL, so the DER the events carry is genuine. */
function realRootDer(): Uint8Array {
  if (rootDer !== undefined) return rootDer;
  const dir = tempDir('pki-root-');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', join(dir, 'root.key'), '-subj', '/CN=Adrestia Test Root', '-days', '30',
    '-set_serial', '0x1a2b', '-outform', 'DER', '-out', join(dir, 'root.der'),
  ], { stdio: 'ignore' });
  rootDer = new Uint8Array(readFileSync(join(dir, 'root.der')));
  return rootDer;
}

/** Stand-in DER for certificates whose content apply never looks at: distinct per label. */
export function fakeDer(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label).digest());
}

export function pkh(label: string): string {
  return createHash('sha256').update(`key:${label}`).digest('hex');
}

export function clusterCreated(over: Partial<EventOf<'ClusterCreated'>> = {}): EventOf<'ClusterCreated'> {
  return {
    type: 'ClusterCreated',
    clusterId: '0b7e2a9c-1d3f-4e5a-8b6c-7d8e9f0a1b2c',
    rootIssuerId: ROOT_ID,
    rootCertDer: realRootDer(),
    rootSerialHex: '1a2b',
    rootNotAfter: T0 + 3650 * DAY_MS,
    wrappedRootKey: fakeDer('wrapped-root'),
    settings: { idempotencyWindowMs: 10 * 60 * 1000 },
    createdAt: T0,
    ...over,
  };
}

export function azAdded(name = AZ1, subnet = '127.1.0.0/16', localVip = '127.1.0.1'): EventOf<'AzAdded'> {
  return { type: 'AzAdded', az: { name, subnets: [subnet], localVip }, at: T0 + 1 };
}

export function azCaInstalled(issuerId = AZ1_ICA, az = AZ1, serialHex = '0a01'): EventOf<'CaCertificateInstalled'> {
  return {
    type: 'CaCertificateInstalled',
    issuerId,
    parentIssuerId: ROOT_ID,
    role: 'az',
    az,
    certDer: fakeDer(`ca:${issuerId}`),
    wrappedKey: fakeDer(`wrapped:${issuerId}`),
    serialHex,
    notAfter: T0 + 365 * DAY_MS,
    at: T0 + 2,
  };
}

export function nodeCaInstalled(issuerId = NODE1_ICA, nodeId = NODE1, serialHex = '0b01', az = AZ1, parent = AZ1_ICA): EventOf<'CaCertificateInstalled'> {
  return {
    type: 'CaCertificateInstalled',
    issuerId,
    parentIssuerId: parent,
    role: 'node',
    az,
    nodeId,
    certDer: fakeDer(`ca:${issuerId}`),
    serialHex,
    notAfter: T0 + 90 * DAY_MS,
    at: T0 + 3,
  };
}

export function nodeRegistered(nodeId = NODE1, ica = NODE1_ICA, az = AZ1): EventOf<'NodeRegistered'> {
  return { type: 'NodeRegistered', nodeId, az, addresses: { api: '127.1.0.11:8443', raft: '127.1.0.11:7443' }, tlsCertDer: fakeDer(`tls:${nodeId}`), icaIssuerId: ica, at: T0 + 4 };
}

export function issued(serialHex: string, over: Partial<EventOf<'Issued'>> = {}): EventOf<'Issued'> {
  const base = {
    issuerId: NODE1_ICA,
    requester: 'svc-a',
    publicKeyHash: pkh(serialHex),
    sans: ['dns:a.example'],
    profile: 'server',
    ...over,
  };
  return {
    type: 'Issued',
    issuerId: base.issuerId,
    serialHex,
    certDer: fakeDer(`leaf:${serialHex}`),
    notAfter: T0 + 30 * DAY_MS,
    subject: 'CN=a.example',
    sans: base.sans,
    profile: base.profile,
    requester: base.requester,
    publicKeyHash: base.publicKeyHash,
    idempotencyKey: idempotencyKey(base.requester, base.publicKeyHash, base.sans, base.profile),
    at: T0 + 10,
    ...over,
  };
}

/** Cluster, one AZ, its ICA, one node with its node ICA: the usual ground for leaf events. */
export function baseLog(): PkiEvent[] {
  return [clusterCreated(), azAdded(), azCaInstalled(), nodeCaInstalled(), nodeRegistered()];
}

export async function applyAll(store: PkiStateStore, events: PkiEvent[], firstIndex = store.appliedIndex() + 1): Promise<void> {
  const outcomes = await store.applyEvents(events.map((event, i) => ({ event, meta: { index: firstIndex + i, term: 1 } })));
  for (const [i, o] of outcomes.entries()) {
    if (o === null || !o.ok) throw new Error(`fixture event ${i} (${events[i]?.type}) not applied: ${JSON.stringify(o)}`);
  }
}

/** The raw dump with the applied-index record left out: what "changes nothing" compares. */
export async function dumpWithoutApplied(store: PkiStateStore): Promise<[string, string][]> {
  const dump = await store.dump();
  return dump.filter(([k]) => k !== '!meta!applied').map(([k, v]) => [k, Buffer.from(v).toString('hex')]);
}

export async function hexDump(store: PkiStateStore): Promise<[string, string][]> {
  return (await store.dump()).map(([k, v]) => [k, Buffer.from(v).toString('hex')]);
}
