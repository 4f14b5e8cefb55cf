// Phase I of node start-up (docs/spec.md §3.1, docs/architecture.md §5.1, §5.2).
// A node asks the cluster VIP for `/api/v1/status`, retrying `pkiInitRetry` times:
//   - 200 (answered, possibly after a redirect to its AZ's local VIP): its AZ exists — join it
//     through the local leader named in the answer;
//   - 404 for its AZ (ERR_AZ_UNKNOWN): the cluster exists but not the AZ — found the AZ through
//     the global leader named in the answer;
//   - no answer after every retry: no cluster. Only a node allowed to found one does so.
// Made safe: the seed's rule "no answer ⇒ found the cluster" splits a cold start of several
// nodes into several clusters. Here exactly one node may found (operator's `init`, or the
// configured founder); every other node keeps discovering until the cluster answers, so nodes
// started at the same moment against an empty cluster end up in one cluster.
import { PkiError } from '../../errors.ts';

export type ProbeAnswer =
  /** A node of the prober's AZ answered; `localLeaderId` is the AZ's local leader it knows of. */
  | { kind: 'azExists'; clusterId: string; localLeaderId: string | null }
  /** The cluster answered 404 for the prober's AZ; `globalLeaderId` founds AZs. */
  | { kind: 'azUnknown'; clusterId: string; globalLeaderId: string | null };

export interface DiscoveryOptions {
  /** One status request against the cluster VIP; null when it times out or is refused. */
  probe(): Promise<ProbeAnswer | null>;
  /** `pkiInitRetry`: how many probes before concluding there is no cluster. */
  retries: number;
  /** This node may found the cluster (exactly one node of a new cluster). */
  mayFoundCluster: boolean;
  /** Waits between probes (injected: virtual time in the simulator). */
  pause(attempt: number): Promise<void>;
  /** The cluster this node belongs to, if it has ever joined one: answers of others are refused. */
  expectedClusterId?: string;
}

export type DiscoveryDecision =
  | { kind: 'foundCluster' }
  | { kind: 'foundAz'; globalLeaderId: string }
  | { kind: 'join'; localLeaderId: string }
  /** Nothing answered and this node may not found: discover again later. */
  | { kind: 'retryLater' };

export async function discover(o: DiscoveryOptions): Promise<DiscoveryDecision> {
  if (!Number.isSafeInteger(o.retries) || o.retries < 1) throw new TypeError(`discover: retries must be ≥ 1, got ${o.retries}`);
  let clusterAnswered = false;
  for (let attempt = 1; attempt <= o.retries; attempt++) {
    const answer = await o.probe();
    if (answer !== null) {
      clusterAnswered = true;
      if (o.expectedClusterId !== undefined && answer.clusterId !== o.expectedClusterId) {
        throw new PkiError('ERR_INPUT_INVALID', `the VIP answers for cluster ${answer.clusterId}, not ${o.expectedClusterId}`, { field: 'clusterVip' });
      }
      const decision = decide(answer);
      if (decision) return decision;
      // A cluster without a known leader right now (an election): ask again.
    }
    if (attempt < o.retries) await o.pause(attempt);
  }
  // A cluster that answered exists, even if no leader was known: never found a second one.
  return o.mayFoundCluster && !clusterAnswered ? { kind: 'foundCluster' } : { kind: 'retryLater' };
}

function decide(answer: ProbeAnswer): DiscoveryDecision | null {
  if (answer.kind === 'azExists') return answer.localLeaderId ? { kind: 'join', localLeaderId: answer.localLeaderId } : null;
  return answer.globalLeaderId ? { kind: 'foundAz', globalLeaderId: answer.globalLeaderId } : null;
}
