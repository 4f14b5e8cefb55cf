// A running node serves its renewed TLS key and certificate (pki-core node/ca/node-renewal.ts)
// without a restart: once `renewedNodeTls` (node-tls.ts) finds them, the peer client (it reads
// `tlsRef` on every call), the mTLS mesh and the HTTPS listeners take them for every handshake
// from then on. Connections already up keep the old certificate until the peers, having applied
// the renewal, close them (transport/peer-pins.ts, MtlsMesh.recheckPeers).
import type { Logger } from '../log/logger.ts';
import type { NodeTlsMaterial } from '../peer/https-peer-client.ts';
import { renewedNodeTls, type RenewalReads } from './node-tls.ts';

/** What serves this node's TLS material: the mesh and the listeners. */
export interface TlsServing {
  setTls(tls: NodeTlsMaterial): void;
}

export class NodeTlsFollower {
  private following = false;

  constructor(
    private readonly node: RenewalReads,
    private readonly dataDir: string,
    private readonly tlsRef: { current: NodeTlsMaterial | null },
    private readonly serving: readonly TlsServing[],
    private readonly logger: Logger,
  ) {}

  /** One check (the directory refresh timer): whether a renewed certificate was taken up. */
  async maybeFollow(): Promise<boolean> {
    const current = this.tlsRef.current;
    if (this.following || current === null) return false;
    this.following = true;
    try {
      const next = await renewedNodeTls(this.node, this.dataDir, current);
      if (next === null) return false;
      this.tlsRef.current = next;
      for (const s of this.serving) s.setTls(next);
      this.logger.info({ nodeId: this.node.nodeId }, 'serving the renewed node TLS certificate');
      return true;
    } finally {
      this.following = false;
    }
  }
}
