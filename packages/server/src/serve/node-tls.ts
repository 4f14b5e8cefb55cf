// This node's TLS identity (its TLS certificate, the AZ ICA above it, the cluster root), kept in
// dataDir so a restarted node serves and dials before it has replayed its log. The private key
// is the 0600 file pki-core wrote at registration (pki-core node/ca/ca-node-keys.ts); certificates are public.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toPem, type PkiNodeApi } from '@adrestia/pki-core';
import { writeFileAtomic } from '@adrestia/pki-core/support';
import type { NodeTlsMaterial } from '../peer/https-peer-client.ts';
import type { Registered } from '../peer/bootstrap-client.ts';

const NODE_TLS_CERT_FILE = 'node-tls.crt';
const CLUSTER_ROOT_FILE = 'cluster-root.crt';
const NODE_TLS_KEY_FILE = 'node-tls.key';

export async function readNodeTls(dataDir: string): Promise<NodeTlsMaterial | null> {
  try {
    const [key, cert, ca] = await Promise.all(
      [NODE_TLS_KEY_FILE, NODE_TLS_CERT_FILE, CLUSTER_ROOT_FILE].map((f) => readFile(join(dataDir, f), 'utf8')),
    );
    return { key: key as string, cert: cert as string, ca: ca as string };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** After start-up: from the registration answer (a joiner) or from our own node record (a founder). */
export async function establishNodeTls(node: PkiNodeApi, dataDir: string, registered: Registered | null): Promise<NodeTlsMaterial> {
  const keys = node.nodeKeys();
  if (keys === null) throw new Error('assertion failed: a started node has its keys');
  let certPem: string;
  let chainPem: string;
  let rootPem: string;
  if (registered !== null) {
    certPem = toPem(registered.tlsCertDer);
    chainPem = registered.chainPem;
    rootPem = registered.rootPem;
  } else {
    const record = await node.getNode(node.nodeId);
    if (record === undefined) throw new Error(`assertion failed: founder ${node.nodeId} has no node record`);
    const bundle = await node.caBundle();
    certPem = toPem(record.tlsCertDer);
    chainPem = bundle.azIcaPem ?? '';
    rootPem = bundle.rootPem;
  }
  const material: NodeTlsMaterial = { key: keys.tls.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, cert: certPem + chainPem, ca: rootPem };
  await writeFileAtomic(join(dataDir, NODE_TLS_CERT_FILE), material.cert, 0o644, 'dataDir');
  await writeFileAtomic(join(dataDir, CLUSTER_ROOT_FILE), material.ca, 0o644, 'dataDir');
  return material;
}
