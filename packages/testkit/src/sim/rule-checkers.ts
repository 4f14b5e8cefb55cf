// Checks of the rules Raft's safety rests on, asserted where each rule applies rather than through
// its rare consequences (a lost entry, a stale read) that a run may never show:
//   - Raft §5.4.2: a leader advances its commit index only to an entry of its current term;
//   - thesis §6.4: a read is answered only after a quorum round that started after it arrived;
//   - thesis §4.1: a leader appends a membership change only when none is unapplied in its log;
//   - Raft §5.1 / Figure 2: nothing a node sends depends on state it has not made durable.
import type { ConfState, Entry, Message, NodeId } from '@adrestia/consensus';
import { SafetyViolation } from './checkers.ts';

/** A node's durable state as the checks need it (SimDisk's synced part). */
export interface DurableView {
  hardState: { term: number; vote: NodeId | null };
  snapshotIndex: number;
  lastIndex: number;
  termAt(index: number): number | undefined;
}

/** What a leader's status says when it hands out a Ready. */
export interface LeaderView {
  id: NodeId;
  term: number;
  applied: number;
  confState: ConfState;
}

function isMajority(voters: readonly NodeId[], has: (id: NodeId) => boolean): boolean {
  if (voters.length === 0) return true;
  return voters.filter(has).length * 2 > voters.length;
}

/** A member set's majority: more than half of it (an empty set has none to find). */
function majoritySize(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * True when some majority of `a` and some majority of `b` share no member: each takes what it
 * can outside the other and the rest from the common members, which must not suffice for both.
 */
function disjointMajorities(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length === 0 || b.length === 0) return false;
  const common = a.filter((id) => b.includes(id)).length;
  const needA = Math.max(0, majoritySize(a.length) - (a.length - common));
  const needB = Math.max(0, majoritySize(b.length) - (b.length - common));
  return needA + needB <= common;
}

/** Thesis §4: two configurations in force at once must overlap in a majority (each half of a joint one). */
export function configurationsOverlap(x: ConfState, y: ConfState): boolean {
  const halves = (c: ConfState): NodeId[][] => (c.votersOutgoing.length > 0 ? [c.voters, c.votersOutgoing] : [c.voters]);
  // A decision of x needs a majority of every half of x, the same for y: one half of each whose
  // majorities always meet makes every two decisions meet.
  return halves(x).some((hx) => halves(y).some((hy) => !disjointMajorities(hx, hy)));
}

function sentBeforeSync(m: Message, what: string): never {
  throw new SafetyViolation('sent-before-sync', `${m.from} sent ${m.type} (term ${m.term}) to ${m.to} ${what}`);
}

export class RuleChecker {
  /** A logical clock over sends and read arrivals: "after" means a larger number. */
  private clock = 0;
  private readonly sentAt = new WeakMap<Message, number>();
  /** Per node, per leader: the term and latest send-clock of a leader message the node received. */
  private readonly heard = new Map<NodeId, Map<NodeId, { term: number; sent: number }>>();
  /** Per response: the `heard` value of its sender towards its addressee when it was handed out. */
  private readonly respondsTo = new WeakMap<Message, number>();
  /** Per leader and term: the latest `respondsTo` each peer's answers carried. */
  private readonly acked = new Map<string, number>();
  /** Read request id → leader, its term, the clock and the leader's configuration when the read arrived. */
  private readonly reads = new Map<number, { leader: NodeId; term: number; at: number; confState: ConfState | null }>();
  /** Conf-change entry index proposed by a leader (per leader/term) → its applied index then. */
  private readonly confProposals = new Map<string, number>();

  /** A read arrived at leader `leader` of `term`. */
  readArrived(rid: number, leader: NodeId, term: number, confState: ConfState | null = null): void {
    this.reads.set(rid, { leader, term, at: ++this.clock, confState });
  }

  /** A leader accepted a membership change that will sit at `index`, having applied `applied`. */
  confProposed(leader: NodeId, term: number, index: number, applied: number): void {
    this.confProposals.set(`${leader}/${term}/${index}`, applied);
  }

  /** A node is about to send `m` (its Ready has been persisted). */
  sending(m: Message, disk: DurableView, leaderDisk: (id: NodeId) => DurableView | undefined): void {
    this.clock++;
    if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') this.sentAt.set(m, this.clock);
    if (m.type === 'heartbeatResp' || m.type === 'appendResp' || m.type === 'snapshotResp') {
      // The latest leader message its sender had received: a response confirms no later round.
      const h = this.heard.get(m.from)?.get(m.to);
      if (h !== undefined && h.term === m.term) this.respondsTo.set(m, h.sent);
    }
    this.checkDurable(m, disk, leaderDisk);
  }

  /** A node received `m`. */
  received(m: Message, role: string, term: number): void {
    if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
      const sent = this.sentAt.get(m);
      if (sent === undefined) return;
      let byLeader = this.heard.get(m.to);
      if (byLeader === undefined) this.heard.set(m.to, (byLeader = new Map<NodeId, { term: number; sent: number }>()));
      const h = byLeader.get(m.from);
      if (h === undefined || h.term < m.term) byLeader.set(m.from, { term: m.term, sent });
      else if (h.term === m.term && h.sent < sent) h.sent = sent;
    } else if (role === 'leader' && m.term === term && (m.type === 'heartbeatResp' || m.type === 'appendResp' || m.type === 'snapshotResp')) {
      const r = this.respondsTo.get(m);
      if (r === undefined) return;
      const k = `${m.to}/${term}/${m.from}`;
      this.acked.set(k, Math.max(this.acked.get(k) ?? 0, r));
    }
  }

  /**
   * A leader's commit index moved from `from` to `to` within its term `term`; `termAt` is the
   * term of the entry at `to` (durable: a leader counts its own copy only once it is synced).
   */
  leaderCommitted(node: NodeId, term: number, from: number, to: number, termAt: number | undefined): void {
    // Raft §5.4.2: entries of earlier terms commit only through a later entry of the current term.
    if (termAt !== term) {
      throw new SafetyViolation('commit-term', `leader ${node} of term ${term} advanced its commit ${from} → ${to}, an entry of term ${termAt ?? 'unknown'}`);
    }
  }

  /**
   * The configurations the nodes that believe they lead use right now (thesis §4: at most two
   * are in force, the old and the new, and they must overlap in a majority, or two leaders could
   * each commit with a quorum of its own).
   */
  leadersConfigured(leaders: readonly LeaderView[]): void {
    for (let i = 0; i < leaders.length; i++) {
      for (let j = i + 1; j < leaders.length; j++) {
        const [x, y] = [leaders[i]!, leaders[j]!];
        if (configurationsOverlap(x.confState, y.confState)) continue;
        const show = (l: LeaderView): string => `[${l.confState.voters.join(',')}]${l.confState.votersOutgoing.length > 0 ? `/[${l.confState.votersOutgoing.join(',')}]` : ''}`;
        throw new SafetyViolation(
          'config-overlap',
          `leaders ${x.id} (term ${x.term}) and ${y.id} (term ${y.term}) use configurations ${show(x)} and ${show(y)} with disjoint majorities`,
        );
      }
    }
  }

  /** Leader `leader` answers read `rid` (its read point is applied). */
  readServed(leader: LeaderView, rid: number): void {
    this.checkReadQuorum(leader, rid);
  }

  /** Leader `leader` writes `entries` to its log, which holds `log(i)` before them. */
  leaderAppending(leader: LeaderView, entries: readonly Entry[], disk: { entryAt(i: number): Entry | undefined }): void {
    const first = entries[0]?.index ?? Number.POSITIVE_INFINITY;
    const log = (i: number): Entry | undefined => (i >= first ? entries[i - first] : disk.entryAt(i));
    for (const e of entries) if (e.type === 'confChange' && e.term === leader.term) this.checkOneConfChange(leader, e, log);
  }

  /** Thesis §6.4: every voter quorum (each half of a joint one) answered a round started after the read. */
  private checkReadQuorum(leader: LeaderView, rid: number): void {
    const read = this.reads.get(rid);
    if (read === undefined || read.leader !== leader.id) return;
    this.reads.delete(rid);
    const confirmed = (id: NodeId): boolean => id === leader.id || (this.acked.get(`${leader.id}/${read.term}/${id}`) ?? 0) > read.at;
    const cs = leader.confState;
    const quorumOf = (c: ConfState): boolean => isMajority(c.voters, confirmed) && isMajority(c.votersOutgoing, confirmed);
    // The configuration may change while the read waits (a change applied in the Ready that
    // answers it): a quorum of the one in force when it arrived or when it is answered will do.
    if (!quorumOf(cs) && (read.confState === null || !quorumOf(read.confState))) {
      const who = [...new Set([...cs.voters, ...cs.votersOutgoing])].filter(confirmed);
      throw new SafetyViolation(
        'read-quorum',
        `leader ${leader.id} of term ${read.term} answered read ${rid} confirmed only by [${who.join(',')}] of voters [${cs.voters.join(',')}]` +
          (cs.votersOutgoing.length > 0 ? ` / [${cs.votersOutgoing.join(',')}]` : ''),
      );
    }
  }

  /** Thesis §4.1 (etcd's rule too): no second membership change while one is unapplied. */
  private checkOneConfChange(leader: LeaderView, e: Entry, log: (i: number) => Entry | undefined): void {
    const key = `${leader.id}/${leader.term}/${e.index}`;
    const applied = this.confProposals.get(key);
    if (applied === undefined) return; // the bootstrap configuration, written by becomeLeader
    this.confProposals.delete(key);
    for (let i = applied + 1; i < e.index; i++) {
      if (log(i)?.type === 'confChange') {
        throw new SafetyViolation(
          'conf-change-pending',
          `leader ${leader.id} of term ${leader.term} appended a membership change at ${e.index} while the one at ${i} was unapplied (applied ${applied})`,
        );
      }
    }
  }

  /** Raft §5.1 / Figure 2: a term, a vote or an acknowledged entry is durable before it is sent. */
  private checkDurable(m: Message, disk: DurableView, leaderDisk: (id: NodeId) => DurableView | undefined): void {
    const hs = disk.hardState;
    if (m.type === 'heartbeat' || m.type === 'append' || m.type === 'heartbeatResp' || m.type === 'snapshot') {
      if (m.term > hs.term) sentBeforeSync(m, `with durable term ${hs.term}`);
      return;
    }
    const fail = (what: string): never => sentBeforeSync(m, what);
    // A pre-vote and a granted pre-vote answer carry the term a campaign would take (thesis §9.6).
    if (m.type !== 'preVote' && m.type !== 'preVoteResp' && m.term > hs.term) fail(`with durable term ${hs.term}`);
    // A vote is fenced by its durable record, or by a durable later term: terms only grow, so the
    // node never votes in that term again (Raft §5.2: one vote per term). A Ready may carry a vote
    // of an earlier term next to the hard state of a later one when several terms passed during a fsync.
    const voteFenced = (to: NodeId): boolean => hs.term > m.term || (hs.term === m.term && hs.vote === to);
    if (m.type === 'vote' && !voteFenced(m.from)) fail(`with durable vote ${hs.vote}@${hs.term}`);
    if (m.type === 'voteResp' && m.granted && !voteFenced(m.to)) fail(`with durable vote ${hs.vote}@${hs.term}`);
    // An acknowledgement of an earlier term whose entry a later leader truncated in the same Ready
    // cannot help commit it: that leader's election needed a voter holding the entry unless it was
    // never committable (Raft §5.4.1), so the durable later term fences the stale answer too.
    if (m.type !== 'appendResp' || !m.success || m.index <= disk.snapshotIndex || hs.term > m.term) return;
    if (disk.lastIndex < m.index) fail(`acknowledging ${m.index} with durable log through ${disk.lastIndex}`);
    // The acknowledged entry is the leader's own: the leader's disk holds it once it sent it.
    const ld = leaderDisk(m.to);
    const mine = disk.termAt(m.index);
    const theirs = ld !== undefined && ld.hardState.term === m.term ? ld.termAt(m.index) : undefined;
    if (theirs !== undefined && mine !== theirs) fail(`acknowledging ${m.index}: durable term ${mine}, the leader's entry has term ${theirs}`);
  }
}
