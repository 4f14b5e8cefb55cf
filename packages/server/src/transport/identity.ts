// Who is on the other end of a node-to-node connection. The TLS layer has already verified the
// peer's chain against the cluster root (rejectUnauthorized); here we check that the certificate
// names a node (SAN URI `<prefix><nodeId>`), the node we meant to reach when we dialled, and that
// it is not our own certificate: a node must never "peer" with itself through a VIP or a stale
// address (same SPKI or same certificate fingerprint). Which certificate a named node may present
// is peer-pins.ts's check, made after this one.
import { createHash, X509Certificate } from 'node:crypto';
import { ServerError } from '../errors.ts';
import { sanUris } from '../http/tls.ts';

export const DEFAULT_NODE_URI_PREFIX = 'urn:adrestia:node:';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface LocalIdentity {
  nodeId: string;
  /** SHA-256 of our certificate's SubjectPublicKeyInfo DER. */
  spkiSha256: string;
  /** SHA-256 fingerprint of our certificate. */
  certSha256: string;
}

function spkiSha256(cert: X509Certificate): string {
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** SHA-256 (hex) of a certificate's DER: what peer-pins.ts compares with the registered certificate. */
export function certSha256Hex(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** The identity of our own certificate (the first PEM block of `certPem`). */
export function localIdentity(nodeId: string, certPem: string | Buffer): LocalIdentity {
  const cert = new X509Certificate(certPem);
  return { nodeId, spkiSha256: spkiSha256(cert), certSha256: cert.fingerprint256 };
}

/** The node id named by the certificate, or undefined when it names none or several. */
export function nodeIdOf(cert: X509Certificate, uriPrefix: string): string | undefined {
  const ids = sanUris(cert)
    .filter((u) => u.startsWith(uriPrefix))
    .map((u) => u.slice(uriPrefix.length).toLowerCase());
  if (ids.length !== 1) return undefined;
  const id = ids[0] as string;
  return UUID_RE.test(id) ? id : undefined;
}

/**
 * Checks a verified peer certificate; returns the peer's node id or throws
 * ERR_TRANSPORT_PEER_REFUSED. `expectedNodeId` is set when we dialled a known node.
 */
export function checkPeer(
  peer: X509Certificate,
  local: LocalIdentity,
  options: { uriPrefix: string; expectedNodeId?: string },
): string {
  if (peer.fingerprint256 === local.certSha256 || spkiSha256(peer) === local.spkiSha256) {
    throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', 'peer presents our own certificate');
  }
  const nodeId = nodeIdOf(peer, options.uriPrefix);
  if (nodeId === undefined) {
    throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `peer certificate names no single ${options.uriPrefix}<uuid>`);
  }
  if (nodeId === local.nodeId.toLowerCase()) {
    throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', 'peer certificate carries our own node id');
  }
  if (options.expectedNodeId !== undefined && nodeId !== options.expectedNodeId.toLowerCase()) {
    throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', `expected node ${options.expectedNodeId}, peer is ${nodeId}`);
  }
  return nodeId;
}
