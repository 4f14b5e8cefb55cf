// A node's own keys and certification requests (seed 003: keys are generated where they are used
// and only CSRs travel). The node ICA key is written mode 0400 into the node's data directory and
// never leaves it (DESIGN.md); the TLS key is 0600 (it is replaced on renewal).
import { sign as nodeSign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { signatureAlgorithmForKey, signatureAlgorithmInfo } from '../ca/algorithms.ts';
import { bitString, implicitConstructed, integer, oid, sequence, setOf } from '../ca/der.ts';
import { subjectAltNameExtension } from '../ca/extensions.ts';
import type { GeneralNameInput } from '../ca/general-names.ts';
import { readPrivateKeyFile, writePrivateKeyFile } from '../ca/key-file.ts';
import { defaultCaKeyType, generateCaKeyPair, spkiDerOf, type CaKeyType, type GeneratedKeyPair } from '../ca/keys.ts';
import { buildName, escapeValue } from '../ca/names.ts';
import { parseIp } from '../ca/ip-address.ts';

/** File names inside the node's data directory. */
export const NODE_ICA_KEY_FILE = 'node-ica.key';
export const NODE_TLS_KEY_FILE = 'node-tls.key';
const ICA_KEY_MODE = 0o400;
const TLS_KEY_MODE = 0o600;

export interface NodeKeys {
  readonly ica: { readonly privateKey: KeyObject; readonly spkiDer: Uint8Array; readonly path: string };
  readonly tls: { readonly privateKey: KeyObject; readonly spkiDer: Uint8Array; readonly path: string };
}

/** Generates the node ICA key and the TLS key and writes them (atomically, with their modes) into `dataDir`. */
export async function generateNodeKeys(input: { dataDir: string; keyType?: CaKeyType }): Promise<NodeKeys> {
  const keyType = input.keyType ?? defaultCaKeyType;
  const [ica, tls] = await Promise.all([generateCaKeyPair(keyType), generateCaKeyPair(keyType)]);
  const icaPath = join(input.dataDir, NODE_ICA_KEY_FILE);
  const tlsPath = join(input.dataDir, NODE_TLS_KEY_FILE);
  await writePrivateKeyFile(icaPath, ica.privateKey, ICA_KEY_MODE);
  await writePrivateKeyFile(tlsPath, tls.privateKey, TLS_KEY_MODE);
  return { ica: keyEntry(ica, icaPath), tls: keyEntry(tls, tlsPath) };
}

function keyEntry(pair: GeneratedKeyPair, path: string): NodeKeys['ica'] {
  return { privateKey: pair.privateKey, spkiDer: pair.spkiDer, path };
}

/** Reads back the keys `generateNodeKeys` wrote (a restarted node); refuses files readable by others. */
export async function loadNodeKeys(dataDir: string): Promise<NodeKeys> {
  const icaPath = join(dataDir, NODE_ICA_KEY_FILE);
  const tlsPath = join(dataDir, NODE_TLS_KEY_FILE);
  const ica = await readPrivateKeyFile(icaPath);
  const tls = await readPrivateKeyFile(tlsPath);
  return {
    ica: { privateKey: ica, spkiDer: spkiDerOf(ica), path: icaPath },
    tls: { privateKey: tls, spkiDer: spkiDerOf(tls), path: tlsPath },
  };
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
  return parseIp(host) === null ? { type: 'dns', value: host.toLowerCase() } : { type: 'ip', value: host };
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
  return [...new Set(hosts.map((h) => (parseIp(h) === null ? h.toLowerCase() : h)))];
}
