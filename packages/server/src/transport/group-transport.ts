// The consensus `Transport` of one Raft group, carried by the node's MtlsMesh. Group members are
// not always nodes: in the global group a member is an AZ seat, reached through whichever node
// is that AZ's localLeader now, so the mapping member → node is a callback the caller keeps
// current from the cluster map.
import { decodeMessage, encodeMessage, type Message, type MessageHandler, type Transport } from '@adrestia/consensus';
import type { MtlsMesh } from './mesh.ts';

export interface GroupTransportOptions {
  group: string;
  /** Our member id in this group (nodeId for a local group, AZ name for the global group). */
  localMemberId: string;
  /** The node currently acting for `memberId`, or undefined when unknown (message dropped). */
  resolveNode: (memberId: string) => string | undefined;
  /**
   * Whether the authenticated node `fromNodeId` may speak for `message.from`. Local groups pass
   * `(n, m) => n === m.from`; seats check the AZ's current localLeader or its membership.
   */
  isSenderAllowed: (fromNodeId: string, message: Message) => boolean;
  onDropped?: (reason: 'decode' | 'misaddressed' | 'sender' | 'noRoute') => void;
}

export class GroupTransport implements Transport {
  private handler: MessageHandler | null = null;
  private closed = false;

  constructor(
    private readonly mesh: MtlsMesh,
    private readonly options: GroupTransportOptions,
  ) {
    mesh.onGroup(options.group, (fromNodeId, payload) => this.receive(fromNodeId, payload));
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      const nodeId = this.options.resolveNode(m.to);
      if (nodeId === undefined) {
        this.options.onDropped?.('noRoute');
        continue;
      }
      this.mesh.send(nodeId, this.options.group, encodeMessage(m));
    }
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    this.mesh.offGroup(this.options.group);
  }

  private receive(fromNodeId: string, payload: Buffer): void {
    if (this.closed) return;
    let message: Message;
    try {
      message = decodeMessage(payload);
    } catch {
      this.options.onDropped?.('decode');
      return;
    }
    if (message.to !== this.options.localMemberId) {
      this.options.onDropped?.('misaddressed');
      return;
    }
    if (!this.options.isSenderAllowed(fromNodeId, message)) {
      this.options.onDropped?.('sender');
      return;
    }
    this.handler?.(message);
  }
}
