// How a driver exchanges Raft messages with its peers. Raft tolerates loss, duplication and
// reordering of messages (Raft §5.3: RPCs are retried), so send() is fire-and-forget: a transport
// may drop a message at any time (full queue, broken connection) and never reports it.
import type { Message } from './messages.ts';

export type MessageHandler = (message: Message) => void;

export interface Transport {
  /** Queues messages for delivery to `message.to`; never throws for an unreachable peer. */
  send(messages: readonly Message[]): void;
  /** Registers the single receiver of inbound messages addressed to this node. */
  onMessage(handler: MessageHandler): void;
  /** Stops sending and delivering; later send() calls are dropped. Idempotent. */
  close(): Promise<void>;
}
