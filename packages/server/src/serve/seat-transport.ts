// The global group's transport. A member is an AZ seat, acted for by whichever node leads the
// AZ's local group now; the sender cannot know which one, so a seat message goes to every node
// of the target AZ and the acting one steps it (TwoTierNode drops it elsewhere). A received seat
// message is accepted only from a node of the AZ it claims to come from.
import type { Message, MessageHandler, Transport } from '@adrestia/consensus';
import { decodeMessage, encodeMessage } from '@adrestia/consensus';
import type { MtlsMesh } from '../transport/mesh.ts';

const SEAT_GROUP = 'seat';

export class SeatTransport implements Transport {
  private handler: MessageHandler | null = null;
  private closed = false;

  constructor(
    private readonly mesh: MtlsMesh,
    private readonly ownAz: string,
    /** Node ids of an AZ, from the replicated node records (kept current by the caller). */
    private readonly nodesOf: (az: string) => readonly string[],
    private readonly azOfNode: (nodeId: string) => string | undefined,
  ) {
    mesh.onGroup(SEAT_GROUP, (from, payload) => this.receive(from, payload));
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      const payload = encodeMessage(m);
      for (const nodeId of this.nodesOf(m.to)) if (nodeId !== this.mesh.nodeId) this.mesh.send(nodeId, SEAT_GROUP, payload);
    }
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handler = null;
    this.mesh.offGroup(SEAT_GROUP);
  }

  private receive(fromNodeId: string, payload: Buffer): void {
    if (this.closed) return;
    let m: Message;
    try {
      m = decodeMessage(payload);
    } catch {
      return;
    }
    if (m.to !== this.ownAz || this.azOfNode(fromNodeId) !== m.from) return;
    this.handler?.(m);
  }
}
