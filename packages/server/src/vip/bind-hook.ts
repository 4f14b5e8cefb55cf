// `bind` mode: "holding" a VIP means listening on it. On loopback every 127.0.0.0/8 address is
// local, so a dev cluster moves VIPs between nodes in one machine by starting and stopping
// listeners. The listener itself (an HTTP server with our routes) comes from an injected factory.
import { checkVip, type Vip, type VipHook } from './hook.ts';

export interface VipListener {
  close(): Promise<void>;
}

/** Starts listening on `address`; resolves once it accepts connections. */
export type VipListenerFactory = (address: string) => Promise<VipListener>;

export class BindVipHook implements VipHook {
  readonly mode = 'bind' as const;
  private readonly factory: VipListenerFactory;
  /** Listeners by address; a pending promise while one is starting, so acquire is idempotent. */
  private readonly listeners = new Map<string, Promise<VipListener>>();

  constructor(factory: VipListenerFactory) {
    this.factory = factory;
  }

  async acquire(vip: Vip): Promise<void> {
    checkVip(vip);
    const existing = this.listeners.get(vip.address);
    if (existing !== undefined) {
      await existing;
      return;
    }
    const starting = this.factory(vip.address);
    this.listeners.set(vip.address, starting);
    try {
      await starting;
    } catch (err) {
      this.listeners.delete(vip.address);
      throw err;
    }
  }

  async release(vip: Vip): Promise<void> {
    checkVip(vip);
    const existing = this.listeners.get(vip.address);
    if (existing === undefined) return;
    this.listeners.delete(vip.address);
    const listener = await existing;
    await listener.close();
  }

  /** Addresses currently held. */
  held(): string[] {
    return [...this.listeners.keys()];
  }
}
