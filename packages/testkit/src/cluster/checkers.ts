// Safety checkers for a simulated two-tier cluster, run after every instant of virtual time:
//   - election safety in each tier (Raft §5.2: at most one leader per term) — one local leader
//     per AZ per local term, one acting global leader (seat) per global term;
//   - state machine safety within an AZ (Raft §5.4.3): every node applies the same command at the
//     same position of the AZ's stream (local and global commands, one counter);
//   - the same across AZs for global commands: every AZ applies them in one order;
//   - no driver halts itself (a RaftInvariantError or a storage fault stops it).
// Violations are collected, not thrown, so one run reports all it found.
import type { Message } from '@adrestia/consensus';
import type { AppliedCommand } from './recording-app.ts';
import { RunBudgetExceeded } from './virtual-time.ts';

export interface Violation {
  kind:
    | 'localLeaders'
    | 'globalLeaders'
    | 'localOrder'
    | 'globalOrder'
    | 'halted'
    | 'durability'
    | 'sent-before-sync'
    | 'liveness'
    | 'exception'
    | 'hung'
    | 'vip'
    // RFC 5280 §4.1.2.2 per-issuer serials against duplicate Issued events (pki-serial-faults.ts).
    | 'serial'
    // CA renewal over virtual years (pki-years.ts): chains, node certificates, planned overlap.
    | 'renewal'
    // Deterministic apply: replicas of an AZ at one applied index hold equal state (pki-replica-state.ts).
    | 'replica-state'
    // Replicas of a log agree on its audit chain (audit-agreement.ts).
    | 'audit';
  atUs: number;
  message: string;
}

const same = (a: AppliedCommand, b: AppliedCommand): boolean =>
  a.seq === b.seq && a.tier === b.tier && a.az === b.az && a.text === b.text;
const show = (c: AppliedCommand | undefined): string => (c ? `${c.tier}:${c.text}@${c.seq}` : 'nothing');

/** Violations are capped per kind so a broken run stays readable. */
const MAX_VIOLATIONS_PER_KIND = 5;

export class ClusterChecker {
  readonly violations: Violation[] = [];
  /** Per AZ: the longest command stream any node of it has applied. */
  private readonly azStreams = new Map<string, AppliedCommand[]>();
  /** The longest global-command order any AZ has applied. */
  private readonly globalOrder: AppliedCommand[] = [];
  private readonly localLeaders = new Map<string, string>(); // `${az}/${term}` → nodeId
  private readonly globalLeaders = new Map<number, string>(); // global term → nodeId
  private readonly perKind = new Map<Violation['kind'], number>();

  constructor(private readonly now: () => number) {}

  report(kind: Violation['kind'], message: string): void {
    const n = this.perKind.get(kind) ?? 0;
    this.perKind.set(kind, n + 1);
    if (n < MAX_VIOLATIONS_PER_KIND) this.violations.push({ kind, atUs: this.now(), message });
  }

  /** An error that ended a run: over its budget (`hung`, with the replay command) or an exception. */
  reportFailure(error: unknown, replay: string): void {
    if (error instanceof RunBudgetExceeded) this.report('hung', `${error.message}; replay: ${replay}`);
    else this.report('exception', error instanceof Error ? (error.stack ?? error.message) : String(error));
  }

  /**
   * Raft §5.1 / Figure 2: a node sends a term or a vote only once it is durable (`durable`: the
   * sender's synced term and vote). Pre-votes carry the term a campaign would take (thesis §9.6).
   */
  observeSend(m: Message, durable: { term: number; vote: string | null }): void {
    if (m.type === 'preVote' || m.type === 'preVoteResp') return;
    const early =
      m.term > durable.term ||
      (m.type === 'vote' && (durable.term !== m.term || durable.vote !== m.from)) ||
      (m.type === 'voteResp' && m.granted && (durable.term !== m.term || durable.vote !== m.to));
    // The message text is built only for a violation: this runs for every local-tier message.
    if (early) this.report('sent-before-sync', `${m.from} sent ${m.type} (term ${m.term}) to ${m.to} with durable vote ${durable.vote}@${durable.term}`);
  }

  get clean(): boolean {
    return this.violations.length === 0;
  }

  /** Raft §5.2 in the local tier. */
  observeLocalLeader(az: string, term: number, nodeId: string): void {
    const key = `${az}/${term}`;
    const seen = this.localLeaders.get(key);
    if (seen === undefined) this.localLeaders.set(key, nodeId);
    else if (seen !== nodeId) this.report('localLeaders', `AZ ${az} local term ${term}: leaders ${seen} and ${nodeId}`);
  }

  /**
   * Raft §5.2 in the global tier. Keyed by node, not only by AZ: a rebuilt seat restarts as a
   * follower of its stored term, so even two nodes of one AZ never lead the same global term.
   */
  observeGlobalLeader(term: number, nodeId: string): void {
    const seen = this.globalLeaders.get(term);
    if (seen === undefined) this.globalLeaders.set(term, nodeId);
    else if (seen !== nodeId) this.report('globalLeaders', `global term ${term}: acting seats on ${seen} and ${nodeId}`);
  }

  /** Raft §5.4.3 within an AZ: command `item` at position item.seq of the AZ's stream. */
  observeApply(az: string, nodeId: string, item: AppliedCommand, globalIndex: number | null): void {
    this.checkAt(this.stream(az), item.seq - 1, item, `AZ ${az} node ${nodeId}`, 'localOrder');
    if (globalIndex !== null) this.checkAt(this.globalOrder, globalIndex, item, `AZ ${az} node ${nodeId} global`, 'globalOrder');
  }

  /** A node replaced its state (restore from a snapshot, or reset): all of it must still agree. */
  observeReplace(az: string, nodeId: string, items: readonly AppliedCommand[]): void {
    let g = 0;
    for (const item of items) this.observeApply(az, nodeId, item, item.tier === 'global' ? g++ : null);
  }

  observeHalted(nodeId: string, detail: string): void {
    this.report('halted', `node ${nodeId} stopped itself while running: ${detail}`);
  }

  private stream(az: string): AppliedCommand[] {
    let s = this.azStreams.get(az);
    if (!s) this.azStreams.set(az, (s = []));
    return s;
  }

  private checkAt(stream: AppliedCommand[], i: number, item: AppliedCommand, who: string, kind: Violation['kind']): void {
    const known = stream[i];
    if (known) {
      const a = kind === 'globalOrder' ? known.text === item.text && known.az === item.az : same(known, item);
      if (!a) this.report(kind, `${who} applied ${show(item)} at position ${i + 1} where ${show(known)} was applied`);
    } else if (i === stream.length) {
      stream.push(item);
    } else {
      this.report(kind, `${who} applied position ${i + 1} but the longest stream has ${stream.length}`);
    }
  }
}
