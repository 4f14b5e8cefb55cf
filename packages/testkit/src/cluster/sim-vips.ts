// The VIPs of a simulated PKI cluster (docs/spec.md §2.6: pkiGlobalVip, one pkiLocalVip per AZ) as
// one shared table of who holds each address, updated by every node's VIP hook at the virtual
// instant the hook runs. Acquiring an address another node still holds is the violation
// docs/spec.md §2.6.2 forbids: no VIP ever has two holders (clients would be split between two
// leaders).
//
// A stalled process (PkiSimCluster.stall) keeps its addresses and cannot release them while it
// does not run: no lease fences a holder that is frozen for longer than the lease (the lease
// argument of cluster/vip-fence.ts bounds the holder's clock, not a pause of its process). Such an
// overlap is counted (`stallOverlaps`), not reported; what is reported is the holder that still
// holds the address at the end of the instant it resumes in: it must release at its first step.
import type { VipHookLike } from '@adrestia/pki-core';
import type { ClusterChecker } from './checkers.ts';

export class SimVips {
  private readonly holders = new Map<string, string>();
  /** Every acquisition, in order: `${address} ${nodeId}` (scenarios assert that VIPs moved). */
  readonly acquisitions: string[] = [];
  /** Holders superseded while stalled, per address: they must release once they resume. */
  private readonly stale = new Map<string, Set<string>>();
  /** Acquisitions made while the previous holder was stalled. */
  stallOverlaps = 0;

  constructor(
    private readonly checker: ClusterChecker,
    private readonly trace: (line: string) => void,
    private readonly isStalled: (nodeId: string) => boolean,
    /** A node that lost power releases through its stop (or holds nothing after it). */
    private readonly isUp: (nodeId: string) => boolean,
  ) {}

  /** The hook node `nodeId` is given (like the server's `bind` hook: it holds or not). */
  hookFor(nodeId: string): VipHookLike {
    return {
      acquire: ({ address }) => {
        const current = this.holders.get(address);
        if (current !== undefined && current !== nodeId) {
          if (!this.isStalled(current)) this.checker.report('vip', `${nodeId} acquired VIP ${address} while ${current} held it`);
          else {
            this.stallOverlaps++;
            this.stale.set(address, (this.stale.get(address) ?? new Set()).add(current));
            this.trace(`vip overlap ${address} ${nodeId} over stalled ${current}`);
          }
        }
        this.stale.get(address)?.delete(nodeId);
        this.holders.set(address, nodeId);
        this.acquisitions.push(`${address} ${nodeId}`);
        this.trace(`vip acquire ${address} ${nodeId}`);
        return Promise.resolve();
      },
      release: ({ address }) => {
        if (this.holders.get(address) === nodeId) {
          this.holders.delete(address);
          this.trace(`vip release ${address} ${nodeId}`);
        } else if (this.stale.get(address)?.delete(nodeId)) {
          this.trace(`vip release ${address} ${nodeId} (superseded while stalled)`);
        }
        return Promise.resolve();
      },
    };
  }

  /** After each instant: a superseded holder that runs again and still holds is a second holder. */
  checkResumed(): void {
    for (const [address, nodes] of this.stale) {
      for (const nodeId of nodes) {
        if (this.isStalled(nodeId) || !this.isUp(nodeId)) continue;
        nodes.delete(nodeId);
        this.checker.report('vip', `${nodeId} still held VIP ${address} after resuming from a stall while ${this.holders.get(address) ?? 'another node'} held it`);
      }
    }
  }

  holder(address: string): string | null {
    return this.holders.get(address) ?? null;
  }
}
