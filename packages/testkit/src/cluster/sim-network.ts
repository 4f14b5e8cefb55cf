// The simulated network of a two-tier cluster. Both tiers travel over it: local-group messages
// addressed to a node id, and seat messages addressed to an AZ name, which reach every node of
// that AZ (only its acting local leader steps them; MemorySeatNetwork does the same).
//
// Every delivery is a scheduler event, so loss, duplication, delay and the reordering that
// unequal delays produce all come from the run's seed. Links can be cut per direction between
// nodes and between AZs (one-way partitions: A hears B but B does not hear A). A message is
// re-checked when it arrives: a link cut or a crash while it is in flight loses it.
import { decodeMessage, encodeMessage } from '@adrestia/consensus';
import type { Message, MessageHandler, NodeId, SeededRandom, Transport } from '@adrestia/consensus';
import type { Scheduler } from './virtual-time.ts';

/** Per-message fault rates; permille so that a seed's choices are integers. */
export interface LinkFaults {
  lossPermille: number;
  duplicatePermille: number;
  minDelayUs: number;
  maxDelayUs: number;
  /** A message now and then is much later than the rest (a retransmission, a GC pause). */
  spikePermille: number;
  spikeDelayUs: number;
}

export const CALM_LINKS: LinkFaults = Object.freeze({
  lossPermille: 0,
  duplicatePermille: 0,
  minDelayUs: 500,
  maxDelayUs: 2_000,
  spikePermille: 0,
  spikeDelayUs: 0,
});

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

type Tier = 'local' | 'seat';

export class SimNetwork {
  faults: LinkFaults = { ...CALM_LINKS };
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };
  private readonly azOf = new Map<NodeId, string>();
  private readonly endpoints = new Map<string, SimEndpoint>();
  /** Directed cuts `from>to` between nodes and between AZs. */
  private readonly nodeCuts = new Set<string>();
  private readonly azCuts = new Set<string>();
  /** Messages that reached a stalled node, waiting in its sockets for the process to run again. */
  private readonly held = new Map<NodeId, { tier: Tier; wire: Uint8Array; label: string }[]>();

  /** Sees every message a node's local-tier Raft sends, before the network takes it. */
  onLocalSend: ((nodeId: NodeId, m: Message) => void) | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: SeededRandom,
  ) {}

  /** The transport of node `nodeId` for one tier; a restarted node gets a new one. */
  endpoint(tier: Tier, nodeId: NodeId, az: string): Transport {
    this.azOf.set(nodeId, az);
    const key = `${tier}/${nodeId}`;
    const existing = this.endpoints.get(key);
    if (existing && !existing.isClosed) throw new Error(`SimNetwork: ${key} is already connected`);
    const e = new SimEndpoint(tier, nodeId, az, this);
    this.endpoints.set(key, e);
    return e;
  }

  /** Closes both endpoints of a node at once (a crash). */
  disconnect(nodeId: NodeId): void {
    for (const tier of ['local', 'seat'] as const) this.endpoints.get(`${tier}/${nodeId}`)?.kill();
    this.dropHeld(nodeId);
  }

  /** Cuts traffic from `from` to `to` (and back unless `oneWay`). */
  cutNodes(from: NodeId, to: NodeId, oneWay = false): void {
    this.nodeCuts.add(`${from}>${to}`);
    if (!oneWay) this.nodeCuts.add(`${to}>${from}`);
  }

  /** Cuts `nodeId` off from every other node of its AZ (and from every other AZ): both tiers. */
  isolateNode(nodeId: NodeId, oneWay = false): void {
    for (const other of this.azOf.keys()) if (other !== nodeId) this.cutNodes(nodeId, other, oneWay);
  }

  /** Cuts AZ `from` off from AZ `to` (and back unless `oneWay`). */
  cutAzs(from: string, to: string, oneWay = false): void {
    this.azCuts.add(`${from}>${to}`);
    if (!oneWay) this.azCuts.add(`${to}>${from}`);
  }

  /** Cuts `az` off from every other AZ. */
  isolateAz(az: string, allAzs: readonly string[], oneWay = false): void {
    for (const other of allAzs) if (other !== az) this.cutAzs(az, other, oneWay);
  }

  heal(): void {
    this.nodeCuts.clear();
    this.azCuts.clear();
  }

  /**
   * Node `nodeId` stops reading its sockets (a process stall): messages that arrive for it are
   * kept, in order, as the kernel keeps them in a socket buffer, until {@link resume}.
   */
  stall(nodeId: NodeId): void {
    if (!this.held.has(nodeId)) this.held.set(nodeId, []);
  }

  /** The stalled node reads again: what it was sent is handed over now, after what is queued. */
  resume(nodeId: NodeId): void {
    const held = this.held.get(nodeId);
    if (!held) return;
    this.held.delete(nodeId);
    for (const { tier, wire, label } of held) {
      this.scheduler.after(0, `${label} held`, () => {
        const target = this.endpoints.get(`${tier}/${nodeId}`);
        if (!target || target.isClosed) return void this.stats.dropped++;
        this.stats.delivered++;
        target.receive(decodeMessage(wire));
      }, nodeId);
    }
  }

  /** A stalled node that loses power loses what its sockets held. */
  private dropHeld(nodeId: NodeId): void {
    this.stats.dropped += this.held.get(nodeId)?.length ?? 0;
    this.held.delete(nodeId);
  }

  hasCuts(): boolean {
    return this.nodeCuts.size > 0 || this.azCuts.size > 0;
  }

  reachable(from: NodeId, to: NodeId): boolean {
    if (this.nodeCuts.has(`${from}>${to}`)) return false;
    const [fa, ta] = [this.azOf.get(from), this.azOf.get(to)];
    return !(fa !== undefined && ta !== undefined && fa !== ta && this.azCuts.has(`${fa}>${ta}`));
  }

  /** @internal Called by SimEndpoint.send. */
  route(sender: SimEndpoint, messages: readonly Message[]): void {
    for (const m of messages) {
      if (sender.tier === 'local') this.onLocalSend?.(sender.nodeId, m);
      this.stats.sent++;
      // Through the wire codec: receivers never share objects with senders.
      const wire = encodeMessage(m);
      const targets = sender.tier === 'local' ? [m.to] : this.nodesOfAz(m.to);
      for (const to of targets) this.transmit(sender, to, wire, m);
    }
  }

  private nodesOfAz(az: string): NodeId[] {
    const out: NodeId[] = [];
    for (const [id, a] of this.azOf) if (a === az) out.push(id);
    return out;
  }

  private transmit(sender: SimEndpoint, to: NodeId, wire: Uint8Array, m: Message): void {
    const f = this.faults;
    if (!this.reachable(sender.nodeId, to) || this.random.nextInt(1000) < f.lossPermille) {
      this.stats.dropped++;
      return;
    }
    const copies = this.random.nextInt(1000) < f.duplicatePermille ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delayUs = f.minDelayUs + this.random.nextInt(Math.max(1, f.maxDelayUs - f.minDelayUs + 1));
      if (this.random.nextInt(1000) < f.spikePermille) delayUs += f.spikeDelayUs;
      const label = `${sender.tier} ${m.type} ${sender.nodeId}>${to} t${m.term}`;
      this.scheduler.after(delayUs, label, () => this.deliver(sender, to, wire, label), to);
    }
  }

  private deliver(sender: SimEndpoint, to: NodeId, wire: Uint8Array, label: string): void {
    const target = this.endpoints.get(`${sender.tier}/${to}`);
    if (!target || target.isClosed || !this.reachable(sender.nodeId, to)) {
      this.stats.dropped++;
      return;
    }
    const held = this.held.get(to);
    if (held) return void held.push({ tier: sender.tier, wire, label });
    this.stats.delivered++;
    target.receive(decodeMessage(wire));
  }
}

class SimEndpoint implements Transport {
  private handler: MessageHandler | null = null;
  private closed = false;

  constructor(
    readonly tier: Tier,
    readonly nodeId: NodeId,
    /** Local messages come from the node id, seat messages from the AZ name. */
    readonly az: string,
    private readonly network: SimNetwork,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  send(messages: readonly Message[]): void {
    if (this.closed || messages.length === 0) return;
    const self = this.tier === 'local' ? this.nodeId : this.az;
    for (const m of messages) if (m.from !== self) throw new Error(`SimNetwork ${this.tier}/${this.nodeId}: message from ${m.from}`);
    this.network.route(this, messages);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.kill();
  }

  kill(): void {
    this.closed = true;
    this.handler = null;
  }

  receive(message: Message): void {
    if (!this.closed) this.handler?.(message);
  }
}
