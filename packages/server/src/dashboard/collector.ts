// Gathers every node's report (node-report.ts) once a round while someone watches the dashboard,
// and hands each watcher the cluster view built from them (cluster-view.ts). Nothing runs while no
// page is open. A node that does not answer within the round's timeout shows as unreachable.
import type { ClusterMap, PkiNodeApi } from '@adrestia/pki-core';
import { apiHost } from './api-host.ts';
import { clusterView, type ClusterView, type Gathered } from './cluster-view.ts';
import { addFigures, figuresSince, type IssuanceFigures } from './issuance-figures.ts';
import type { NodeReport } from './node-report.ts';

/** Rounds whose samples the issuance rate and latency are computed over (with `roundMs`: the window). */
const ISSUANCE_WINDOW_ROUNDS = 10;

export interface CollectorOptions {
  node: Pick<PkiNodeApi, 'nodeId' | 'clusterMap'>;
  /** This node's own report (no HTTP round trip). */
  ownReport: () => Promise<NodeReport>;
  /** Another node's report at its API host, or null when it does not answer in time. */
  fetchReport: (host: string) => Promise<NodeReport | null>;
  nowMs: () => number;
  roundMs: number;
  onError: (err: unknown) => void;
}

export interface Watcher {
  view(view: ClusterView): void;
  /** The collector stops (the node shuts down): the watcher must end its stream. */
  end(): void;
}

interface Round {
  atMs: number;
  figures: ReadonlyMap<string, IssuanceFigures>;
}

export class DashboardCollector {
  private readonly watchers = new Set<Watcher>();
  private readonly lastContactMs = new Map<string, number>();
  private readonly rounds: Round[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inRound = false;
  private latest: ClusterView | null = null;

  constructor(private readonly o: CollectorOptions) {}

  /** Starts the rounds with the first watcher; the latest view, if any, goes to it at once. */
  watch(w: Watcher): () => void {
    this.watchers.add(w);
    if (this.latest !== null) w.view(this.latest);
    if (this.timer === null) {
      this.timer = setInterval(() => void this.round(), this.o.roundMs);
      void this.round();
    }
    return () => {
      this.watchers.delete(w);
      if (this.watchers.size === 0) this.pause();
    };
  }

  stop(): void {
    this.pause();
    for (const w of [...this.watchers]) w.end();
    this.watchers.clear();
  }

  private pause(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.latest = null;
  }

  private async round(): Promise<void> {
    if (this.inRound) return;
    this.inRound = true;
    try {
      const view = await this.gather();
      if (this.timer === null) return;
      this.latest = view;
      for (const w of this.watchers) w.view(view);
    } catch (err) {
      this.o.onError(err);
    } finally {
      this.inRound = false;
    }
  }

  private async gather(): Promise<ClusterView> {
    const diff = await this.o.node.clusterMap(0);
    // Since 0 names no map: the whole map comes back.
    if (diff.unchanged) throw new Error('assertion failed: clusterMap(0) answered "unchanged"');
    const map: ClusterMap = diff.map;
    const live = map.nodes.filter((n) => n.status !== 'revoked');
    const answers = await Promise.all(
      live.map(async (n) => [n.nodeId, n.nodeId === this.o.node.nodeId ? await this.o.ownReport() : await this.o.fetchReport(apiHost(n.addresses.api))] as const),
    );
    const nowMs = this.o.nowMs();
    const gathered = new Map<string, Gathered>();
    for (const [id, report] of answers) {
      if (report !== null) this.lastContactMs.set(id, nowMs);
      gathered.set(id, { report, lastContactMs: this.lastContactMs.get(id) ?? null });
    }
    return clusterView({ map, gathered, servedBy: this.o.node.nodeId, nowMs, issuance: this.issuance(nowMs, gathered) });
  }

  /** This round's counters against the oldest round kept: requests, errors and latency over that window. */
  private issuance(nowMs: number, gathered: ReadonlyMap<string, Gathered>): { window: IssuanceFigures; windowSeconds: number; total: IssuanceFigures } {
    const figures = new Map<string, IssuanceFigures>();
    for (const [id, g] of gathered) if (g.report !== null) figures.set(id, g.report.issuance);
    this.rounds.push({ atMs: nowMs, figures });
    // Rounds kept across a pause (a page reconnecting) still bound a window, unless they are older than one.
    const windowMs = ISSUANCE_WINDOW_ROUNDS * this.o.roundMs;
    while (this.rounds.length > ISSUANCE_WINDOW_ROUNDS + 1 || (this.rounds.length > 1 && nowMs - (this.rounds[0] as Round).atMs > 2 * windowMs)) this.rounds.shift();
    const oldest = this.rounds[0] as Round;
    let window: IssuanceFigures = { requests: 0, errors: 0, buckets: [] };
    let total: IssuanceFigures = { requests: 0, errors: 0, buckets: [] };
    for (const [id, f] of figures) {
      total = addFigures(total, f);
      const before = oldest.figures.get(id);
      // A node with no sample at the window's start adds nothing to the window (its total is not a rate).
      if (before !== undefined && oldest !== this.rounds.at(-1)) window = addFigures(window, figuresSince(f, before));
    }
    return { window, windowSeconds: (nowMs - oldest.atMs) / 1000, total };
  }
}
