// Stands in for the kernel in an `exec`-hook cluster on loopback: the hook (vip-recorder.mjs)
// moves no address, so this listens on each VIP and forwards every connection to the node that
// holds it now (`holderOf`), from the client's own source address (servers route by REMOTE_ADDR),
// or resets it while nobody holds the VIP. Joiners find their AZ through its VIP, as in production.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface VipForwarder {
  close(): Promise<void>;
}

export async function forwardVips(vips: readonly string[], ports: readonly number[], holderOf: (vip: string) => string | null): Promise<VipForwarder> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  for (const vip of vips) {
    for (const port of ports) {
      const server = createServer((client) => {
        track(client);
        const host = holderOf(vip);
        if (host === null) {
          client.resetAndDestroy();
          return;
        }
        const upstream = connect({ host, port, localAddress: client.remoteAddress });
        track(upstream);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, vip, () => resolve());
      });
      servers.push(server);
    }
  }
  return {
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
