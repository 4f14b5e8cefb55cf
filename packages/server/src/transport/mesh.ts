// Node-to-node transport over mutually authenticated TLS 1.3. Each node listens for inbound
// connections (frames in) and dials one outbound connection per peer (frames out); every Raft
// group of the node (the AZ's local group, the global seat group) shares those connections, the
// frame naming its group. Peers are authenticated by chain (cluster root) and node id (SAN URI),
// then admitted by `admitPeer` (peer-pins.ts: the node's registered certificate, exactly). A peer
// whose certificate failed verification only by expiring is admitted by `admitExpiredPeer` alone
// (the exact pin: a cluster restarted after long downtime, docs/architecture.md §21).
// A renewed TLS key and certificate (`setTls`) serve every handshake from then on, inbound
// (`tls.Server.setSecureContext`) and outbound (each dial reads the current material);
// connections already up keep theirs until a peer's pins close them (`recheckPeers`).
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { ServerError } from '../errors.ts';
import { decodeEnvelope, encodeEnvelope } from './envelope.ts';
import { encodeFrame, FrameDecoder } from './frame.ts';
import { certSha256Hex, checkPeer, DEFAULT_NODE_URI_PREFIX, localIdentity, nodeIdOf, type LocalIdentity } from './identity.ts';
import { guardConnections } from '../http/connection-guard.ts';
import { failedOnlyOnExpiry } from '../http/tls.ts';
import { PeerLink, refusal, secureContextOf, type MeshCredentials } from './peer-link.ts';
import type { MtlsMeshOptions, MtlsTlsMaterial, PeerAddress } from './types.ts';

/** Receives one group's inbound payloads, with the authenticated sending node. */
export type FrameHandler = (fromNodeId: string, payload: Buffer) => void;

export class MtlsMesh {
  readonly nodeId: string;
  private readonly options: MtlsMeshOptions;
  /** Our current TLS material and its identity, replaced whole by `setTls`. */
  private readonly credentials: MeshCredentials;
  private readonly uriPrefix: string;
  private readonly server: Server;
  private readonly links = new Map<string, PeerLink>();
  private readonly addresses = new Map<string, PeerAddress>();
  private readonly handlers = new Map<string, FrameHandler>();
  /** Every inbound socket, from TCP accept on (handshakes included), so close() ends them all. */
  private readonly inbound = new Set<Socket>();
  /** The admitted inbound connections and who they speak for, so `recheckPeers` can close them. */
  private readonly admitted = new Map<TLSSocket, { peerId: string; certSha256: string; cert: X509Certificate; expired: boolean }>();
  private closed = false;

  constructor(options: MtlsMeshOptions) {
    this.options = options;
    this.nodeId = options.nodeId.toLowerCase();
    this.uriPrefix = options.nodeUriPrefix ?? DEFAULT_NODE_URI_PREFIX;
    this.credentials = { tls: options.tls, local: this.identityOf(options.tls) };
    this.server = createServer({
      ...secureContextOf(options.tls),
      requestCert: true,
      // Verified by OpenSSL against the cluster root all the same; `acceptInbound` refuses an
      // unverified peer unless its only fault is expiry and it is exactly pinned (§21).
      rejectUnauthorized: options.admitExpiredPeer === undefined,
      handshakeTimeout: options.connectTimeoutMs,
    });
    this.server.on('connection', (socket: Socket) => {
      this.inbound.add(socket);
      socket.once('close', () => this.inbound.delete(socket));
    });
    // A failed or timed-out handshake closes its socket; peers keep one link each, so a source
    // address with many connections is not a peer. Authenticated links may be quiet for long
    // (followers rarely talk to each other): no idle timeout once the handshake is done.
    guardConnections(this.server, { maxConnections: options.maxInboundConnections, maxConnectionsPerSource: options.maxInboundPerSource, idleTimeoutMs: 0 }, (why, source) => {
      this.options.onEvent?.(why === 'handshake' ? 'handshakeFailed' : 'inboundRejectedLimit');
      this.options.logger?.debug({ source, why }, 'transport inbound connection closed');
    });
    this.server.on('secureConnection', (socket) => this.acceptInbound(socket));
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /**
   * Serves `tls` (a renewed key and certificate of this node) on every handshake from now on.
   * Connections already up keep the material they were made with.
   */
  setTls(tls: MtlsTlsMaterial): void {
    const local = this.identityOf(tls);
    this.server.setSecureContext(secureContextOf(tls));
    this.credentials.tls = tls;
    this.credentials.local = local;
  }

  /** Adds or moves a peer (from the cluster map). */
  setPeer(nodeId: string, address: PeerAddress): void {
    const id = nodeId.toLowerCase();
    if (id === this.nodeId) throw new TypeError('a node is not its own peer');
    this.addresses.set(id, address);
    this.links.get(id)?.setAddress(address);
  }

  removePeer(nodeId: string): void {
    const id = nodeId.toLowerCase();
    this.addresses.delete(id);
    this.links.get(id)?.close();
    this.links.delete(id);
  }

  /** Registers the single receiver of a group's frames. */
  onGroup(group: string, handler: FrameHandler): void {
    if (this.handlers.has(group)) throw new TypeError(`group ${group} already has a handler`);
    this.handlers.set(group, handler);
  }

  offGroup(group: string): void {
    this.handlers.delete(group);
  }

  /** Queues `payload` for `nodeId`. Fire-and-forget: an unknown peer or a full queue drops it. */
  send(nodeId: string, group: string, payload: Uint8Array): void {
    if (this.closed) return;
    const id = nodeId.toLowerCase();
    const address = this.addresses.get(id);
    if (address === undefined) {
      this.options.onEvent?.('noRoute');
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeFrame(encodeEnvelope({ group, message: payload }), this.options.maxFrameBytes);
    } catch (err) {
      if (!(err instanceof ServerError)) throw err;
      // A message the peer would refuse anyway; snapshots are chunked below this bound.
      this.options.onEvent?.('sendOversize');
      this.options.logger?.warn({ peer: id, group, bytes: payload.byteLength }, 'dropped oversize frame');
      return;
    }
    let link = this.links.get(id);
    if (link === undefined) {
      link = new PeerLink(id, address, this.credentials, this.options, this.uriPrefix);
      this.links.set(id, link);
    }
    link.enqueue(frame);
  }

  /**
   * Runs `admitPeer` again over every open connection, inbound and outbound, and closes those it
   * now refuses: a node withdrawn, or whose registered certificate changed, after its handshake.
   */
  recheckPeers(): void {
    const admit = this.options.admitPeer;
    if (admit === undefined) return;
    const admitExpired = this.options.admitExpiredPeer;
    for (const [socket, peer] of this.admitted) {
      const refused = peer.expired ? refusal((id, sha) => admitExpired?.(id, sha), peer.peerId, peer.certSha256, peer.cert) : refusal(admit, peer.peerId, peer.certSha256, peer.cert);
      if (refused === undefined) continue;
      this.options.onEvent?.('peerRefused');
      this.options.logger?.warn({ peer: peer.peerId }, 'transport peer no longer admitted; closing');
      socket.destroy();
    }
    for (const link of this.links.values()) link.recheck();
  }

  /** Whether the outbound connection to `nodeId` is up (for status and tests). */
  isConnected(nodeId: string): boolean {
    return this.links.get(nodeId.toLowerCase())?.isConnected ?? false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.handlers.clear();
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.inbound) socket.destroy();
    this.inbound.clear();
    this.admitted.clear();
    if (this.server.listening) await stopped;
  }

  private acceptInbound(socket: TLSSocket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    let peerId: string;
    let certSha256: string;
    let cert: X509Certificate | undefined;
    const admitExpired = this.options.admitExpiredPeer;
    const expired = admitExpired !== undefined && failedOnlyOnExpiry(socket);
    try {
      cert = socket.getPeerX509Certificate();
      if (cert === undefined || !(socket.authorized || expired)) throw new ServerError('ERR_TRANSPORT_PEER_REFUSED', 'no verified peer certificate');
      peerId = checkPeer(cert, this.credentials.local, { uriPrefix: this.uriPrefix });
      certSha256 = certSha256Hex(cert);
      if (expired) admitExpired(peerId, certSha256);
      else this.options.admitPeer?.(peerId, certSha256, cert);
    } catch (err) {
      this.options.onEvent?.('peerRefused');
      this.options.logger?.warn({ err: (err as Error).message, remote: socket.remoteAddress }, 'transport peer refused');
      socket.destroy();
      return;
    }
    this.admitted.set(socket, { peerId, certSha256, cert, expired });
    socket.once('close', () => this.admitted.delete(socket));
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1_000);
    const decoder = new FrameDecoder(this.options.maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.onInboundData(socket, decoder, peerId, chunk));
    socket.on('error', () => undefined);
  }

  /** The identity of `tls`; misconfiguration, not a peer fault, when it names another node. */
  private identityOf(tls: MtlsTlsMaterial): LocalIdentity {
    // Peers would refuse us with the wrong node id anyway.
    if (nodeIdOf(new X509Certificate(tls.cert), this.uriPrefix) !== this.nodeId) {
      throw new TypeError(`MtlsMesh: our certificate does not name node ${this.nodeId} as ${this.uriPrefix}<uuid>`);
    }
    return localIdentity(this.nodeId, tls.cert);
  }

  private onInboundData(socket: TLSSocket, decoder: FrameDecoder, peerId: string, chunk: Buffer): void {
    let payloads: Buffer[];
    try {
      payloads = decoder.push(chunk);
    } catch {
      // After a bad length the stream cannot be resynchronised: close it.
      this.options.onEvent?.('frameTooLarge');
      this.options.logger?.warn({ peer: peerId }, 'transport peer sent an oversize frame; closing');
      socket.destroy();
      return;
    }
    for (const payload of payloads) {
      const envelope = decodeEnvelope(payload);
      if (envelope === undefined) {
        this.options.onEvent?.('frameMalformed');
        socket.destroy();
        return;
      }
      const handler = this.handlers.get(envelope.group);
      if (handler === undefined) {
        this.options.onEvent?.('unknownGroup');
        continue;
      }
      handler(peerId, Buffer.from(envelope.message.buffer, envelope.message.byteOffset, envelope.message.byteLength));
    }
  }
}
