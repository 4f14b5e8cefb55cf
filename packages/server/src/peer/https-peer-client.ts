// The PeerClient of a server node: PKI requests to another node over HTTPS with mutual TLS (node
// certificates chained to the cluster root; the node called must present the certificate
// registered for it, transport/peer-pins.ts), msgpack bodies, `POST /internal/v1/peer`. Before
// this node has certificates (Phase II), `register` and `foundAz` go through the bootstrap
// client instead (PSK-authenticated HTTPS to a VIP).
import type { X509Certificate } from 'node:crypto';
import { Agent } from 'node:https';
import { PkiError, type PeerClient, type PeerRequest, type PeerResponse } from '@adrestia/pki-core';
import type { PeerPins } from '../transport/peer-pins.ts';
import { certSha256Hex } from '../transport/identity.ts';
import { decodePeerResponse, encodePeer, PEER_RESPONSE_BYTES_MAX, PEER_MEDIA_TYPE, PEER_PATH } from './codec.ts';
import { httpCall } from './http-request.ts';

export interface NodeTlsMaterial {
  key: string;
  /** Our TLS certificate followed by its chain up to (not including) the root. */
  cert: string;
  /** What node TLS trusts (serve/node-tls.ts trustPemOf): every valid root and the cross certificates between them. */
  ca: string;
}

export interface HttpsPeerClientOptions {
  /** The `host:port` of a node's HTTPS API (from the replicated node records). */
  apiAddressOf: (nodeId: string) => string | undefined;
  /** Our TLS material once we have it; null before registration. */
  tls: () => NodeTlsMaterial | null;
  /** Serves `register` / `foundAz` while `tls()` is null. */
  bootstrap: PeerClient | null;
  /**
   * The registered TLS certificate of each node (transport/peer-pins.ts): the node called must
   * present exactly that one, as on the Raft mesh, not merely a chain to the root naming its id.
   */
  pins: Pick<PeerPins, 'admitMeshPeer' | 'requireExpiredPinned'>;
  localAddress?: string;
  /** A proposal waits for a commit on the other side: allow for a leader change. */
  timeoutMs: number;
}

/**
 * How long a health probe's connection stays open unused: several probe rounds (one per
 * maintenance round, pki-node.ts), and below the servers' keep-alive timeout (http/server.ts,
 * 5 s by default) so the client, not the server, closes an idle one.
 */
const PROBE_IDLE_MS = 2_000;

export class HttpsPeerClient implements PeerClient {
  /**
   * Health probes (`ping`, node/membership/health.ts) reuse their connections: a TLS handshake
   * per probe on both ends was a steady share of a local leader's CPU. Other calls (proposals,
   * forwards) keep a connection each, so a connection lost under a request never hides a retry.
   */
  private readonly probeAgent = new Agent({ keepAlive: true, maxSockets: 1, timeout: PROBE_IDLE_MS });

  constructor(private readonly options: HttpsPeerClientOptions) {}

  /** Closes the health probes' kept-alive connections. */
  close(): void {
    this.probeAgent.destroy();
  }

  async call(nodeId: string, request: PeerRequest): Promise<PeerResponse> {
    const tls = this.options.tls();
    if (tls === null) {
      if (this.options.bootstrap === null || (request.kind !== 'register' && request.kind !== 'foundAz')) {
        throw new PkiError('ERR_NOT_FOUND', `no node certificate yet: cannot send ${request.kind} to ${nodeId}`);
      }
      return this.options.bootstrap.call(nodeId, request);
    }
    const address = this.options.apiAddressOf(nodeId);
    if (address === undefined) throw new PkiError('ERR_TIMEOUT', `no address known for node ${nodeId}`);
    let result;
    try {
      result = await httpCall(`https://${address}${PEER_PATH}`, {
        method: 'POST',
        headers: { 'content-type': PEER_MEDIA_TYPE, accept: PEER_MEDIA_TYPE },
        body: encodePeer(request),
        timeoutMs: this.options.timeoutMs,
        maxResponseBytes: PEER_RESPONSE_BYTES_MAX,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        // The node we meant to reach, answering for the address its registration names.
        serverNode: nodeId,
        checkServer: (cert) => pinError(this.options.pins, nodeId, cert),
        // Expired, yet exactly the certificate registered for the node (docs/architecture.md §21).
        ...(request.kind === 'ping' ? { agent: this.probeAgent } : { acceptExpiredServer: (cert: X509Certificate) => expiredPinError(this.options.pins, nodeId, cert) }),
        ...(this.options.localAddress === undefined ? {} : { localAddress: this.options.localAddress }),
      });
    } catch (cause) {
      // Unreachable or slow peers are transient for the caller (it retries while leaders change).
      throw new PkiError('ERR_TIMEOUT', `peer ${nodeId} at ${address}: ${(cause as Error).message}`, { cause });
    }
    if (result.status === 200) return decodePeerResponse(result.body);
    const error = errorOf(result.body);
    return { kind: 'error', code: error.code, message: error.message, leaderId: null };
  }
}

function pinError(pins: Pick<PeerPins, 'admitMeshPeer'>, nodeId: string, cert: X509Certificate): Error | undefined {
  try {
    pins.admitMeshPeer(nodeId, certSha256Hex(cert), cert);
    return undefined;
  } catch (refused) {
    return refused as Error;
  }
}

function expiredPinError(pins: Pick<PeerPins, 'requireExpiredPinned'>, nodeId: string, cert: X509Certificate): Error | undefined {
  try {
    pins.requireExpiredPinned(nodeId, certSha256Hex(cert));
    return undefined;
  } catch (refused) {
    return refused as Error;
  }
}

export function errorOf(body: Buffer): { code: string; message: string } {
  try {
    const v = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a peer sends a string message; any other JSON value is shown as String() shows it
    if (typeof v.error?.code === 'string') return { code: v.error.code, message: String(v.error.message ?? '') };
  } catch {
    // not JSON
  }
  return { code: 'ERR_INTERNAL', message: 'unexpected answer' };
}
