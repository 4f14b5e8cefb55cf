// A VIP hook moves a virtual IP (pkiGlobalVip / pkiLocalVip) on role changes. docs/architecture.md
// §6: a deposed leader releases before a new one acquires; hooks are therefore idempotent, and a
// hook failure is a typed error reported to the caller (which retries), never a process crash.
import { parseIpAddress } from '@adrestia/pki-core/support';
import { ServerError } from '../errors.ts';

export interface Vip {
  address: string;
  /** Network interface the address lives on (exec mode), e.g. `eth0`. */
  interface?: string;
}

export interface VipHook {
  readonly mode: 'exec' | 'bind' | 'none';
  acquire(vip: Vip): Promise<void>;
  release(vip: Vip): Promise<void>;
}

/** Linux IFNAMSIZ is 16 including NUL; names are plain tokens (no leading '-'). */
const IFACE_RE = /^[A-Za-z0-9_.:][A-Za-z0-9_.:@-]{0,14}$/;

/**
 * VIP addresses and interface names end up as process arguments: only a literal IP and a plain
 * interface token are accepted, so nothing can be read as an option or a shell word.
 */
export function checkVip(vip: Vip): void {
  if (parseIpAddress(vip.address) === undefined) {
    throw new ServerError('ERR_VIP_INVALID', `not an IP address: ${JSON.stringify(vip.address)}`, { field: 'address' });
  }
  if (vip.interface !== undefined && !IFACE_RE.test(vip.interface)) {
    throw new ServerError('ERR_VIP_INVALID', `not an interface name: ${JSON.stringify(vip.interface)}`, { field: 'interface' });
  }
}

export class NoneVipHook implements VipHook {
  readonly mode = 'none' as const;
  async acquire(vip: Vip): Promise<void> {
    checkVip(vip);
  }
  async release(vip: Vip): Promise<void> {
    checkVip(vip);
  }
}
