// Who held which VIP when, rebuilt from the nodes' own logs (instrumented VIP hook: one "VIP
// acquired" / "VIP released" line per transition, pino JSON with a millisecond `time`) plus the
// moments a test killed a node (kill -9 logs nothing; the kernel drops its listeners at once).
// The logged holding starts a little after the real one (listening done) and ends a little after
// it (listener closed); a kill ends it at the logged kill time. A logged overlap is therefore a real
// one, or a graceful hand-over faster than the old holder's close, which a test that moves VIPs
// only by killing their holders never makes.

export interface VipKill {
  nodeId: string;
  atMs: number;
}

interface Transition {
  atMs: number;
  nodeId: string;
  vip: string | null;
  kind: 'acquired' | 'released' | 'killed';
}

export interface VipTimeline {
  /** Per VIP, the nodes that acquired it, in order (a node acquiring again right after itself counts once). */
  holders: Map<string, string[]>;
  /** Every acquisition made while another node still held the same VIP. */
  overlaps: string[];
}

export function vipTimeline(logTexts: readonly string[], kills: readonly VipKill[]): VipTimeline {
  const transitions: Transition[] = [...logTexts.flatMap(transitionsOf), ...kills.map((k) => ({ atMs: k.atMs, nodeId: k.nodeId, vip: null, kind: 'killed' as const }))];
  // Stable order; at the same millisecond an end of holding goes first (a hand-over within 1 ms).
  transitions.sort((a, b) => a.atMs - b.atMs || rank(a) - rank(b));
  const current = new Map<string, string>();
  const holders = new Map<string, string[]>();
  const overlaps: string[] = [];
  for (const t of transitions) {
    if (t.kind === 'acquired' && t.vip !== null) {
      const holder = current.get(t.vip);
      if (holder !== undefined && holder !== t.nodeId) overlaps.push(`${t.vip}: ${t.nodeId} acquired at ${new Date(t.atMs).toISOString()} while ${holder} held it`);
      current.set(t.vip, t.nodeId);
      const seq = holders.get(t.vip) ?? [];
      if (seq[seq.length - 1] !== t.nodeId) holders.set(t.vip, [...seq, t.nodeId]);
      continue;
    }
    for (const [vip, holder] of current) if (holder === t.nodeId && (t.vip === null || t.vip === vip)) current.delete(vip);
  }
  return { holders, overlaps };
}

function rank(t: Transition): number {
  return t.kind === 'acquired' ? 1 : 0;
}

function transitionsOf(text: string): Transition[] {
  const out: Transition[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"VIP ')) continue;
    let entry: { time?: unknown; nodeId?: unknown; vip?: unknown; msg?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const kind = entry.msg === 'VIP acquired' ? 'acquired' : entry.msg === 'VIP released' ? 'released' : null;
    if (kind === null || typeof entry.nodeId !== 'string' || typeof entry.vip !== 'string' || typeof entry.time !== 'string') continue;
    out.push({ atMs: Date.parse(entry.time), nodeId: entry.nodeId, vip: entry.vip, kind });
  }
  return out;
}
