// Health of a node as seen by the leader that checks it (docs/spec.md §2.4.2, §2.5.3: the global
// leader checks AZ leaders, local leaders check their AZ's nodes). The probe bookkeeping (last
// seen, consecutive failures) changes on every probe, so it lives here, outside the cluster map;
// only the derived state (healthy / suspect / down) goes into the map, which then changes — and
// bumps its generation — only when a node's state does.

export type HealthState = 'healthy' | 'suspect' | 'down';

export interface HealthPolicy {
  /** Consecutive failed probes after which a node is `suspect`. */
  suspectAfterFailures: number;
  /** Consecutive failed probes after which a node is `down`. */
  downAfterFailures: number;
  /** A node not heard from for this long is `down`, whatever its failure count. */
  downAfterSilenceMs: number;
}

export interface HealthRecord {
  /** When tracking began: silence is measured from here until the first success. */
  readonly trackedSinceMs: number;
  readonly lastSeenMs: number | null;
  readonly consecutiveFailures: number;
}

function checkHealthPolicy(p: HealthPolicy): void {
  const ok =
    Number.isSafeInteger(p.suspectAfterFailures) &&
    Number.isSafeInteger(p.downAfterFailures) &&
    p.suspectAfterFailures >= 1 &&
    p.downAfterFailures >= p.suspectAfterFailures &&
    Number.isFinite(p.downAfterSilenceMs) &&
    p.downAfterSilenceMs > 0;
  if (!ok) throw new TypeError('health policy: need 1 ≤ suspectAfterFailures ≤ downAfterFailures and downAfterSilenceMs > 0');
}

export function newHealthRecord(nowMs: number): HealthRecord {
  return { trackedSinceMs: nowMs, lastSeenMs: null, consecutiveFailures: 0 };
}

/** A probe's outcome: success resets the failure count; any message from the node counts as success. */
export function recordProbe(record: HealthRecord, probe: { ok: boolean; nowMs: number }): HealthRecord {
  if (probe.ok) return { ...record, lastSeenMs: probe.nowMs, consecutiveFailures: 0 };
  return { ...record, consecutiveFailures: record.consecutiveFailures + 1 };
}

export function healthOf(record: HealthRecord, nowMs: number, policy: HealthPolicy): HealthState {
  checkHealthPolicy(policy);
  const silentMs = nowMs - (record.lastSeenMs ?? record.trackedSinceMs);
  if (record.consecutiveFailures >= policy.downAfterFailures || silentMs >= policy.downAfterSilenceMs) return 'down';
  if (record.consecutiveFailures >= policy.suspectAfterFailures) return 'suspect';
  return 'healthy';
}
