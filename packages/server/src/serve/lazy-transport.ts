// A Raft transport that exists before the network does: a node learns its TLS identity only
// during start-up (Phase II), after its Raft groups already run. Until `attach`, sends are
// dropped, which Raft tolerates (§5.3: RPCs are retried); the receiver is handed on at attach.
import type { Message, MessageHandler, Transport } from '@adrestia/consensus';

export class LazyTransport implements Transport {
  private inner: Transport | null = null;
  private handler: MessageHandler | null = null;
  private closed = false;

  attach(inner: Transport): void {
    if (this.inner !== null) throw new TypeError('LazyTransport: already attached');
    this.inner = inner;
    if (this.handler !== null) inner.onMessage(this.handler);
  }

  send(messages: readonly Message[]): void {
    if (!this.closed) this.inner?.send(messages);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
    this.inner?.onMessage(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.inner?.close();
  }
}
