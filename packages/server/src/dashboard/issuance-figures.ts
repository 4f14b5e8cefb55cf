// This node's issuance counters as /metrics counts them (metrics/metrics.ts: adrestia_issuance_total
// and adrestia_issuance_duration_seconds), summed over profiles: cumulative, so the dashboard
// derives rates and latency quantiles from the difference of two samples.
import type { Metrics } from '../metrics/metrics.ts';

export interface IssuanceFigures {
  requests: number;
  errors: number;
  /**
   * Cumulative histogram over every profile and result: requests that took ≤ `le` seconds, finite
   * bounds only (JSON has no Infinity; the +Inf bucket holds every request, `requests`).
   */
  buckets: { le: number; count: number }[];
}

export async function issuanceFigures(metrics: Pick<Metrics, 'issuanceTotal' | 'issuanceSeconds'>): Promise<IssuanceFigures> {
  const [total, seconds] = await Promise.all([metrics.issuanceTotal.get(), metrics.issuanceSeconds.get()]);
  let requests = 0;
  let errors = 0;
  for (const v of total.values) {
    requests += v.value;
    if (v.labels.result === 'error') errors += v.value;
  }
  const byLe = new Map<number, number>();
  for (const v of seconds.values) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    // Bucket series carry `le` besides the histogram's own labels (prom-client's types omit it).
    const bound = (v.labels as Record<string, string | number | undefined>).le;
    if (bound === '+Inf' || bound === undefined) continue;
    const le = Number(bound);
    byLe.set(le, (byLe.get(le) ?? 0) + v.value);
  }
  const buckets = [...byLe].sort(([a], [b]) => a - b).map(([le, count]) => ({ le, count }));
  return { requests, errors, buckets };
}

/** Element-wise difference of two samples of the same counters (a restarted node starts from 0). */
export function figuresSince(now: IssuanceFigures, before: IssuanceFigures | undefined): IssuanceFigures {
  if (before === undefined || now.requests < before.requests) return now;
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    requests: now.requests - before.requests,
    errors: now.errors - before.errors,
    buckets: now.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
  };
}

export function addFigures(a: IssuanceFigures, b: IssuanceFigures): IssuanceFigures {
  const byLe = new Map(a.buckets.map((x) => [x.le, x.count]));
  for (const x of b.buckets) byLe.set(x.le, (byLe.get(x.le) ?? 0) + x.count);
  return { requests: a.requests + b.requests, errors: a.errors + b.errors, buckets: [...byLe].sort(([x], [y]) => x - y).map(([le, count]) => ({ le, count })) };
}

/**
 * The q-quantile in seconds by linear interpolation inside the bucket it falls in (as Prometheus's
 * histogram_quantile does); null without observations. A quantile beyond the largest finite
 * bound is that bound.
 */
export function quantileSeconds(f: IssuanceFigures, q: number): number | null {
  const total = f.requests;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of f.buckets) {
    if (b.count >= rank) {
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
