// Connection hygiene for every listener (HTTP, HTTPS, the Raft mesh): a cap on open connections
// per listener and per source address, sockets that say nothing closed after an idle time, and
// TLS handshakes that fail or time out really closing their socket. Without these, idle TCP
// connections (a slowloris without even a request line) hold file descriptors for ever, and a
// few hundred of them lock every peer out of a listener with a connection cap.
import type { Server as NetServer, Socket } from 'node:net';

export interface ConnectionLimits {
  /** Open connections per listener; beyond it new ones are closed at accept. */
  maxConnections: number;
  /** Open connections per source address on one listener. */
  maxConnectionsPerSource: number;
  /** A socket with no traffic in either direction for this long is closed (0: never). */
  idleTimeoutMs: number;
}

export type ConnectionRefusal = 'listenerFull' | 'sourceFull' | 'idle' | 'handshake';

/**
 * Applies `limits` to `server` (a net, http, https or tls server: all emit `connection` with the
 * raw socket, TLS ones `tlsClientError` on a failed or timed-out handshake).
 */
export function guardConnections(server: NetServer, limits: ConnectionLimits, onRefused?: (why: ConnectionRefusal, source: string) => void): void {
  const perSource = new Map<string, number>();
  let open = 0;
  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress ?? 'unknown';
    const count = perSource.get(source) ?? 0;
    if (open >= limits.maxConnections || count >= limits.maxConnectionsPerSource) {
      onRefused?.(open >= limits.maxConnections ? 'listenerFull' : 'sourceFull', source);
      socket.destroy();
      return;
    }
    open++;
    perSource.set(source, count + 1);
    socket.once('close', () => {
      open--;
      const left = (perSource.get(source) ?? 1) - 1;
      if (left <= 0) perSource.delete(source);
      else perSource.set(source, left);
    });
    if (limits.idleTimeoutMs > 0) {
      socket.setTimeout(limits.idleTimeoutMs, () => {
        onRefused?.('idle', source);
        socket.destroy();
      });
    }
  });
  server.on('tlsClientError', (_err: Error, socket: Socket) => {
    onRefused?.('handshake', socket.remoteAddress ?? 'unknown');
    socket.destroy();
  });
}
