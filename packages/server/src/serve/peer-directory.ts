// Where the other nodes are: node id → AZ, API and Raft addresses, refreshed from the replicated
// node records (the cluster map's source), and pushed into the mesh as peers come and go; with
// them, the certificate each node may present (transport/peer-pins.ts), from the same poll.
import { X509Certificate } from 'node:crypto';
import type { PkiNodeApi } from '@adrestia/pki-core';
import type { MtlsMesh } from '../transport/mesh.ts';
import { PeerPins, type RenewalView } from '../transport/peer-pins.ts';

interface Entry {
  az: string;
  api: string;
  raft: string;
}

type SeedNode = { nodeId: string; az: string; addresses: { api: string; raft: string } };

/** The body of `GET /api/v1/nodes`, checked field by field. */
export function nodeListFromJson(value: unknown): SeedNode[] {
  const list = (value as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(list) || list.length > 10_000) throw new TypeError('node list: expected { nodes: [...] }');
  const str = (v: unknown): v is string => typeof v === 'string' && v.length <= 300;
  return list.filter((n): n is SeedNode => {
    const o = n as Partial<SeedNode> | null;
    return o !== null && typeof o === 'object' && str(o.nodeId) && str(o.az) && str(o.addresses?.api) && str(o.addresses?.raft);
  });
}

export class PeerDirectory {
  private entries = new Map<string, Entry>();
  /** Nodes learnt from a fetched cluster map, kept until the replicated records list them. */
  private seeds = new Map<string, Entry>();
  private mesh: MtlsMesh | null = null;
  /** Who may speak for each node id on the mesh and the peer endpoint. */
  readonly pins: PeerPins;
  /** The notBefore of each registered TLS certificate, by the pin (SHA-256 hex) that names it. */
  private notBeforeByPin = new Map<string, number>();

  constructor(private readonly selfId: string) {
    this.pins = new PeerPins(selfId);
  }

  attach(mesh: MtlsMesh): void {
    this.mesh = mesh;
    for (const [id, e] of this.entries) this.pushPeer(id, e);
  }

  /**
   * From the node's records as applied there (PkiNodeApi.listNodes, withdrawnNodeIds,
   * nodeTlsPins, azIcaCertificates: no read barrier); the mesh then closes connections the pins
   * no longer admit.
   */
  async refresh(node: PkiNodeApi): Promise<void> {
    const [nodes, withdrawn, pins, azIcas] = await Promise.all([node.listNodes(), node.withdrawnNodeIds(), node.nodeTlsPins(), node.azIcaCertificates()]);
    this.pins.update(pins, withdrawn, this.renewalView(nodes, pins, azIcas));
    const next = new Map<string, Entry>();
    for (const n of nodes) next.set(n.nodeId, { az: n.az, api: n.addresses.api, raft: n.addresses.raft });
    for (const [id, e] of this.seeds) {
      if (next.has(id) || withdrawn.has(id)) this.seeds.delete(id);
      else next.set(id, e);
    }
    for (const id of this.entries.keys()) if (!next.has(id) && id !== this.selfId) this.mesh?.removePeer(id);
    for (const [id, e] of next) {
      const old = this.entries.get(id);
      if (old === undefined || old.raft !== e.raft) this.pushPeer(id, e);
    }
    this.entries = next;
    this.mesh?.recheckPeers();
  }

  /** What lets the pins recognise a renewed certificate not applied here yet (transport/peer-pins.ts). */
  private renewalView(nodes: readonly { nodeId: string; az: string; tlsCertDer: Uint8Array }[], pins: ReadonlyMap<string, string>, azIcas: ReadonlyMap<string, readonly Uint8Array[]>): RenewalView {
    const notBeforeByPin = new Map<string, number>();
    const registered = new Map<string, { az: string; notBeforeMs: number }>();
    for (const n of nodes) {
      const pin = pins.get(n.nodeId);
      if (pin === undefined) continue;
      const notBeforeMs = this.notBeforeByPin.get(pin) ?? Date.parse(new X509Certificate(n.tlsCertDer).validFrom);
      notBeforeByPin.set(pin, notBeforeMs);
      registered.set(n.nodeId, { az: n.az, notBeforeMs });
    }
    this.notBeforeByPin = notBeforeByPin;
    const icas = new Map([...azIcas].map(([az, ders]) => [az, ders.map((der) => new X509Certificate(der))]));
    return { registered, azIcas: icas };
  }

  /**
   * A joining node knows nobody until its log catches up, yet must answer its local leader: it
   * starts from the cluster map its AZ serves (public data, docs/spec.md §7.3). Applied at the next
   * refresh.
   */
  seed(nodes: readonly SeedNode[]): void {
    for (const n of nodes) if (n.addresses.raft !== '') this.seeds.set(n.nodeId, { az: n.az, api: n.addresses.api, raft: n.addresses.raft });
  }

  /** Whether any node of another AZ is known (seeded or from the replicated records). */
  knowsNodeOutside(az: string): boolean {
    for (const e of this.entries.values()) if (e.az !== az) return true;
    for (const e of this.seeds.values()) if (e.az !== az) return true;
    return false;
  }

  apiAddressOf(nodeId: string): string | undefined {
    return this.entries.get(nodeId)?.api;
  }

  azOf(nodeId: string): string | undefined {
    return this.entries.get(nodeId)?.az;
  }

  nodesOf(az: string): string[] {
    return [...this.entries].filter(([, e]) => e.az === az).map(([id]) => id);
  }

  private pushPeer(id: string, e: Entry): void {
    if (this.mesh === null || id === this.selfId) return;
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(e.raft);
    if (m === null) return;
    this.mesh.setPeer(id, { host: m[1] ?? m[2] ?? '', port: Number(m[3]) });
  }
}
