// Who held which VIP when, from the log vip-recorder.mjs writes for the `exec` hook (one line per
// acquire/release, CLOCK_MONOTONIC nanoseconds) plus the moments the test killed a node (same
// clock: process.hrtime.bigint()). A node holds a VIP from the start of its acquire hook until its
// release hook ran or it was killed (kill -9 runs no hook; the test counts the address as gone then,
// as a host whose daemon died would after its start-up release). A release from a node that did
// not hold the VIP (the start-up release every node runs) changes nothing.

export interface ExecVipEvent {
  atNs: bigint;
  nodeId: string;
  /** The node's own address (where the VIP's traffic goes while it holds it). */
  host: string;
  /** null for a kill (it ends every holding of the node). */
  vip: string | null;
  kind: 'acquire' | 'release' | 'kill';
}

interface ExecVipHolding {
  vip: string;
  nodeId: string;
  fromNs: bigint;
  /** null: still held at the end of the log. */
  toNs: bigint | null;
}

export interface ExecVipTimeline {
  holdings: ExecVipHolding[];
  /** Acquisitions while another node held the same VIP, with how long both held it. */
  overlaps: string[];
  /** Per VIP, the shortest time between one node's holding ending and another node's acquire (ns). */
  minHandOverGapNs: Map<string, bigint>;
}

export function parseExecVipLog(text: string): ExecVipEvent[] {
  const out: ExecVipEvent[] = [];
  for (const line of text.split('\n')) {
    const [at, nodeId, host, vip, kind] = line.split(' ');
    if (at === undefined || !/^\d+$/.test(at) || nodeId === undefined || host === undefined || vip === undefined) continue;
    if (kind !== 'acquire' && kind !== 'release') continue;
    out.push({ atNs: BigInt(at), nodeId, host, vip, kind });
  }
  return out;
}

/** Current holder of every VIP after `events` (in time order), as the kernel would route. */
export function currentHolders(events: readonly ExecVipEvent[]): Map<string, ExecVipEvent> {
  const held = new Map<string, ExecVipEvent>();
  for (const e of events) {
    if (e.kind === 'acquire' && e.vip !== null) held.set(e.vip, e);
    else for (const [vip, h] of held) if (h.nodeId === e.nodeId && (e.vip === null || e.vip === vip)) held.delete(vip);
  }
  return held;
}

export function execVipTimeline(events: readonly ExecVipEvent[]): ExecVipTimeline {
  // At one instant an end of holding goes first: a hand-over within the same nanosecond.
  const sorted = [...events].sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : (a.kind === 'acquire' ? 1 : 0) - (b.kind === 'acquire' ? 1 : 0)));
  const open = new Map<string, ExecVipHolding[]>();
  const holdings: ExecVipHolding[] = [];
  const lastEnd = new Map<string, { nodeId: string; atNs: bigint }>();
  const minGap = new Map<string, bigint>();
  for (const e of sorted) {
    if (e.kind === 'acquire' && e.vip !== null) {
      const mine = open.get(e.vip) ?? [];
      if (mine.some((h) => h.nodeId === e.nodeId)) continue; // idempotent re-acquire
      const end = lastEnd.get(e.vip);
      if (mine.length === 0 && end !== undefined && end.nodeId !== e.nodeId) {
        const gap = e.atNs - end.atNs;
        const best = minGap.get(e.vip);
        if (best === undefined || gap < best) minGap.set(e.vip, gap);
      }
      const h: ExecVipHolding = { vip: e.vip, nodeId: e.nodeId, fromNs: e.atNs, toNs: null };
      open.set(e.vip, [...mine, h]);
      holdings.push(h);
      continue;
    }
    for (const [vip, hs] of open) {
      if (e.vip !== null && e.vip !== vip) continue;
      const ending = hs.filter((h) => h.nodeId === e.nodeId);
      for (const h of ending) {
        h.toNs = e.atNs;
        lastEnd.set(vip, { nodeId: h.nodeId, atNs: e.atNs });
      }
      open.set(vip, hs.filter((h) => h.nodeId !== e.nodeId));
    }
  }
  const overlaps: string[] = [];
  for (const a of holdings) {
    for (const b of holdings) {
      if (a === b || a.vip !== b.vip || a.nodeId === b.nodeId || b.fromNs < a.fromNs || (b.fromNs === a.fromNs && b.nodeId < a.nodeId)) continue;
      if (a.toNs !== null && b.fromNs >= a.toNs) continue;
      const ends = [a.toNs, b.toNs].filter((t): t is bigint => t !== null);
      const both = ends.length === 0 ? 'until the end of the log' : `for ${(Number(ends.reduce((x, y) => (x < y ? x : y)) - b.fromNs) / 1e6).toFixed(1)} ms`;
      overlaps.push(`${a.vip}: ${b.nodeId} acquired while ${a.nodeId} held it (both ${both})`);
    }
  }
  return { holdings, overlaps, minHandOverGapNs: minGap };
}
