// A node's own keys and certification requests (docs/spec.md §5.2.1: keys are generated where they
// are used and only CSRs travel). The node ICA key is written mode 0400 into the node's data
// directory and never leaves it (docs/architecture.md §4.2); the TLS key is 0600 (it is replaced on
// renewal).
import { sign as nodeSign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { signatureAlgorithmForKey, signatureAlgorithmInfo } from '../../ca/algorithms.ts';
import { bitString, implicitConstructed, integer, oid, sequence, setOf } from '../../ca/der.ts';
import { subjectAltNameExtension } from '../../ca/extensions.ts';
import type { GeneralNameInput } from '../../ca/general-names.ts';
import { readPrivateKeyFile, writePrivateKeyFile } from '../../ca/key-file.ts';
import { defaultCaKeyType, generateCaKeyPair, spkiDerOf, type CaKeyType, type GeneratedKeyPair, type KeyPairGenerator } from '../../ca/keys.ts';
import { buildName, escapeValue } from '../../ca/names.ts';
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
}

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

/** Reads back the keys `generateNodeKeys` wrote (a restarted node); refuses files readable by others. */
export async function loadNodeKeys(dataDir: string): Promise<NodeKeys> {
  const ica = await readPrivateKeyFile(join(dataDir, NODE_ICA_KEY_FILE));
  const tls = await readPrivateKeyFile(join(dataDir, NODE_TLS_KEY_FILE));
  return { ica: { privateKey: ica, spkiDer: spkiDerOf(ica) }, tls: { privateKey: tls, spkiDer: spkiDerOf(tls) } };
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
