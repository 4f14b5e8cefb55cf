// A running node serves its renewed TLS key and certificate (pki-core node/ca/node-renewal.ts)
// without a restart: once `renewedNodeTls` (node-tls.ts) finds them, the peer client (it reads
// `tlsRef` on every call), the mTLS mesh and the HTTPS listeners take them for every handshake
// from then on. Connections already up keep the old certificate until the peers, having applied
// the renewal, close them (transport/peer-pins.ts, MtlsMesh.recheckPeers).
//
// A node whose `NodeRenewed` was committed while it was down or cut off from its AZ (a crash
// right after asking, a restart of the whole AZ before it applied the entry) still presents the
// certificate the renewal replaced. Its peers pin the new one (transport/peer-pins.ts: the
// replaced certificate is admitted only for a short grace after they apply the renewal), so the
// log could never bring it the entry. While a TLS renewal key is pending, the follower therefore
// also asks the local VIP for the node's registered certificate (public, `GET /api/v1/nodes/:id`)
// and takes it up when it certifies the pending key (pki-core `takeUpRenewedTls` checks the key
// and the AZ ICA signature, so an answer over plain HTTP can give nothing else).
import type { PkiNodeApi } from '@adrestia/pki-core';
import type { Logger } from '../log/logger.ts';
import type { NodeTlsMaterial } from '../peer/https-peer-client.ts';
import { renewedNodeTls, type RenewalReads } from './node-tls.ts';

/** How often a pending renewal asks for the registered certificate. */
export const TAKE_UP_EVERY_MS = 10_000;

export type FollowerReads = RenewalReads & Pick<PkiNodeApi, 'tlsRenewalPending' | 'takeUpRenewedTls'>;

/** This node's TLS certificate as its local VIP's holder registers it; null when it cannot tell now. */
export type RegisteredTlsFetch = () => Promise<Uint8Array | null>;

/** What serves this node's TLS material: the mesh and the listeners. */
export interface TlsServing {
  setTls(tls: NodeTlsMaterial): void;
}

export class NodeTlsFollower {
  private following = false;
  private nextTakeUpMs = 0;

  constructor(
    private readonly node: FollowerReads,
    private readonly dataDir: string,
    private readonly tlsRef: { current: NodeTlsMaterial | null },
    private readonly serving: readonly TlsServing[],
    private readonly logger: Logger,
    private readonly registeredTls: RegisteredTlsFetch,
    private readonly monotonicMs: () => number = () => performance.now(),
  ) {}

  /** One check (the directory refresh timer): whether a renewed certificate was taken up. */
  async maybeFollow(): Promise<boolean> {
    const current = this.tlsRef.current;
    if (this.following || current === null) return false;
    this.following = true;
    try {
      const next = (await renewedNodeTls(this.node, this.dataDir, current)) ?? (await this.takenUp(current));
      if (next === null) return false;
      this.tlsRef.current = next;
      for (const s of this.serving) s.setTls(next);
      this.logger.info({ nodeId: this.node.nodeId }, 'serving the renewed node TLS certificate');
      return true;
    } finally {
      this.following = false;
    }
  }

  /** The registered certificate for the pending key, taken up (see the top of this file); null when there is none yet. */
  private async takenUp(current: NodeTlsMaterial): Promise<NodeTlsMaterial | null> {
    const nowMs = this.monotonicMs();
    if (nowMs < this.nextTakeUpMs || !(await this.node.tlsRenewalPending())) return null;
    this.nextTakeUpMs = nowMs + TAKE_UP_EVERY_MS;
    const certDer = await this.registeredTls();
    if (certDer === null || !(await this.node.takeUpRenewedTls(certDer))) return null;
    this.logger.warn({ nodeId: this.node.nodeId }, 'took up the renewed node TLS certificate from the local VIP: its renewal was committed while this node was away');
    return renewedNodeTls(this.node, this.dataDir, current, certDer);
  }
}
