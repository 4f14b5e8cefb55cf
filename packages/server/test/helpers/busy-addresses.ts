// Before an end-to-end test starts a dev cluster at an address base: nothing may answer there
// already (a cluster left running by another test or run would answer in its place).
import { DEV_PORTS, devAzs, devNodes, globalVipOf } from '../../src/dev/layout.ts';
import { httpCall } from '../../src/peer/http-request.ts';

/** Throws naming the addresses that answer, among the dev plan's VIPs and node hosts of `base` (layout.ts). */
export async function refuseBusyAddresses(base: number, azCount: number, perAz: number): Promise<void> {
  const hosts = [globalVipOf(base), ...devAzs(azCount, base).map((az) => az.localVip), ...devNodes(azCount, perAz, base).map((n) => n.host)];
  const answering = await Promise.all(hosts.map((h) => httpCall(`http://${h}:${DEV_PORTS.http}/healthz`, { timeoutMs: 1_000, maxResponseBytes: 4096 }).then(() => h, () => null)));
  const busy = answering.filter((h) => h !== null);
  if (busy.length > 0) throw new Error(`address base ${base} is in use (${busy.join(', ')} answer): another cluster runs there`);
}
