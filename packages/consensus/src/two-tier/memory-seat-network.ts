// In-process network for the global tier: seat messages are addressed to an AZ name and
// delivered to every connected node of that AZ (only its acting local leader steps them; the
// others drop them). Delivery is asynchronous, through the same codec as the wire.
import { decodeMessage, encodeMessage } from '../codec.ts';
import type { Message } from '../messages.ts';
import { MemoryTransport } from '../memory-transport.ts';
import type { Transport } from '../transport.ts';
import type { NodeId } from '../types.ts';

export class MemorySeatNetwork {
  private readonly endpoints = new Map<NodeId, { az: string; transport: MemoryTransport }>();
  private readonly azSide = new Map<string, number>();
  private readonly isolated = new Set<NodeId>();

  endpoint(az: string, nodeId: NodeId): Transport {
    const existing = this.endpoints.get(nodeId);
    if (existing && !existing.transport.isClosed) throw new Error(`MemorySeatNetwork: ${nodeId} is already connected`);
    // It sends as the seat (messages from the AZ name), routed as coming from this node.
    const transport = new MemoryTransport(az, { route: (messages) => this.route(nodeId, messages) });
    this.endpoints.set(nodeId, { az, transport });
    return transport;
  }

  /** Splits AZs into groups that cannot reach each other; unlisted AZs join group 0. */
  partitionAzs(...groups: string[][]): void {
    this.azSide.clear();
    groups.forEach((g, i) => g.forEach((az) => this.azSide.set(az, i + 1)));
  }

  /** Cuts one node off the global tier (as a crash or a NIC failure would). */
  isolateNode(nodeId: NodeId): void {
    this.isolated.add(nodeId);
  }

  heal(): void {
    this.azSide.clear();
    this.isolated.clear();
  }

  /** @internal */
  route(fromNode: NodeId, messages: readonly Message[]): void {
    const copies = messages.map((m) => decodeMessage(encodeMessage(m)));
    setImmediate(() => {
      for (const m of copies) {
        if (this.isolated.has(fromNode) || (this.azSide.get(m.from) ?? 0) !== (this.azSide.get(m.to) ?? 0)) continue;
        for (const [id, e] of this.endpoints) {
          if (e.az === m.to && !e.transport.isClosed && !this.isolated.has(id)) e.transport.receive(m);
        }
      }
    });
  }
}
