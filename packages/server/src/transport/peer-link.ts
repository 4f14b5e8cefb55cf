// The outbound half of a connection to one peer: a bounded queue of encoded frames and a TLS
// socket that is (re)dialled with backoff while there is something to send. Frames written to a
// socket that then breaks are lost; Raft retries (§5.3), so the link never replays them.
import { checkServerIdentity, connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { backoffDelayMs } from './backoff.ts';
import { BoundedQueue } from './bounded-queue.ts';
import { failedOnlyOnExpiry } from '../http/tls.ts';
import { certSha256Hex, checkPeer, type LocalIdentity } from './identity.ts';
import type { MtlsMeshOptions, MtlsTlsMaterial, PeerAddress } from './types.ts';

/** Our TLS material and its identity as of now: the mesh replaces both when the node renews its certificate. */
export interface MeshCredentials {
  tls: MtlsTlsMaterial;
  local: LocalIdentity;
}

type LinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export class PeerLink {
  private state: LinkState = 'idle';
  private socket: TLSSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private writable = true;
  /** SHA-256 (hex) of the certificate the current socket's peer presented, once checked. */
  private peerCert: { sha256: string; cert: X509Certificate; expired: boolean } | null = null;
  private readonly queue: BoundedQueue<Buffer>;

  constructor(
    readonly nodeId: string,
    private address: PeerAddress,
    private readonly credentials: MeshCredentials,
    private readonly options: MtlsMeshOptions,
    private readonly uriPrefix: string,
  ) {
    this.queue = new BoundedQueue(options.maxQueuedFrames, options.maxQueuedBytes);
  }

  get isConnected(): boolean {
    return this.state === 'connected';
  }

  get queuedFrames(): number {
    return this.queue.length;
  }

  setAddress(address: PeerAddress): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.address = address;
    // A moved peer: drop the old connection; the next frame dials the new address.
    this.socket?.destroy();
  }

  /** Closes the connection when `admitPeer` now refuses the certificate it was admitted with (MtlsMesh.recheckPeers). */
  recheck(): void {
    const { admitPeer, admitExpiredPeer } = this.options;
    const admit = this.peerCert?.expired === true ? (id: string, sha: string) => admitExpiredPeer?.(id, sha) : admitPeer;
    if (admit === undefined || this.socket === null || this.peerCert === null) return;
    if (refusal(admit, this.nodeId, this.peerCert.sha256, this.peerCert.cert) === undefined) return;
    this.options.onEvent?.('peerRefused');
    this.options.logger?.warn({ peer: this.nodeId }, 'transport peer no longer admitted; closing');
    this.socket.destroy();
  }

  enqueue(frame: Buffer): void {
    if (this.state === 'closed') return;
    const dropped = this.queue.push(frame);
    for (let i = 0; i < dropped; i++) this.options.onEvent?.('queueDropped');
    if (this.state === 'connected') this.flush();
    else if (this.state === 'idle') this.dial();
  }

  close(): void {
    this.state = 'closed';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.clear();
    this.socket?.destroy();
    this.socket = null;
  }

  private dial(): void {
    this.state = 'connecting';
    const socket: TLSSocket = connect({
      host: this.address.host,
      port: this.address.port,
      ...secureContextOf(this.credentials.tls),
      // Without `admitExpiredPeer`, OpenSSL's verdict ends the handshake; with it, `onConnected`
      // refuses every peer that is neither verified (chain and the checks below) nor, failing
      // only on expiry, exactly pinned (`checkExpired`, docs/architecture.md §21).
      rejectUnauthorized: this.options.admitExpiredPeer === undefined,
      // The chain is verified by OpenSSL against the cluster root; the certificate must name the
      // address dialled (RFC 6125 §6) and the node we meant to reach, not be our own (identity.ts),
      // and be the one that node may present (`admitPeer`: peer-pins.ts).
      checkServerIdentity: (host: string, cert: PeerCertificate): Error | undefined => {
        const error = checkServerIdentity(host, cert) ?? this.checkDialled(socket, new X509Certificate(cert.raw));
        if (error !== undefined) this.options.onEvent?.('peerRefused');
        return error;
      },
    });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.options.connectTimeoutMs, () => socket.destroy(new Error('connect timeout')));
    socket.once('secureConnect', () => this.onConnected(socket));
    // The peer never writes on our outbound connection (it dials its own): data is a violation.
    socket.on('data', () => {
      this.options.onEvent?.('frameMalformed');
      socket.destroy();
    });
    socket.on('drain', () => {
      this.writable = true;
      this.flush();
    });
    socket.once('error', (err: Error) => {
      this.options.logger?.debug({ peer: this.nodeId, err: err.message }, 'transport link error');
    });
    socket.once('close', () => this.onClosed(socket));
  }

  private checkDialled(socket: TLSSocket, cert: X509Certificate): Error | undefined {
    try {
      checkPeer(cert, this.credentials.local, { uriPrefix: this.uriPrefix, expectedNodeId: this.nodeId });
    } catch (err) {
      return err as Error;
    }
    const certSha256 = certSha256Hex(cert);
    const refused = this.options.admitPeer === undefined ? undefined : refusal(this.options.admitPeer, this.nodeId, certSha256, cert);
    if (refused === undefined && this.socket === socket) this.peerCert = { sha256: certSha256, cert, expired: false };
    return refused;
  }

  /**
   * A peer whose certificate failed verification only by expiring: the host dialled, the node
   * meant and our own certificate are checked as for any peer, then `admitExpiredPeer` (the exact
   * pin). Any other unverified peer, or a verified one whose checks failed, is refused.
   */
  private checkUnverified(socket: TLSSocket): Error | undefined {
    const admitExpired = this.options.admitExpiredPeer;
    const raw = socket.getPeerCertificate();
    if (admitExpired === undefined || !failedOnlyOnExpiry(socket) || raw.raw === undefined) return new Error(`peer ${this.nodeId}: ${String(socket.authorizationError)}`);
    const cert = new X509Certificate(raw.raw);
    const nameError = checkServerIdentity(this.address.host, raw);
    if (nameError !== undefined) return nameError;
    try {
      checkPeer(cert, this.credentials.local, { uriPrefix: this.uriPrefix, expectedNodeId: this.nodeId });
    } catch (err) {
      return err as Error;
    }
    const certSha256 = certSha256Hex(cert);
    const refused = refusal((id, sha) => admitExpired(id, sha), this.nodeId, certSha256, cert);
    if (refused === undefined) this.peerCert = { sha256: certSha256, cert, expired: true };
    return refused;
  }

  private onConnected(socket: TLSSocket): void {
    if (this.socket !== socket || this.state === 'closed') return;
    const refused = socket.authorized ? undefined : this.checkUnverified(socket);
    if (refused !== undefined) {
      this.options.onEvent?.('peerRefused');
      this.options.logger?.warn({ peer: this.nodeId, err: refused.message }, 'transport peer refused');
      socket.destroy();
      return;
    }
    socket.setTimeout(0);
    socket.setKeepAlive(true, 1_000);
    this.state = 'connected';
    this.attempt = 0;
    this.writable = true;
    this.options.onEvent?.('connected');
    this.options.logger?.debug({ peer: this.nodeId }, 'transport link up');
    this.flush();
  }

  private onClosed(socket: TLSSocket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.peerCert = null;
    if (this.state === 'closed') return;
    this.options.onEvent?.(this.state === 'connected' ? 'disconnected' : 'connectFailed');
    this.state = 'backoff';
    const delay = backoffDelayMs(this.attempt, this.options.backoff, this.options.random);
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state !== 'backoff') return;
      this.state = 'idle';
      if (this.queue.length > 0) this.dial();
    }, delay);
  }

  private flush(): void {
    const socket = this.socket;
    if (socket === null) return;
    while (this.writable && this.queue.length > 0) {
      const frame = this.queue.shift() as Buffer;
      this.writable = socket.write(frame);
    }
  }
}

/** Why `admit` refuses the peer now, or undefined when it admits it. */
export function refusal(
  admit: (nodeId: string, certSha256: string, cert: X509Certificate) => void,
  nodeId: string,
  certSha256: string,
  cert: X509Certificate,
): Error | undefined {
  try {
    admit(nodeId, certSha256, cert);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** The secure context of every mesh handshake, inbound and outbound: TLS 1.3, our key and chain, the cluster root. */
export function secureContextOf(tls: MtlsTlsMaterial): { key: string | Buffer; cert: string | Buffer; ca: string | Buffer; minVersion: 'TLSv1.3' } {
  return { key: tls.key, cert: tls.cert, ca: tls.ca, minVersion: 'TLSv1.3' };
}
