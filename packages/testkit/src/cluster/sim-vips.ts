// The VIPs of a simulated PKI cluster (docs/spec.md §2.6: pkiGlobalVip, one pkiLocalVip per AZ) as
// one shared table of who holds each address, updated by every node's VIP hook at the virtual
// instant the hook runs. Acquiring an address another node still holds is the violation
// docs/spec.md §2.6.2 forbids: no VIP ever has two holders (clients would be split between two
// leaders).
import type { VipHookLike } from '@adrestia/pki-core';
import type { ClusterChecker } from './checkers.ts';

export class SimVips {
  private readonly holders = new Map<string, string>();
  /** Every acquisition, in order: `${address} ${nodeId}` (scenarios assert that VIPs moved). */
  readonly acquisitions: string[] = [];

  constructor(
    private readonly checker: ClusterChecker,
    private readonly trace: (line: string) => void,
  ) {}

  /** The hook node `nodeId` is given (like the server's `bind` hook: it holds or not). */
  hookFor(nodeId: string): VipHookLike {
    return {
      acquire: ({ address }) => {
        const current = this.holders.get(address);
        if (current !== undefined && current !== nodeId) this.checker.report('vip', `${nodeId} acquired VIP ${address} while ${current} held it`);
        this.holders.set(address, nodeId);
        this.acquisitions.push(`${address} ${nodeId}`);
        this.trace(`vip acquire ${address} ${nodeId}`);
        return Promise.resolve();
      },
      release: ({ address }) => {
        if (this.holders.get(address) === nodeId) {
          this.holders.delete(address);
          this.trace(`vip release ${address} ${nodeId}`);
        }
        return Promise.resolve();
      },
    };
  }

  holder(address: string): string | null {
    return this.holders.get(address) ?? null;
  }
}
