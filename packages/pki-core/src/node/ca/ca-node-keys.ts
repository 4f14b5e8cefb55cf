// A node's own keys and certification requests (docs/spec.md §5.2.1: keys are generated where they
// are used and only CSRs travel). The node ICA key is written mode 0400 into the node's data
// directory and never leaves it (docs/architecture.md §4.2); the TLS key is 0600 (it is replaced on
// renewal).
import { createHash, sign as nodeSign, type KeyObject } from 'node:crypto';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { signatureAlgorithmForKey, signatureAlgorithmInfo } from '../../ca/algorithms.ts';
import { bitString, bytesEqual, implicitConstructed, integer, oid, sequence, setOf } from '../../ca/der.ts';
import { subjectAltNameExtension } from '../../ca/extensions.ts';
import type { GeneralNameInput } from '../../ca/general-names.ts';
import { readPrivateKeyFile, writePrivateKeyFile } from '../../ca/key-file.ts';
import { defaultCaKeyType, generateCaKeyPair, spkiDerOf, type CaKeyType, type GeneratedKeyPair, type KeyPairGenerator } from '../../ca/keys.ts';
import { buildName, escapeValue } from '../../ca/names.ts';
import { PkiError } from '../../errors.ts';
import { parseIpAddress } from '../../net/ip.ts';

/** File names inside the node's data directory. */
export const NODE_ICA_KEY_FILE = 'node-ica.key';
export const NODE_TLS_KEY_FILE = 'node-tls.key';
const ICA_KEY_MODE = 0o400;
const TLS_KEY_MODE = 0o600;

export interface NodeKey {
  readonly privateKey: KeyObject;
  readonly spkiDer: Uint8Array;
}

export interface NodeKeys {
  readonly ica: NodeKey;
  readonly tls: NodeKey;
  /**
   * Keys of the node's earlier node ICAs (replaced by renewal, node/ca/node-renewal.ts): kept
   * while those certificates are valid, so their CRLs still answer for what they signed.
   */
  readonly previousIcas?: readonly NodeKey[];
}

/** Which of the node's two keys: its node ICA key or its TLS key. */
export type NodeKeyKind = 'ica' | 'tls';

/**
 * Where a node makes and keeps its own keys. The node ICA key is generated here and never leaves
 * the node; `createNodeKeys` returns only once both keys are durable, before any CSR is sent, so a
 * node that crashes after registering restarts with the keys its certificates name.
 */
export interface NodeKeyStore {
  /** A fresh key pair for a CA this node creates (the root, an AZ ICA). */
  readonly generateCaKey: KeyPairGenerator;
  /** Generates the node ICA key and the TLS key and keeps them durably. */
  createNodeKeys(keyType: CaKeyType): Promise<NodeKeys>;
  /** The keys `createNodeKeys` kept (a restarted node). */
  loadNodeKeys(): Promise<NodeKeys>;
  /** The renewal key made for `kind` and not yet promoted, if any (a renewal cut short is retried with it). */
  pendingRenewalKey(kind: NodeKeyKind): Promise<NodeKey | null>;
  /** A fresh renewal key for `kind`, durable before its CSR leaves; it replaces an earlier pending one. */
  createRenewalKey(kind: NodeKeyKind, keyType: CaKeyType): Promise<NodeKey>;
  /**
   * The pending key's certificate is committed: it becomes the `kind` key in use. A replaced node
   * ICA key joins `previousIcas`; a replaced TLS key is dropped (nothing it signed outlives it).
   */
  promoteRenewalKey(kind: NodeKeyKind): Promise<NodeKeys>;
}

/** The production store: key files in the node's data directory (ICA 0400, TLS 0600). */
export class FileNodeKeyStore implements NodeKeyStore {
  readonly generateCaKey: KeyPairGenerator = generateCaKeyPair;

  constructor(private readonly dataDir: string) {}

  createNodeKeys(keyType: CaKeyType): Promise<NodeKeys> {
    return generateNodeKeys({ dataDir: this.dataDir, keyType });
  }

  loadNodeKeys(): Promise<NodeKeys> {
    return loadNodeKeys(this.dataDir);
  }

  async pendingRenewalKey(kind: NodeKeyKind): Promise<NodeKey | null> {
    const key = await readKeyIfPresent(join(this.dataDir, PENDING_KEY_FILE[kind]));
    return key === null ? null : { privateKey: key, spkiDer: spkiDerOf(key) };
  }

  async createRenewalKey(kind: NodeKeyKind, keyType: CaKeyType): Promise<NodeKey> {
    const pair = await generateCaKeyPair(keyType);
    await writePrivateKeyFile(join(this.dataDir, PENDING_KEY_FILE[kind]), pair.privateKey, KEY_MODE[kind]);
    return nodeKeyOf(pair);
  }

  /** Each step replaces one whole file, so a crash between them is finished by promoting again. */
  async promoteRenewalKey(kind: NodeKeyKind): Promise<NodeKeys> {
    const pending = await this.pendingRenewalKey(kind);
    if (pending === null) throw new Error(`assertion failed: no pending ${kind} renewal key to promote`);
    if (kind === 'ica') {
      const current = await readPrivateKeyFile(join(this.dataDir, NODE_ICA_KEY_FILE));
      await writePrivateKeyFile(join(this.dataDir, previousIcaKeyFile(spkiDerOf(current))), current, ICA_KEY_MODE);
    }
    await writePrivateKeyFile(join(this.dataDir, kind === 'ica' ? NODE_ICA_KEY_FILE : NODE_TLS_KEY_FILE), pending.privateKey, KEY_MODE[kind]);
    await unlink(join(this.dataDir, PENDING_KEY_FILE[kind]));
    return loadNodeKeys(this.dataDir);
  }
}

const KEY_MODE: Record<NodeKeyKind, number> = { ica: ICA_KEY_MODE, tls: TLS_KEY_MODE };
const PENDING_KEY_FILE: Record<NodeKeyKind, string> = { ica: 'node-ica.next.key', tls: 'node-tls.next.key' };
const PREVIOUS_ICA_KEY_FILE = /^node-ica\.prev-[0-9a-f]{16}\.key$/;

/** A replaced node ICA key, named by its public key so promoting twice writes the same file. */
function previousIcaKeyFile(spkiDer: Uint8Array): string {
  return `node-ica.prev-${createHash('sha256').update(spkiDer).digest('hex').slice(0, 16)}.key`;
}

async function readKeyIfPresent(path: string): Promise<KeyObject | null> {
  try {
    return await readPrivateKeyFile(path);
  } catch (e) {
    if (e instanceof PkiError && e.code === 'ERR_IO' && (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return null;
    throw e;
  }
}

/** Generates the node ICA key and the TLS key and writes them (atomically, with their modes) into `dataDir`. */
export async function generateNodeKeys(input: { dataDir: string; keyType?: CaKeyType }): Promise<NodeKeys> {
  const keyType = input.keyType ?? defaultCaKeyType;
  const [ica, tls] = await Promise.all([generateCaKeyPair(keyType), generateCaKeyPair(keyType)]);
  await writePrivateKeyFile(join(input.dataDir, NODE_ICA_KEY_FILE), ica.privateKey, ICA_KEY_MODE);
  await writePrivateKeyFile(join(input.dataDir, NODE_TLS_KEY_FILE), tls.privateKey, TLS_KEY_MODE);
  return { ica: nodeKeyOf(ica), tls: nodeKeyOf(tls) };
}

function nodeKeyOf(pair: GeneratedKeyPair): NodeKey {
  return { privateKey: pair.privateKey, spkiDer: pair.spkiDer };
}

/** Reads back the keys `generateNodeKeys` wrote and renewal replaced (a restarted node); refuses files readable by others. */
export async function loadNodeKeys(dataDir: string): Promise<NodeKeys> {
  const ica = await readPrivateKeyFile(join(dataDir, NODE_ICA_KEY_FILE));
  const tls = await readPrivateKeyFile(join(dataDir, NODE_TLS_KEY_FILE));
  const icaSpki = spkiDerOf(ica);
  const previousIcas: NodeKey[] = [];
  for (const name of (await readdir(dataDir)).filter((n) => PREVIOUS_ICA_KEY_FILE.test(n)).sort()) {
    const key = await readPrivateKeyFile(join(dataDir, name));
    const spkiDer = spkiDerOf(key);
    if (!bytesEqual(spkiDer, icaSpki)) previousIcas.push({ privateKey: key, spkiDer });
  }
  return { ica: { privateKey: ica, spkiDer: icaSpki }, tls: { privateKey: tls, spkiDer: spkiDerOf(tls) }, ...(previousIcas.length > 0 ? { previousIcas } : {}) };
}

/** The URI SAN that names a node in its TLS certificate (mTLS peers are identified by it). */
export function nodeUri(nodeId: string): string {
  return `urn:adrestia:node:${nodeId}`;
}

/** A host of a `host:port` or `[v6]:port` endpoint. */
export function endpointHost(endpoint: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):\d+$/.exec(endpoint);
  if (m === null) throw new TypeError(`endpoint ${JSON.stringify(endpoint)} is not host:port`);
  return m[1] ?? m[2]!;
}

/** An IP address or DNS name as a SAN entry. */
export function hostSan(host: string): GeneralNameInput {
  return parseIpAddress(host) === undefined ? { type: 'dns', value: host.toLowerCase() } : { type: 'ip', value: host };
}

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14'; // PKCS#9 (RFC 2985 §5.4.2)

/**
 * A PKCS#10 CertificationRequest (RFC 2986 §4) signed with `privateKey`, with the SANs in an
 * extensionRequest attribute. Built by DER concatenation, like certificates.
 */
export function buildCsr(input: { subject: string; privateKey: KeyObject; sans?: readonly GeneralNameInput[] }): Uint8Array {
  const algorithm = signatureAlgorithmForKey(input.privateKey);
  const info = signatureAlgorithmInfo(algorithm);
  const sans = input.sans ?? [];
  const attributes =
    sans.length === 0
      ? implicitConstructed(0)
      : implicitConstructed(0, sequence(oid(OID_EXTENSION_REQUEST), setOf(sequence(subjectAltNameExtension(sans, false)))));
  const requestInfo = sequence(integer(0), buildName(input.subject), spkiDerOf(input.privateKey), attributes);
  const signature = nodeSign(info.nodeDigest, requestInfo, input.privateKey);
  return sequence(requestInfo, info.algorithmIdentifierDer, bitString(signature));
}

export interface NodeCsrs {
  readonly icaCsrDer: Uint8Array;
  readonly tlsCsrDer: Uint8Array;
}

/**
 * The node's two CSRs: its ICA (subject only; the AZ ICA decides the extensions) and its TLS
 * certificate (SAN URI `urn:adrestia:node:<nodeId>` plus the node's IP addresses and DNS names).
 */
export function makeNodeCsrs(input: { keys: NodeKeys; nodeId: string; az: string; hosts: readonly string[] }): NodeCsrs {
  const id = escapeValue(input.nodeId);
  const az = escapeValue(input.az);
  const sans: GeneralNameInput[] = [{ type: 'uri', value: nodeUri(input.nodeId) }, ...uniqueHosts(input.hosts).map(hostSan)];
  return {
    icaCsrDer: buildCsr({ subject: `CN=Adrestia node ${id} ICA,OU=${az}`, privateKey: input.keys.ica.privateKey }),
    tlsCsrDer: buildCsr({ subject: `CN=${id},OU=${az}`, privateKey: input.keys.tls.privateKey, sans }),
  };
}

function uniqueHosts(hosts: readonly string[]): string[] {
  return [...new Set(hosts.map((h) => (parseIpAddress(h) === undefined ? h.toLowerCase() : h)))];
}
