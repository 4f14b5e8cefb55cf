// Phase I (seed 000 §3.3, DESIGN.md start-up step 1), over plain HTTP from this node's own
// address: `GET http://{clusterVip}/api/v1/status`, retried pkiInitRetry times.
//   - no answer at all: no cluster yet → found it;
//   - 307 to our AZ's local VIP, then 200: the AZ has a local leader → register with it;
//   - 200 directly: we reached our own AZ → register;
//   - 404 ERR_AZ_UNKNOWN: the cluster exists, our AZ does not → found the AZ.
// A redirect to a VIP that does not answer (the AZ is electing) is retried, never taken as "no
// cluster": only silence at the cluster VIP may found a cluster.
import type { Logger } from '../log/logger.ts';
import { httpCall, jsonOf } from '../peer/http-request.ts';

export type Discovered = { kind: 'noCluster' } | { kind: 'noAz' } | { kind: 'azLeader'; localLeaderId: string };

export interface DiscoveryOptions {
  clusterVip: string;
  httpPort: number;
  localAddress: string;
  retries: number;
  timeoutMs: number;
  /** Pause between attempts. */
  retryDelayMs: number;
  logger: Logger;
}

type Attempt = Discovered | { kind: 'retry'; why: string } | { kind: 'silent' };

export async function discover(o: DiscoveryOptions): Promise<Discovered> {
  for (let attempt = 0; ; attempt++) {
    const result = await attemptOnce(o);
    if (result.kind !== 'retry' && result.kind !== 'silent') return result;
    o.logger.info({ attempt, clusterVip: o.clusterVip, outcome: result.kind === 'retry' ? result.why : 'no answer' }, 'discovery');
    if (result.kind === 'silent' && attempt >= o.retries) return { kind: 'noCluster' };
    await new Promise((r) => setTimeout(r, o.retryDelayMs));
  }
}

async function attemptOnce(o: DiscoveryOptions): Promise<Attempt> {
  let url = `http://${o.clusterVip}:${o.httpPort}/api/v1/status`;
  for (let hop = 0; hop < 3; hop++) {
    let result;
    try {
      result = await httpCall(url, { timeoutMs: o.timeoutMs, maxResponseBytes: 64 * 1024, localAddress: o.localAddress });
    } catch {
      return hop === 0 ? { kind: 'silent' } : { kind: 'retry', why: `redirect target ${url} does not answer` };
    }
    const body = jsonOf(result) as { local?: { leaderId?: unknown }; error?: { code?: unknown } } | undefined;
    if (result.status === 307 && typeof result.headers.location === 'string') {
      url = result.headers.location;
      continue;
    }
    if (result.status === 200) {
      const leader = body?.local?.leaderId;
      return typeof leader === 'string' ? { kind: 'azLeader', localLeaderId: leader } : { kind: 'retry', why: 'the AZ has no local leader now' };
    }
    if (result.status === 404 && body?.error?.code === 'ERR_AZ_UNKNOWN') return { kind: 'noAz' };
    return { kind: 'retry', why: `HTTP ${result.status} ${String(body?.error?.code ?? '')}` };
  }
  return { kind: 'retry', why: 'too many redirects' };
}
