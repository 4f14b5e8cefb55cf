// The dev cluster's address plan (`adrestia-pki dev`, docs/spec.md §12.2): AZ n on 127.n.0.0/16,
// node k of AZ n on 127.n.0.(10+k), AZ n's local VIP 127.n.0.1, the global VIP 127.0.10.1. Every
// node uses the same ports, since a VIP moves between nodes and clients keep the port.
/**
 * Tests run a cluster of their own beside a dev cluster: with `base` b, AZ n lives on
 * 127.(b+n).0.0/16 and the global VIP is 127.b.10.1 (b = 0 is the documented dev plan). The
 * largest base keeps the last of DEV_AZS_MAX AZs at 127.254.0.0/16, inside 127.0.0.0/8.
 */
export const DEV_BASE_MAX = 245;

export function globalVipOf(base: number): string {
  return `127.${base}.10.1`;
}
export const DEV_PORTS = { http: 8080, https: 8443, raft: 7480 } as const;
export const DEV_AZS_MAX = 9;
export const DEV_NODES_PER_AZ_MAX = 9;

export interface DevNode {
  az: string;
  azIndex: number;
  nodeIndex: number;
  host: string;
  name: string;
}

export interface DevAz {
  name: string;
  subnets: string[];
  localVip: string;
}

export function devAzs(azCount: number, base = 0): DevAz[] {
  return Array.from({ length: azCount }, (_, i) => ({ name: `az${i + 1}`, subnets: [`127.${base + i + 1}.0.0/16`], localVip: `127.${base + i + 1}.0.1` }));
}

export function devNodes(azCount: number, nodesPerAz: number, base = 0): DevNode[] {
  const out: DevNode[] = [];
  for (let a = 1; a <= azCount; a++) {
    for (let k = 1; k <= nodesPerAz; k++) out.push({ az: `az${a}`, azIndex: a, nodeIndex: k, host: `127.${base + a}.0.${10 + k}`, name: `az${a}-node${k}` });
  }
  return out;
}
