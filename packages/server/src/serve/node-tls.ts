// This node's TLS identity (its TLS certificate, the AZ ICA above it, the cluster root), kept in
// dataDir so a restarted node serves and dials before it has replayed its log. The private key
// is the 0600 file pki-core wrote at registration (pki-core node/ca/ca-node-keys.ts); certificates are public.
// pki-core renews the key and certificate (node/ca/node-renewal.ts): it promotes the new key once
// this node has applied the `NodeRenewed` that registers the certificate; `renewedNodeTls` then
// finds the node's own record naming a certificate for the key in use and writes it here.
// Node TLS trusts every valid root of the cluster and the cross certificates between them
// (`trustPemOf`; docs/architecture.md §19.3): after a root rollover, a peer whose certificate was
// renewed under the new root and one still under the old root verify each other, either directly
// or through a cross certificate (RFC 4158 §2.3). `renewedNodeTls` also takes up a change of that
// set with the certificate unchanged.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isPkiError, pemBlocks, PkiError, toPem, type CaBundle, type PkiNodeApi } from '@adrestia/pki-core';
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

/** What node TLS trusts: every root still valid and the cross certificates between them. */
export function trustPemOf(bundle: Pick<CaBundle, 'rootsPem' | 'crossCertificatesPem'>): string {
  return bundle.rootsPem + bundle.crossCertificatesPem;
}

/**
 * A restarting node refuses to start once every cluster root in its bundle has expired: all the
 * cluster's certificates chain to a root, and no CA of the cluster can re-issue one (the root is
 * renewed only by a rollover while it is valid, pki-core node/ca/root-rollover.ts). An expired
 * node TLS certificate, node ICA or AZ ICA is recovered instead (docs/architecture.md §21).
 */
export function requireUnexpiredRoot(material: NodeTlsMaterial, nowMs: number): void {
  const roots = pemBlocks(material.ca).map((b) => new X509Certificate(b.der));
  if (roots.length === 0 || roots.some((r) => Date.parse(r.validTo) > nowMs)) return;
  const ends = roots.map((r) => new Date(Date.parse(r.validTo)).toISOString()).join(', ');
  throw new PkiError(
    'ERR_EXPIRED',
    `the cluster root expired (${ends}) while this node was off: no certificate of the cluster verifies and no CA here can re-issue the root; found a new cluster or restore a backup under a new root (docs/architecture.md §21)`,
    { field: 'cluster-root.crt' },
  );
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
    // The registration bundle's root; `renewedNodeTls` (run right after) widens it to every root.
    rootPem = registered.rootPem;
  } else {
    const record = await node.getNode(node.nodeId);
    if (record === undefined) throw new Error(`assertion failed: founder ${node.nodeId} has no node record`);
    const bundle = await node.caBundle();
    certPem = toPem(record.tlsCertDer);
    chainPem = bundle.azIcaPem ?? '';
    rootPem = trustPemOf(bundle);
  }
  return writeNodeTls(dataDir, { key: keys.tls.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, cert: certPem + chainPem, ca: rootPem });
}

/**
 * The renewed TLS material, once this node's record (as applied here) names a TLS certificate
 * other than the one `current` serves and the node's key in use is that certificate's (the
 * certificate and the AZ ICA that signed it), or once the roots and cross certificates trusted
 * change (a root rollover): null while neither changed (or the key is not promoted yet). Also run
 * at start-up: a crash between the key's promotion and the certificate's file leaves the files
 * disagreeing, which the state settles. `takenUpCertDer`: a certificate the node took up from a
 * peer for its pending key (PkiNodeApi.takeUpRenewedTls) instead of its own record.
 */
export type RenewalReads = Pick<PkiNodeApi, 'nodeId' | 'az' | 'nodeKeys' | 'listNodes' | 'azIcaCertificates' | 'caBundle'>;

export async function renewedNodeTls(node: RenewalReads, dataDir: string, current: NodeTlsMaterial, takenUpCertDer?: Uint8Array): Promise<NodeTlsMaterial | null> {
  const keys = node.nodeKeys();
  // A certificate taken up from a peer (node-tls-follower.ts) stands for the record not applied yet.
  const certDer = takenUpCertDer ?? (await node.listNodes()).find((n) => n.nodeId === node.nodeId)?.tlsCertDer;
  if (keys === null || certDer === undefined) return null;
  const renewed = await renewedCertificate(node, keys.tls.privateKey, certDer, current);
  // A joiner that has not applied the cluster yet keeps the root its registration answer gave.
  const ca = (await trustOf(node)) ?? current.ca;
  if (renewed === null && ca === current.ca) return null;
  return writeNodeTls(dataDir, { ...(renewed ?? { key: current.key, cert: current.cert }), ca });
}

async function trustOf(node: Pick<RenewalReads, 'caBundle'>): Promise<string | null> {
  try {
    return trustPemOf(await node.caBundle());
  } catch (e) {
    if (isPkiError(e, 'ERR_NOT_FOUND')) return null;
    throw e;
  }
}

/** The key and certificate chain of the node's record, when it is not what `current` serves and the key in use is its own. */
async function renewedCertificate(node: RenewalReads, key: KeyObject, tlsCertDer: Uint8Array, current: NodeTlsMaterial): Promise<{ key: string; cert: string } | null> {
  const cert = new X509Certificate(tlsCertDer);
  if (cert.fingerprint256 === new X509Certificate(current.cert).fingerprint256) return null;
  if (!cert.checkPrivateKey(key)) return null;
  const icas = (await node.azIcaCertificates()).get(node.az) ?? [];
  const issuer = icas.map((der) => new X509Certificate(der)).find((ica) => cert.checkIssued(ica) && cert.verify(ica.publicKey));
  if (issuer === undefined) throw new Error(`assertion failed: the renewed TLS certificate of ${node.nodeId} has no AZ ICA of ${node.az} as its issuer`);
  return { key: key.export({ format: 'pem', type: 'pkcs8' }) as string, cert: toPem(tlsCertDer) + issuer.toString() };
}

async function writeNodeTls(dataDir: string, material: NodeTlsMaterial): Promise<NodeTlsMaterial> {
  await writeFileAtomic(join(dataDir, NODE_TLS_CERT_FILE), material.cert, 0o644, 'dataDir');
  await writeFileAtomic(join(dataDir, CLUSTER_ROOT_FILE), material.ca, 0o644, 'dataDir');
  return material;
}
