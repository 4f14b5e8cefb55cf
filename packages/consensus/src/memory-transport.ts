// An in-process network connecting drivers (tests, benchmarks, single-process clusters).
// Messages are delivered asynchronously (never re-entrantly inside send()), in order per sender,
// and by default through the wire codec, so a receiver never shares objects with the sender and
// anything that would not survive real serialization fails here too. Tests can cut links
// (partitions, isolation) or drop messages with a filter.
import { decodeMessage, encodeMessage } from './codec.ts';
import type { Message } from './messages.ts';
import type { MessageHandler, Transport } from './transport.ts';
import type { NodeId } from './types.ts';

export interface MemoryNetworkOptions {
  /** Encode and decode every message as the wire would (default true). */
  throughCodec?: boolean;
}

/** Returns true to drop the message. */
export type DropFilter = (message: Message) => boolean;

export interface MemoryNetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
}

export class MemoryNetwork {
  private readonly endpoints = new Map<NodeId, MemoryTransport>();
  /** Partition label per node; nodes with different labels cannot reach each other. */
  private readonly side = new Map<NodeId, number>();
  private isolatedLabel = 0;
  private dropFilter: DropFilter | null = null;
  private readonly throughCodec: boolean;
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, dropped: 0 };

  constructor(options: MemoryNetworkOptions = {}) {
    this.throughCodec = options.throughCodec ?? true;
  }

  /** The transport of node `id`. A node restarting gets a new endpoint; the old one must be closed. */
  endpoint(id: NodeId): MemoryTransport {
    const existing = this.endpoints.get(id);
    if (existing && !existing.isClosed) throw new Error(`MemoryNetwork: ${id} is already connected`);
    const transport = new MemoryTransport(id, this);
    this.endpoints.set(id, transport);
    return transport;
  }

  /** The current endpoint of `id`, if it ever connected. */
  endpointOf(id: NodeId): MemoryTransport | undefined {
    return this.endpoints.get(id);
  }

  /** Splits the nodes into groups that cannot reach each other; unlisted nodes join group 0. */
  partition(...groups: NodeId[][]): void {
    this.side.clear();
    groups.forEach((group, i) => group.forEach((id) => this.side.set(id, i + 1)));
  }

  /** Cuts `id` off from everyone else. */
  isolate(id: NodeId): void {
    this.side.set(id, --this.isolatedLabel); // a label no other node has
  }

  /** Restores full connectivity (the drop filter stays). */
  heal(): void {
    this.side.clear();
  }

  setDropFilter(filter: DropFilter | null): void {
    this.dropFilter = filter;
  }

  /** @internal Called by MemoryTransport.send. */
  route(messages: readonly Message[]): void {
    const batch: Message[] = [];
    for (const m of messages) {
      this.stats.sent++;
      if (!this.reachable(m.from, m.to) || this.dropFilter?.(m)) {
        this.stats.dropped++;
        continue;
      }
      batch.push(this.throughCodec ? decodeMessage(encodeMessage(m)) : m);
    }
    if (batch.length > 0) setImmediate(() => this.deliver(batch));
  }

  private deliver(batch: readonly Message[]): void {
    for (const m of batch) {
      // Re-checked at delivery: a link cut or a crash while the message was in flight loses it.
      const target = this.endpoints.get(m.to);
      if (!target || target.isClosed || !this.reachable(m.from, m.to)) {
        this.stats.dropped++;
        continue;
      }
      this.stats.delivered++;
      target.receive(m);
    }
  }

  private reachable(from: NodeId, to: NodeId): boolean {
    return (this.side.get(from) ?? 0) === (this.side.get(to) ?? 0);
  }
}

/** Where a MemoryTransport hands its outbound messages (a MemoryNetwork, or the seat network). */
export interface MessageRouter {
  route(messages: readonly Message[]): void;
}

/** An in-process endpoint: sends as `id` through its router, receives what the router delivers. */
export class MemoryTransport implements Transport {
  private handler: MessageHandler | null = null;
  private closed = false;

  constructor(
    readonly id: NodeId,
    private readonly network: MessageRouter,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  send(messages: readonly Message[]): void {
    if (this.closed || messages.length === 0) return;
    for (const m of messages) {
      if (m.from !== this.id) throw new Error(`MemoryTransport ${this.id}: message from ${m.from}`);
    }
    this.network.route(messages);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handler = null;
  }

  /** @internal Called by the network that routes to this endpoint. */
  receive(message: Message): void {
    if (!this.closed) this.handler?.(message);
  }
}
