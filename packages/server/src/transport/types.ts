import type { X509Certificate } from 'node:crypto';
import type { RandomSource } from '@adrestia/consensus';
import type { Logger } from '../log/logger.ts';
import type { BackoffOptions } from './backoff.ts';

export interface PeerAddress {
  host: string;
  port: number;
}

export type TransportEvent =
  | 'connected'
  | 'disconnected'
  | 'connectFailed'
  | 'peerRefused'
  | 'handshakeFailed'
  | 'inboundRejectedLimit'
  | 'frameTooLarge'
  | 'frameMalformed'
  | 'queueDropped'
  | 'sendOversize'
  | 'noRoute'
  | 'unknownGroup';

export interface MtlsTlsMaterial {
  /** Our private key (PEM). */
  key: string | Buffer;
  /** Our node certificate followed by its intermediates up to (not including) the root (PEM). */
  cert: string | Buffer;
  /** The cluster root certificate(s) peers must chain to (PEM). */
  ca: string | Buffer;
}

export interface MtlsMeshOptions {
  nodeId: string;
  tls: MtlsTlsMaterial;
  /** SAN URI prefix naming a node: `<prefix><uuid>`. */
  nodeUriPrefix?: string;
  /** Upper bound of one frame's payload; bigger frames close the connection. */
  maxFrameBytes: number;
  /** Per-peer outbound queue bounds; the oldest frame is dropped beyond them. */
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  maxInboundConnections: number;
  /** Inbound connections from one source address (a peer needs one; reconnects overlap briefly). */
  maxInboundPerSource: number;
  /** TCP connect + TLS handshake must finish within this. */
  connectTimeoutMs: number;
  backoff: BackoffOptions;
  random: RandomSource;
  logger?: Logger;
  onEvent?: (event: TransportEvent) => void;
  /**
   * Admission of a peer whose chain and node id checked out (identity.ts), on accept and on dial,
   * and again on `recheckPeers`: throws ERR_TRANSPORT_PEER_REFUSED unless the certificate
   * (SHA-256 of its DER, hex; `cert` is that certificate) may speak for that node (peer-pins.ts:
   * the registered one, or its renewal).
   */
  admitPeer?: (nodeId: string, certSha256: string, cert: X509Certificate) => void;
  /**
   * Admission of a peer whose certificate failed verification only because it (or its AZ ICA)
   * expired (http/tls.ts `failedOnlyOnExpiry`), on accept, on dial and on `recheckPeers`: throws
   * ERR_TRANSPORT_PEER_REFUSED unless it is exactly the registered certificate (peer-pins.ts
   * `requireExpiredPinned`, docs/architecture.md §21). Absent: such a peer is refused.
   */
  admitExpiredPeer?: (nodeId: string, certSha256: string) => void;
}

export const DEFAULT_MESH_LIMITS = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxQueuedFrames: 4096,
  maxQueuedBytes: 32 * 1024 * 1024,
  maxInboundConnections: 256,
  maxInboundPerSource: 8,
  connectTimeoutMs: 5_000,
  backoff: { initialDelayMs: 50, maxDelayMs: 5_000 },
} as const;
