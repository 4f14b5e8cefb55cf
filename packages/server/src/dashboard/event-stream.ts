// One Server-Sent Events response (HTML Living Standard §9.2 "Server-sent events": `event:` and
// `data:` lines, a blank line ends an event, `retry:` sets the client's reconnection delay). A
// client that does not read is cut off once its unsent bytes pass a bound, rather than buffered
// without limit.
import type { ServerResponse } from 'node:http';

/** Unsent bytes a slow client may hold before its stream is closed (a few views). */
const STREAM_BUFFERED_BYTES_MAX = 1024 * 1024;

export class EventStream {
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    retryMs: number,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.write(`retry: ${retryMs}\n\n`);
    res.once('close', () => {
      this.closed = true;
    });
  }

  /** `data` is JSON: one line, so one `data:` field carries it. */
  send(event: string, data: unknown): void {
    if (this.closed) return;
    if (this.res.writableLength > STREAM_BUFFERED_BYTES_MAX) {
      this.end();
      return;
    }
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.end();
  }

  onClose(listener: () => void): void {
    this.res.once('close', listener);
  }
}
