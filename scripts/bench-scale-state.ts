// One size of the scale benchmark (bench/scale.bench.ts), on one node's PKI state as production
// keeps it (node/core/pki-application.ts: LevelDB, applied batches held until one write per
// Ready): N `Issued` events and N/10 `Revoked` ones through the real apply path (the event codec
// and applyEvent, generated in bulk instead of signed over HTTPS), then restart to ready, the
// follower's catch-up by a chunked snapshot (state/snapshot-chunks.ts: streamed from the leader's
// state and installed chunk by chunk, Raft §7), a real signed CRL of every revocation, OCSP
// answers at 16 clients by the node's responder (scripts/bench-scale-ocsp.ts), and RSS.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { oid, sequence, setOf, utf8String } from '../packages/pki-core/src/ca/der.ts';
import { createRootCertificate, issueCertificate } from '../packages/pki-core/src/ca/issue.ts';
import { generateCaKeyPair } from '../packages/pki-core/src/ca/keys.ts';
import { wrapPrivateKey } from '../packages/pki-core/src/ca/key-wrap.ts';
import { issueOcspResponderCertificate } from '../packages/pki-core/src/ca/ocsp-responder-cert.ts';
import { KeyObjectSigner } from '../packages/pki-core/src/ca/signer.ts';
import { issuerIdOf, type CaHandle } from '../packages/pki-core/src/node/ca/ca-common.ts';
import { buildCrlEvent } from '../packages/pki-core/src/node/ca/ca-revocation.ts';
import { KekRing } from '../packages/pki-core/src/node/kek/kek-ring.ts';
import { ocspKeyBinding } from '../packages/pki-core/src/node/ocsp/ocsp-provisioning.ts';
import { idempotencyKey, PkiStateStore, type PkiEvent } from '../packages/pki-core/src/state/index.ts';
import { measureOcsp, type OcspFigures } from './bench-scale-ocsp.ts';

/** Events per applied batch: about what one local Raft Ready carries under load. */
const EVENTS_PER_BATCH = 256;
export const REVOKED_FRACTION = 0.1;
/** A leaf certificate's DER is about this size (bench/issuance.bench.ts leaves: ~650–750 bytes). */
const LEAF_DER_BYTES = 700;
const DAY_MS = 24 * 3600 * 1000;
const T0 = Date.UTC(2026, 0, 1);
const ROOT_ID = 'root-1';
const AZ = 'az1';
const AZ_ICA_ID = 'az1-ica';
const NODE_ID = '6f1c7a3e-8a51-4f7e-9a55-1a2b3c4d5e6f';
const NODE_ICA_ID = 'node1-ica';
/** Raft's InstallSnapshot chunk size (consensus/src/config.ts `snapshotChunkBytes`). */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
const OCSP_CLIENTS = 16;
const OCSP_ANSWERS_PER_CLIENT = 500;

export interface ScaleFigures extends OcspFigures {
  certificates: number;
  revoked: number;
  issuedAppliedPerSecond: number;
  revokedAppliedPerSecond: number;
  restartToReadySeconds: number;
  /** The chunked snapshot's size, all chunks together, and how many chunks. */
  snapshotBytes: number;
  snapshotChunks: number;
  followerInstallSeconds: number;
  crlBuildSeconds: number;
  crlBytes: number;
  /** RSS once filled, restarted and the CRL built: the node serving, before any snapshot. */
  rssServingMiB: number;
  /** The peak over the whole run, snapshot streaming and install included (one chunk at a time in memory). */
  rssMiB: number;
  /**
   * The peak of the anonymous part of RSS (Linux `RssAnon`): what the process allocates itself.
   * The rest is file-backed: LevelDB reads its table files through mmap, so every page of the
   * state read while streaming a snapshot is resident until the kernel reclaims it. Null where
   * /proc/self/status does not say.
   */
  rssAnonMiB: number | null;
}

function subject(cn: string): Uint8Array {
  return sequence(setOf(sequence(oid('2.5.4.10'), utf8String('Adrestia'))), setOf(sequence(oid('2.5.4.3'), utf8String(cn))));
}

/** The AZ's OCSP responder key, sealed under `kek`, and the node ICA's responder certificate for it (node/ocsp/ocsp-provisioning.ts). */
async function ocspResponderEvents(nodeIca: CaHandle, kek: KekRing): Promise<PkiEvent[]> {
  const key = await generateCaKeyPair('ecdsa-p256');
  const keyId = issuerIdOf(key.spkiDer);
  const notAfter = T0 + 90 * DAY_MS;
  const cert = await issueOcspResponderCertificate({
    issuer: { certDer: nodeIca.cert, signer: nodeIca.signer },
    subjectDer: subject(`OCSP responder ${AZ}`),
    spkiDer: key.spkiDer,
    serial: '7a01',
    notBefore: new Date(T0),
    notAfter: new Date(notAfter),
  });
  return [
    { type: 'OcspResponderKeyInstalled', az: AZ, keyId, spkiDer: key.spkiDer, wrappedKey: wrapPrivateKey(key.privateKey, kek.wrapKek(), ocspKeyBinding(AZ)), at: T0 + 5 },
    { type: 'OcspResponderCertified', issuerId: NODE_ICA_ID, az: AZ, keyId, serialHex: cert.serialHex, certDer: cert.der, notAfter, at: T0 + 6 },
  ];
}

/** A real root, AZ ICA and node ICA (the CRL is signed for real) and the AZ's OCSP responder. */
async function hierarchy(kek: KekRing): Promise<{ events: PkiEvent[]; nodeIca: CaHandle }> {
  const rootKey = await generateCaKeyPair('ecdsa-p256');
  const rootSigner = new KeyObjectSigner(rootKey.privateKey);
  const notBefore = new Date(T0);
  const root = await createRootCertificate({ signer: rootSigner, subjectDer: subject('Scale Root'), serial: '1a2b', notBefore, notAfter: new Date(T0 + 3650 * DAY_MS), pathLen: 2 });
  const intermediate = async (cn: string, serial: string, lifetimeDays: number, pathLen: number) => {
    const key = await generateCaKeyPair('ecdsa-p256');
    const cert = await issueCertificate({
      issuer: { certDer: root.der, signer: rootSigner },
      subjectDer: subject(cn),
      spkiDer: key.spkiDer,
      serial,
      notBefore,
      notAfter: new Date(T0 + lifetimeDays * DAY_MS),
      extensions: { basicConstraints: { ca: true, pathLen }, keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'] },
    });
    return { der: cert.der, signer: new KeyObjectSigner(key.privateKey) };
  };
  // Real certificates: the OCSP responder indexes every CA's hashes (node/ocsp/ocsp-issuers.ts).
  const azIca = await intermediate('Scale AZ ICA', '0a01', 365, 1);
  const ica = await intermediate('Scale Node ICA', '0b01', 300, 0);
  const events: PkiEvent[] = [
    { type: 'ClusterCreated', clusterId: '0b7e2a9c-1d3f-4e5a-8b6c-7d8e9f0a1b2c', rootIssuerId: ROOT_ID, rootCertDer: root.der, rootSerialHex: '1a2b', rootNotAfter: T0 + 3650 * DAY_MS, wrappedRootKey: randomBytes(96), settings: { idempotencyWindowMs: 10 * 60 * 1000 }, createdAt: T0 },
    { type: 'AzAdded', az: { name: AZ, subnets: ['127.170.0.0/16'], localVip: '127.170.0.1' }, at: T0 + 1 },
    { type: 'CaCertificateInstalled', issuerId: AZ_ICA_ID, parentIssuerId: ROOT_ID, role: 'az', az: AZ, certDer: azIca.der, wrappedKey: randomBytes(96), serialHex: '0a01', notAfter: T0 + 365 * DAY_MS, at: T0 + 2 },
    { type: 'CaCertificateInstalled', issuerId: NODE_ICA_ID, parentIssuerId: AZ_ICA_ID, role: 'node', az: AZ, nodeId: NODE_ID, certDer: ica.der, serialHex: '0b01', notAfter: T0 + 300 * DAY_MS, at: T0 + 3 },
    { type: 'NodeRegistered', nodeId: NODE_ID, az: AZ, addresses: { api: '127.170.0.11:8443', raft: '127.170.0.11:7443' }, tlsCertDer: randomBytes(LEAF_DER_BYTES), icaIssuerId: NODE_ICA_ID, at: T0 + 4 },
  ];
  const nodeIca = { cert: ica.der, signer: ica.signer, issuerId: NODE_ICA_ID };
  return { events: [...events, ...(await ocspResponderEvents(nodeIca, kek))], nodeIca };
}

/** Positive, canonical (state/README.md "Serials"), distinct per certificate. */
function serialOf(i: number): string {
  return `1${i.toString(16).padStart(31, '0')}`;
}

/** Leaf `i` of `issuerId`, issued at t0 + 10 + i ms, valid 90 days from t0 (the bench's leaves; scripts/bench-scale-failover.ts too). */
export function issuedEvent(i: number, issuerId = NODE_ICA_ID, t0 = T0): PkiEvent {
  const publicKeyHash = createHash('sha256').update(`key:${i}`).digest('hex');
  const sans = [`dns:leaf-${i}.az1.adrestia.test`];
  return {
    type: 'Issued',
    issuerId,
    serialHex: serialOf(i),
    certDer: randomBytes(LEAF_DER_BYTES),
    notAfter: t0 + 90 * DAY_MS,
    subject: `CN=leaf-${i}.az1.adrestia.test`,
    sans,
    profile: 'serverLeaf',
    requester: 'bench',
    publicKeyHash,
    idempotencyKey: idempotencyKey('bench', publicKeyHash, sans, 'serverLeaf'),
    at: t0 + 10 + i,
  };
}

/** The revocation of leaf `i` (of `n` issued before it). */
export function revokedEvent(i: number, n: number, issuerId = NODE_ICA_ID, t0 = T0): PkiEvent {
  return { type: 'Revoked', issuerId, serialHex: serialOf(i), reason: 'keyCompromise', revokedAt: t0 + 20 + n + i, requestedBy: 'bench', notAfter: t0 + 90 * DAY_MS };
}

/** Applies `count` events made by `make`, EVENTS_PER_BATCH per atomic write; returns events/s. */
async function applyInBatches(store: PkiStateStore, count: number, make: (i: number) => PkiEvent): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i += EVENTS_PER_BATCH) {
    const first = store.appliedIndex() + 1;
    const events = Array.from({ length: Math.min(EVENTS_PER_BATCH, count - i) }, (_, k) => make(i + k));
    const outcomes = await store.applyEvents(events.map((event, k) => ({ event, meta: { index: first + k } })));
    const refused = outcomes.find((o) => o === null || !o.ok);
    if (refused !== undefined) throw new Error(`bench: event refused: ${JSON.stringify(refused)}`);
    await store.flush();
  }
  return count / ((performance.now() - started) / 1000);
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** Linux: the anonymous resident bytes of this process (`RssAnon` in /proc/self/status), or null. */
function anonymousRssBytes(): number | null {
  try {
    const kb = /^RssAnon:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

export async function measureScale(dir: string, n: number): Promise<ScaleFigures> {
  const revoked = Math.round(n * REVOKED_FRACTION);
  const kek = new KekRing(randomBytes(32));
  const { events, nodeIca } = await hierarchy(kek);
  const options = { writeOnApply: false } as const;
  const stateDir = join(dir, 'state');
  let store = await PkiStateStore.open(stateDir, options);
  let rssMax = 0;
  let anonMax = 0;
  const sampleRss = (): void => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    anonMax = Math.max(anonMax, anonymousRssBytes() ?? 0);
  };
  const sampler = setInterval(sampleRss, 200);
  try {
    await applyInBatches(store, events.length, (i) => events[i]!);
    const issuedAppliedPerSecond = await applyInBatches(store, n, (i) => issuedEvent(i));
    // Spread over the serial space: every tenth certificate.
    const revokedAppliedPerSecond = await applyInBatches(store, revoked, (i) => revokedEvent(Math.floor(i / REVOKED_FRACTION), n));

    await store.close();
    let t = performance.now();
    store = await PkiStateStore.open(stateDir, options);
    // Ready: the applied index is known and the first queries answer from the state on disk.
    if ((await store.cluster()) === undefined || (await store.getCertificate(NODE_ICA_ID, serialOf(n - 1))) === undefined) {
      throw new Error('bench: the reopened state lost data');
    }
    const restartToReadySeconds = seconds(t);

    t = performance.now();
    const crl = await buildCrlEvent({ issuer: nodeIca, store, nowMs: T0 + 30 * DAY_MS, nextUpdateSeconds: 24 * 3600 });
    const crlBuildSeconds = seconds(t);
    const rssServingMiB = process.memoryUsage().rss / (1024 * 1024);

    const ocsp = await measureOcsp(
      { store, nodeId: NODE_ID, az: AZ, kek, issuerCertDer: nodeIca.cert, randomSerialHex: () => serialOf(Math.floor(Math.random() * n * 1.1)) },
      OCSP_CLIENTS,
      OCSP_ANSWERS_PER_CLIENT,
      T0 + 30 * DAY_MS,
    );

    // The leader streams chunks as Raft would send them; the follower stages each as it arrives.
    t = performance.now();
    const follower = await PkiStateStore.open(join(dir, 'follower'), options);
    const install = follower.beginInstall();
    let snapshotBytes = 0;
    let snapshotChunks = 0;
    for await (const chunk of (await store.snapshotChunks(SNAPSHOT_CHUNK_BYTES)).chunks) {
      snapshotBytes += chunk.byteLength;
      snapshotChunks++;
      await install.write(chunk);
    }
    await install.commit(store.appliedIndex());
    const followerInstallSeconds = seconds(t);
    if ((await follower.getCertificate(NODE_ICA_ID, serialOf(n - 1))) === undefined) throw new Error('bench: the installed snapshot lost data');
    await follower.close();
    sampleRss();
    return {
      certificates: n,
      revoked,
      issuedAppliedPerSecond,
      revokedAppliedPerSecond,
      restartToReadySeconds,
      snapshotBytes,
      snapshotChunks,
      followerInstallSeconds,
      crlBuildSeconds,
      crlBytes: crl.crlDer.byteLength,
      rssServingMiB,
      rssMiB: rssMax / (1024 * 1024),
      rssAnonMiB: anonMax === 0 ? null : anonMax / (1024 * 1024),
      ...ocsp,
    };
  } finally {
    clearInterval(sampler);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
