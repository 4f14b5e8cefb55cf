import { validateRaftConfig, type RaftConfig } from './config.ts';
import { applyConfChange, bootstrapConfChange, decodeConfChange, encodeConfChange } from './conf-change.ts';
import { assertInvariant, RaftError, type RaftErrorCode } from './errors.ts';
import type * as M from './messages.ts';
import type { Message } from './messages.ts';
import { Progress, type ProgressState } from './progress.ts';
import { allVoters, isVoter, jointCommitted, jointQuorum, jointVote } from './quorum.ts';
import type { RandomSource } from './random.ts';
import { RaftLog } from './raft-log.ts';
import { ReadOnlyQueue } from './read-only.ts';
import { SnapshotReceiver } from './snapshot-receiver.ts';
import type { Ready } from './ready.ts';
import type {
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  HardState,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SoftState,
} from './types.ts';

// A pure, synchronous Raft state machine in the style of etcd-io/raft (raft.go). Inputs: tick(),
// step(), propose(), campaign(), readIndex(), compact(); output: Ready. No I/O, no clock, no
// randomness of its own. Terms are handled in one place (handleTerm, Raft §5.1); only the
// becomeX methods switch role; stepLeader/stepCandidate/stepFollower dispatch by role.
//
// Membership: one voter change at a time, taking effect when the entry is applied (advance()),
// as etcd does; see conf-change.ts. The first leader of a group writes the bootstrap
// configuration as the log's first entry, so members that join later learn it from the log.

export interface RaftCoreOptions {
  id: NodeId;
  config: RaftConfig;
  random: RandomSource;
  /** Durable state recovered from storage (fresh node: hardState {term:0,vote:null,commit:0}, no snapshot, no entries). */
  storage: { hardState: HardState; snapshot: Snapshot | null; entries: Entry[] };
  /**
   * Membership when storage has no snapshot: the founding configuration (every founder must pass
   * the same one). Omit on a node that joins an existing group: it learns membership from the log.
   */
  initialConfState?: ConfState;
  /** Index up to which the state machine has already applied. Default: snapshot index. */
  appliedIndex?: number;
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  inflightMsgs: number;
  recentActive: boolean;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId | null;
  role: Role;
  leaderId: NodeId | null;
  commit: number;
  applied: number;
  lastIndex: number;
  snapshotIndex: number;
  confState: ConfState;
  /** Leader only: the replication state of every member, this node included. */
  progress?: Record<NodeId, ProgressStatus>;
  leadTransferee: NodeId | null;
}

type Proposal = { type: EntryType; data: Uint8Array };

const EMPTY_CONF: ConfState = { voters: [], learners: [], votersOutgoing: [] };

export class RaftCore {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly random: RandomSource;
  private readonly log: RaftLog;

  private term: number;
  private vote: NodeId | null;
  private role: Role = 'follower';
  private leaderId: NodeId | null = null;

  /** Membership as of `log.applied`; `confBase` as of the snapshot, `confHistory` after it. */
  private confState: ConfState;
  private confBase: ConfState;
  private confHistory: { index: number; confState: ConfState }[] = [];

  private readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** Ticks since construction: the clock of the quorum lease. */
  private ticks = 0;
  /** After a restart we may have acknowledged a leader whose lease is still running. */
  private readonly restartGraceTicks: number;
  /**
   * Tick at which this node last heard from a leader of its term; construction counts as such a
   * contact, since contacts before a restart are not known.
   */
  private leaderContactTick = 0;
  /** Candidate: per voter that granted its vote, the latest tick (ours) it may have heard from a leader. */
  private readonly voterContactTicks = new Map<NodeId, number>();
  /** Leader: from this tick on, every earlier leader's check-quorum lease has lapsed. */
  private priorLeaseEndTick = 0;

  private leadTransferee: NodeId | null = null;
  /** Index of the latest conf change in the log; no new one until it is applied. */
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  private readonly readOnly = new ReadOnlyQueue();
  private heartbeatRound = 0;
  /**
   * Reads wait for round heartbeatRound + 1, not yet sent: every read that arrives before the next
   * Ready shares that one round (thesis §6.4: one quorum confirmation serves a batch of reads).
   */
  private readRoundPending = false;
  private readonly roundSentTick = new Map<number, number>();
  private readonly snapshotReceiver = new SnapshotReceiver();

  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private readyOutstanding = false;

  constructor(opts: RaftCoreOptions) {
    if (typeof opts.id !== 'string' || opts.id.length === 0) throw new TypeError('RaftCore: id must be a non-empty string');
    this.id = opts.id;
    this.cfg = validateRaftConfig(opts.config);
    this.random = opts.random;
    const { hardState, snapshot, entries } = opts.storage;
    this.term = hardState.term;
    this.vote = hardState.vote;
    const snapIndex = snapshot?.metadata.index ?? 0;
    const applied = opts.appliedIndex ?? snapIndex;
    const commit = Math.max(hardState.commit, snapIndex);
    if (!Number.isSafeInteger(applied) || applied < snapIndex || applied > commit) {
      throw new TypeError(`RaftCore: appliedIndex ${applied} outside [snapshot ${snapIndex}, commit ${commit}]`);
    }
    this.log = new RaftLog(snapshot, entries, commit, applied);
    this.confBase = cloneConf(snapshot?.metadata.confState ?? opts.initialConfState ?? bootstrapFromLog(entries));
    this.confState = this.confBase;
    this.replayAppliedConfChanges(snapIndex, applied);
    this.restartGraceTicks = hardState.term > 0 ? this.cfg.electionTimeoutTicks : 0;
    this.resetRandomizedElectionTimeout();
    this.prevHardState = this.hardState();
    this.prevSoftState = this.softState();
  }

  // ---------------------------------------------------------------- inputs

  /** One logical clock tick: elections on followers, heartbeats and check-quorum on leaders. */
  tick(): void {
    this.ticks++;
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** Delivers a message. Messages addressed to another node are ignored. */
  step(m: Message): void {
    if (m.to !== this.id || m.from === this.id) return;
    // Forwarded proposals and reads are not bound to a term (etcd sends them with term 0): a
    // stale one is harmless, and letting one move our term would disrupt the group.
    if (m.type === 'propose') {
      if (this.role === 'leader') this.handleProposal(m.entries);
      else if (this.role === 'follower' && this.leaderId !== null) this.forwardProposal(m.entries);
      return;
    }
    if (m.type === 'readIndex') return this.handleReadIndexRequest(m);
    if (!this.handleTerm(m)) return;
    if (m.type === 'preVote' || m.type === 'vote') return this.handleVoteRequest(m);
    switch (this.role) {
      case 'leader':
        return this.stepLeader(m);
      case 'candidate':
      case 'preCandidate':
        return this.stepCandidate(m);
      case 'follower':
        return this.stepFollower(m);
    }
  }

  propose(data: Uint8Array): void {
    this.proposeEntries([{ type: 'normal', data }]);
  }

  proposeConfChange(cc: ConfChange): void {
    if (this.role === 'leader') this.checkConfChange(cc);
    this.proposeEntries([{ type: 'confChange', data: encodeConfChange(cc) }]);
  }

  /** Starts an election now (pre-vote first when enabled). A no-op on leaders and non-voters. */
  campaign(): void {
    this.hup(false);
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw new RaftError('ERR_NOT_LEADER', 'only the leader transfers leadership');
    if (!isVoter(this.confState, to)) throw new RaftError('ERR_TRANSFER_INVALID', `${to} is not a voter`);
    if (to === this.id || this.leadTransferee === to) return;
    // Thesis §3.10: stop accepting proposals, bring the target up to date, then TimeoutNow.
    // The transfer aborts if it does not finish within an election timeout (tickHeartbeat).
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const pr = this.mustProgress(to);
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }

  /** Linearizable read (thesis §6.4); the read point arrives in Ready.readStates. */
  readIndex(requestCtx: Uint8Array): void {
    if (this.role === 'leader') {
      if (!this.committedInTerm()) {
        throw new RaftError('ERR_READ_NOT_READY', 'no entry of this term committed yet');
      }
      this.serveRead(requestCtx, null);
    } else if (this.role === 'follower' && this.leaderId !== null) {
      this.send({ ...this.env(this.leaderId), type: 'readIndex', requestCtx });
    } else {
      throw new RaftError('ERR_NOT_LEADER', 'no known leader to serve the read');
    }
  }

  /** Snapshot at `index` (≤ applied) holding `data`; drops entries ≤ index except the last `retainEntries`. */
  compact(index: number, data: Uint8Array, retainEntries = 0): void {
    if (!Number.isSafeInteger(retainEntries) || retainEntries < 0) throw new TypeError('compact: bad retainEntries');
    if (index <= this.log.snapshotIndex) {
      throw new RaftError('ERR_COMPACTED', `index ${index} is at or below snapshot ${this.log.snapshotIndex}`);
    }
    if (!Number.isSafeInteger(index) || index > this.log.applied) {
      throw new TypeError(`compact: index ${index} beyond applied ${this.log.applied}`);
    }
    const term = this.log.term(index);
    assertInvariant(term !== undefined, `term of ${index} unknown while compacting`);
    const confState = this.confStateAt(index);
    this.log.compact({ metadata: { index, term, confState }, data }, retainEntries);
    this.confBase = confState;
    this.confHistory = this.confHistory.filter((h) => h.index > index);
  }

  // ---------------------------------------------------------------- Ready

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    return (
      this.readRoundPending ||
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.log.unstableSnapshot !== null ||
      this.log.stabled < this.log.lastIndex() ||
      !sameHardState(this.hardState(), this.prevHardState) ||
      !sameSoftState(this.softState(), this.prevSoftState) ||
      this.log.nextCommitted(1).length > 0
    );
  }

  /** The next batch of work for the caller (see ready.ts); advance() must follow before the next. */
  ready(): Ready {
    if (this.readyOutstanding) throw new TypeError('RaftCore.ready: the previous Ready was not advanced');
    if (this.readRoundPending) this.bcastHeartbeat();
    const hs = this.hardState();
    const ss = this.softState();
    const entries = this.log.unstableEntries();
    const snapshot = this.log.unstableSnapshot;
    const termOrVoteChanged = hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote;
    const rd: Ready = {
      softState: sameSoftState(ss, this.prevSoftState) ? null : ss,
      hardState: sameHardState(hs, this.prevHardState) ? null : hs,
      entries,
      snapshot,
      committedEntries: this.log.nextCommitted(this.cfg.maxCommittedBytesPerReady),
      messages: this.msgs,
      readStates: this.readStates,
      mustSync: entries.length > 0 || snapshot !== null || termOrVoteChanged,
    };
    this.prevHardState = hs;
    this.prevSoftState = ss;
    this.msgs = [];
    this.readStates = [];
    this.readyOutstanding = true;
    return rd;
  }

  /** The caller persisted, sent and applied `r`: move the stable and applied cursors. */
  advance(r: Ready): void {
    if (!this.readyOutstanding) throw new TypeError('RaftCore.advance: no outstanding Ready');
    this.readyOutstanding = false;
    if (r.snapshot) this.log.stableSnapshotTo(r.snapshot.metadata.index);
    const last = r.entries[r.entries.length - 1];
    if (last) this.log.stableTo(last.index, last.term);
    for (const e of r.committedEntries) {
      // A snapshot installed since this Ready was taken already covers these entries.
      if (e.index <= this.log.snapshotIndex) continue;
      this.log.appliedTo(e.index);
      if (e.type === 'confChange') this.applyConfEntry(e);
    }
    if (this.role === 'leader') {
      // The leader's own copy counts toward commitment only once it is durable (Raft §5.3 with
      // thesis §10.2.1's parallel write: the others may persist first, that is fine).
      const self = this.progress.get(this.id);
      if (self?.maybeUpdate(this.log.stabled) && this.maybeCommit()) this.bcastAppend();
    }
  }

  // ---------------------------------------------------------------- status

  status(): RaftStatus {
    const s: RaftStatus = {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshotIndex,
      confState: cloneConf(this.confState),
      leadTransferee: this.leadTransferee,
    };
    if (this.role === 'leader') {
      s.progress = {};
      for (const [id, pr] of this.progress) {
        s.progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          inflightMsgs: pr.inflights.count,
          recentActive: pr.recentActive,
        };
      }
    }
    return s;
  }

  /**
   * Check-quorum lease: true while this leader knows a quorum acknowledged a heartbeat it sent
   * less than electionTimeoutTicks ago. Those voters refuse to elect anyone else until an
   * election timeout after they received it (stickiness), so no other leader can exist yet —
   * assuming tick rates agree across nodes. False during a leadership transfer, which bypasses
   * stickiness on purpose.
   */
  hasQuorumLease(): boolean {
    if (this.role !== 'leader' || !this.cfg.checkQuorum || this.leadTransferee !== null) return false;
    const round = this.confirmedRound();
    const sent = this.roundSentTick.get(round);
    return sent !== undefined && this.ticks - sent < this.cfg.electionTimeoutTicks;
  }

  /**
   * Leader: ticks from now until every earlier leader's check-quorum lease has provably lapsed
   * (negative: lapsed that long ago); null on other roles. A lease is backed by a heartbeat round
   * a quorum acknowledged, and lasts electionTimeoutTicks from when the round was SENT; the voters
   * that elected us form a quorum, which holds a member of every quorum that acknowledged an
   * earlier leader's round, and each voter reported how long before its vote it last heard from
   * any leader (it acknowledges nothing of an older term after voting: Raft §5.1). So the latest
   * such contact bounds the send time of every round still backing an earlier lease.
   */
  priorLeaseRemainingTicks(): number | null {
    return this.role === 'leader' ? this.priorLeaseEndTick - this.ticks : null;
  }

  // ---------------------------------------------------------------- role switches

  private becomeFollower(term: number, leaderId: NodeId | null): void {
    this.reset(term);
    this.role = 'follower';
    this.leaderId = leaderId;
  }

  private becomePreCandidate(): void {
    assertInvariant(this.role !== 'leader', 'leader cannot become pre-candidate');
    // Pre-vote (thesis §9.6) changes neither term nor vote.
    this.role = 'preCandidate';
    this.leaderId = null;
    this.votes.clear();
  }

  private becomeCandidate(): void {
    assertInvariant(this.role !== 'leader', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.leaderId = null;
  }

  private becomeLeader(): void {
    assertInvariant(this.role === 'candidate', `only a candidate becomes leader, not a ${this.role}`);
    // A voter that reported no contact time (an older peer) counted as contact when its answer arrived.
    const latestContactTick = Math.max(...this.voterContactTicks.values());
    assertInvariant(Number.isFinite(latestContactTick), 'elected without any granted vote on record');
    this.reset(this.term);
    this.priorLeaseEndTick = latestContactTick + this.cfg.electionTimeoutTicks;
    this.role = 'leader';
    this.leaderId = this.id;
    for (const id of members(this.confState)) this.progress.set(id, this.newProgress(id));
    this.mustProgress(this.id).maybeUpdate(this.log.stabled);
    // No conf change until everything before this term is applied (etcd does the same).
    this.pendingConfIndex = this.log.lastIndex();
    // Raft §5.4.2 / thesis §6.4: an entry of our own term lets earlier entries commit. The
    // group's first leader makes it the bootstrap configuration, so later joiners learn it.
    if (this.log.lastIndex() === 0) {
      const data = encodeConfChange(bootstrapConfChange(this.confState));
      this.appendLocal([{ type: 'confChange', data }], true);
      this.pendingConfIndex = 1;
    } else {
      this.appendLocal([{ type: 'normal', data: new Uint8Array(0) }], true);
    }
  }

  private reset(term: number): void {
    assertInvariant(term >= this.term, `term would decrease from ${this.term} to ${term}`);
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.leaderId = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = null;
    this.votes.clear();
    this.voterContactTicks.clear();
    this.progress.clear();
    this.readOnly.clear();
    this.heartbeatRound = 0;
    this.readRoundPending = false;
    this.roundSentTick.clear();
    this.uncommittedBytes = 0;
  }

  private resetRandomizedElectionTimeout(): void {
    const e = this.cfg.electionTimeoutTicks;
    this.randomizedElectionTimeout = e + this.random.nextInt(e);
  }

  // ---------------------------------------------------------------- ticks and elections

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTimeoutTicks) {
      this.electionElapsed = 0;
      // Thesis §6.2: a leader that cannot reach a quorum steps down, so clients go elsewhere.
      if (this.cfg.checkQuorum && !this.checkQuorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
      this.leadTransferee = null; // the transfer did not finish within an election timeout
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatIntervalTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private checkQuorumActive(): boolean {
    const active = jointQuorum(this.confState, (id) => id === this.id || this.progress.get(id)?.recentActive === true);
    for (const [id, pr] of this.progress) pr.recentActive = id === this.id;
    return active;
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // A member with committed but unapplied membership changes may count votes with the wrong
    // configuration; wait until they are applied (etcd). A transfer target may go ahead: with
    // one voter change at a time the old and new majorities overlap.
    if (!transfer && this.hasUnappliedConfChanges()) return;
    if (this.cfg.preVote && !transfer) this.campaignPreVote();
    else this.campaignElection(transfer);
  }

  private campaignPreVote(): void {
    this.becomePreCandidate();
    this.requestVotes('preVote', this.term + 1, false);
  }

  private campaignElection(transfer: boolean): void {
    this.becomeCandidate();
    this.requestVotes('vote', this.term, transfer);
  }

  private requestVotes(type: 'preVote' | 'vote', term: number, transfer: boolean): void {
    this.votes.set(this.id, true);
    this.voterContactTicks.set(this.id, this.leaderContactTick);
    if (this.pollVotes()) return;
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    for (const to of allVoters(this.confState)) {
      if (to === this.id) continue;
      const base = { from: this.id, to, term, lastLogIndex, lastLogTerm };
      this.send(type === 'vote' ? { ...base, type, transfer } : { ...base, type });
    }
  }

  /** Tallies votes; returns true when the election is decided. */
  private pollVotes(): boolean {
    const result = jointVote(this.confState, this.votes);
    if (result === 'pending') return false;
    if (result === 'lost') {
      this.becomeFollower(this.term, null);
    } else if (this.role === 'preCandidate') {
      this.campaignElection(false);
    } else {
      this.becomeLeader();
    }
    return true;
  }

  // ---------------------------------------------------------------- step

  /** Raft §5.1, in one place: returns false when the message must be dropped. */
  private handleTerm(m: Message): boolean {
    if (m.term > this.term) {
      if ((m.type === 'preVote' || m.type === 'vote') && this.inLease(m)) return false;
      // A pre-vote request never moves our term; a granted pre-vote reply carries the term we
      // would campaign at, not one anybody holds yet.
      if (m.type === 'preVote') return true;
      if (m.type === 'preVoteResp' && m.granted) return true;
      const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
      const elapsed = this.electionElapsed;
      this.becomeFollower(m.term, fromLeader ? m.from : null);
      // Raft Figure 2: only a leader's message or a granted vote resets the election timer. A
      // candidate with a stale log (or a removed member) that keeps raising the term must not
      // keep the up-to-date members from campaigning (etcd resets here; we follow the paper).
      if (m.type === 'vote') this.electionElapsed = Math.min(elapsed, this.cfg.electionTimeoutTicks);
      return true;
    }
    if (m.term < this.term) {
      if ((m.type === 'append' || m.type === 'heartbeat') && (this.cfg.checkQuorum || this.cfg.preVote)) {
        // A leader cut off by a partition may never see a higher term otherwise (our term
        // moved without it, and pre-vote keeps its term steady): tell it (etcd does the same).
        this.send({ ...this.env(m.from), type: 'appendResp', success: false, index: 0, rejectHint: 0, rejectHintTerm: 0 });
      } else if (m.type === 'preVote') {
        this.send({ ...this.env(m.from), type: 'preVoteResp', granted: false });
      }
      return false;
    }
    return true;
  }

  /**
   * Leader stickiness (thesis §4.2.3, §9.6): while we heard from a leader within an election
   * timeout, refuse to help disrupt it — always for pre-votes, for votes when check-quorum is on
   * (a leadership transfer is exempt). Also just after a restart, when we may have acknowledged
   * a heartbeat that still backs a leader's lease.
   */
  private inLease(m: M.PreVoteRequest | M.VoteRequest): boolean {
    if (m.type === 'vote' && (m.transfer || !this.cfg.checkQuorum)) return false;
    if (this.ticks < this.restartGraceTicks) return true;
    return this.leaderId !== null && this.electionElapsed < this.cfg.electionTimeoutTicks;
  }

  private handleVoteRequest(m: M.PreVoteRequest | M.VoteRequest): void {
    const respType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leaderId === null) ||
      (m.type === 'preVote' && m.term > this.term);
    // Raft §5.4.1 election restriction.
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      // A granted pre-vote answers at the proposed term so the pre-candidate counts it.
      const granted = { from: this.id, to: m.from, term: m.term, type: respType, granted: true } as const;
      this.send(m.type === 'vote' ? { ...granted, leaderContactAgoTicks: this.ticks - this.leaderContactTick } : granted);
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ ...this.env(m.from), type: respType, granted: false });
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    switch (m.type) {
      case 'appendResp':
        if (pr) this.handleAppendResponse(m, pr);
        return;
      case 'heartbeatResp':
        if (pr) this.handleHeartbeatResponse(m, pr);
        return;
      case 'snapshotResp':
        if (pr) this.handleSnapshotResponse(m, pr);
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Raft §5.2: at most one leader per term.
        assertInvariant(false, `two leaders in term ${this.term}: ${this.id} and ${m.from}`);
        return;
      default:
        return; // stale votes, readIndexResp, timeoutNow: nothing to do as leader
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Raft §5.2: a candidate that hears from a leader of its term returns to follower.
        this.becomeFollower(m.term, m.from);
        return this.stepFollower(m);
      case 'preVoteResp':
      case 'voteResp':
        if ((m.type === 'preVoteResp') !== (this.role === 'preCandidate')) return;
        this.votes.set(m.from, m.granted);
        // The voter's last contact came before its answer, so before now on our clock.
        if (m.type === 'voteResp' && m.granted) this.voterContactTicks.set(m.from, this.ticks - (m.leaderContactAgoTicks ?? 0));
        this.pollVotes();
        return;
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.electionElapsed = 0;
        this.leaderContactTick = this.ticks;
        this.leaderId = m.from;
        if (m.type === 'append') this.handleAppend(m);
        else if (m.type === 'heartbeat') this.handleHeartbeat(m);
        else this.handleSnapshotChunk(m);
        return;
      case 'timeoutNow':
        // Thesis §3.10: the leader asks us to start an election at once, skipping pre-vote.
        this.hup(true);
        return;
      case 'readIndexResp':
        if (m.ok) this.readStates.push({ index: m.index, requestCtx: m.requestCtx });
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- follower side

  private handleAppend(m: M.AppendRequest): void {
    if (m.prevLogIndex < this.log.committed) {
      this.sendAppendResp(m.from, true, this.log.committed, 0, 0);
      return;
    }
    const last = this.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.entries);
    if (last !== undefined) {
      this.log.commitTo(Math.min(m.commit, last));
      this.sendAppendResp(m.from, true, last, 0, 0);
      return;
    }
    // Raft §5.3 with fast backtracking: point the leader at the last index that can match.
    const probe = Math.min(m.prevLogIndex, this.log.lastIndex());
    const [hintIndex, hintTerm] = this.log.findConflictByTerm(probe, m.prevLogTerm);
    this.sendAppendResp(m.from, false, m.prevLogIndex, hintIndex, hintTerm);
  }

  private handleHeartbeat(m: M.HeartbeatRequest): void {
    // The leader sends min(our match, its commit), so this never passes our log.
    this.log.commitTo(m.commit);
    this.send({ ...this.env(m.from), type: 'heartbeatResp', readCtxSeq: m.readCtxSeq });
  }

  /** Raft §7 InstallSnapshot, chunked: accept chunks in order, install once complete. */
  private handleSnapshotChunk(m: M.SnapshotChunk): void {
    const out = this.snapshotReceiver.accept(m, this.log.committed);
    if (out.complete) this.restore(out.complete);
    this.sendSnapshotResp(m, out.nextOffset, out.reject);
  }

  /**
   * Installs a complete snapshot. Unlike etcd we accept one whose configuration does not list
   * us yet: a learner added after the leader's latest compaction gets exactly such a snapshot,
   * and the entry that adds it follows in the log. Until then we simply cannot campaign.
   */
  private restore(snapshot: Snapshot): void {
    const md = snapshot.metadata;
    if (this.log.matchTerm(md.index, md.term)) {
      // Our log already holds it: just learn the commit (etcd's fast-forward).
      this.log.commitTo(md.index);
      return;
    }
    this.log.restore(snapshot);
    this.confBase = cloneConf(md.confState);
    this.confState = this.confBase;
    this.confHistory = [];
  }

  // ---------------------------------------------------------------- leader side: replication

  private handleAppendResponse(m: M.AppendResponse, pr: Progress): void {
    pr.recentActive = true;
    if (!m.success) {
      let next = m.rejectHint;
      if (m.rejectHintTerm > 0) {
        next = this.log.findConflictByTerm(Math.min(m.rejectHint, this.log.lastIndex()), m.rejectHintTerm)[0];
      }
      if (pr.maybeDecrTo(m.index, next)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) pr.becomeReplicate();
    else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
    if (this.maybeCommit()) this.bcastAppend();
    else if (wasPaused) this.sendAppend(m.from);
    // Pipelining: fill the freed window without sending empty appends.
    while (this.maybeSendAppend(m.from, false)) {
      /* keep sending */
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: M.HeartbeatResponse, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    if (m.readCtxSeq > pr.ackedRound) pr.ackedRound = m.readCtxSeq;
    // A lost append must not stall a full window forever.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.state === 'snapshot') {
      // One chunk in flight; if it has gone unanswered for half an election timeout, it was
      // probably lost: send it again (the follower discards duplicates by offset).
      const resendTicks = Math.max(1, Math.floor(this.cfg.electionTimeoutTicks / 2));
      if (this.ticks - pr.snapshotChunkSentTick >= resendTicks) this.sendSnapshotChunk(m.from, pr);
    } else if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    this.releaseReads();
  }

  private handleSnapshotResponse(m: M.SnapshotResponse, pr: Progress): void {
    pr.recentActive = true;
    if (pr.state !== 'snapshot' || m.snapshotIndex !== pr.pendingSnapshotIndex) return;
    if (m.reject) {
      pr.becomeProbe();
      pr.probeSent = true; // retry on the next heartbeat reply, not in a tight loop
      return;
    }
    const total = this.log.snapshot?.data.byteLength ?? 0;
    if (m.nextOffset >= total) {
      pr.match = Math.max(pr.match, m.snapshotIndex);
      pr.becomeProbe();
      this.sendAppend(m.from);
      return;
    }
    pr.snapshotOffsetBytes = m.nextOffset;
    this.sendSnapshotChunk(m.from, pr);
  }

  /** Raft §5.3/§5.4.2: advance commit to what a quorum holds, if that entry is of our term. */
  private maybeCommit(): boolean {
    const idx = jointCommitted(this.confState, (id) => this.progress.get(id)?.match ?? 0);
    if (idx <= this.log.committed || this.log.term(idx) !== this.term) return false;
    const from = this.log.committed + 1;
    this.log.commitTo(idx);
    this.releaseUncommitted(from, idx);
    return true;
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends the next batch to `to` unless its progress is paused; returns whether it sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxMsgBytes);
    if (prevLogTerm === undefined || entries === undefined) return this.startSnapshot(to, pr);
    if (entries.length === 0 && !sendIfEmpty) return false;
    const commit = this.log.committed;
    this.send({ type: 'append', from: this.id, to, term: this.term, prevLogIndex, prevLogTerm, entries, commit });
    pr.sentEntries(entries.length, prevLogIndex + entries.length);
    return true;
  }

  private bcastHeartbeat(): void {
    const round = ++this.heartbeatRound;
    this.readRoundPending = false; // this round is sent after every waiting read arrived
    this.roundSentTick.set(round, this.ticks);
    for (const [r, t] of this.roundSentTick) {
      if (this.ticks - t >= this.cfg.electionTimeoutTicks) this.roundSentTick.delete(r);
    }
    for (const [id, pr] of this.progress) {
      if (id === this.id) {
        pr.ackedRound = round;
        continue;
      }
      // Never tell a follower a commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ ...this.env(id), type: 'heartbeat', commit, readCtxSeq: round });
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ ...this.env(to), type: 'timeoutNow' });
  }

  // ---------------------------------------------------------------- leader side: snapshots

  private startSnapshot(to: NodeId, pr: Progress): boolean {
    // Do not push a whole snapshot at a member that may be down (etcd does the same).
    if (!pr.recentActive) return false;
    const snap = this.log.snapshot;
    assertInvariant(snap !== null, `entries for ${to} compacted but no snapshot`);
    pr.becomeSnapshot(snap.metadata.index);
    this.sendSnapshotChunk(to, pr);
    return true;
  }

  /** One chunk in flight: the chunk at the offset the follower last confirmed. */
  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const snap = this.log.snapshot;
    assertInvariant(snap !== null, 'snapshot state without a snapshot');
    // A newer compaction replaced the snapshot: start over with the new one.
    if (snap.metadata.index !== pr.pendingSnapshotIndex) pr.becomeSnapshot(snap.metadata.index);
    const offset = pr.snapshotOffsetBytes;
    const data = snap.data.subarray(offset, offset + this.cfg.snapshotChunkBytes);
    const totalBytes = snap.data.byteLength;
    pr.snapshotChunkSentTick = this.ticks;
    this.send({
      ...this.env(to),
      type: 'snapshot',
      metadata: snap.metadata,
      offset,
      data,
      totalBytes,
      done: offset + data.byteLength >= totalBytes,
    });
  }

  // ---------------------------------------------------------------- proposals

  private proposeEntries(items: Proposal[]): void {
    if (this.role === 'leader') {
      const code = this.handleProposal(items);
      if (code !== null) throw new RaftError(code, proposalRefusal(code));
    } else if (this.role === 'follower' && this.leaderId !== null) {
      // Forwarded proposals may be lost; the caller must retry (etcd does the same).
      this.forwardProposal(items);
    } else {
      throw new RaftError('ERR_PROPOSAL_DROPPED', 'no known leader');
    }
  }

  private forwardProposal(items: Proposal[]): void {
    assertInvariant(this.leaderId !== null, 'forwarding without a leader');
    this.send({ ...this.env(this.leaderId), type: 'propose', entries: items });
  }

  /** Leader: append the proposals or return why not (a forwarded one is dropped silently). */
  private handleProposal(items: Proposal[]): RaftErrorCode | null {
    if (this.leadTransferee !== null) return 'ERR_TRANSFER_IN_PROGRESS';
    if (!this.progress.has(this.id)) return 'ERR_PROPOSAL_DROPPED'; // removed, stepping down
    const confItems = items.filter((i) => i.type === 'confChange');
    if (confItems.length > 0) {
      if (confItems.length > 1 || this.pendingConfIndex > this.log.applied) return 'ERR_CONF_CHANGE_PENDING';
      try {
        this.checkConfChange(decodeConfChange(confItems[0]!.data));
      } catch (e) {
        if (e instanceof RaftError) return e.code;
        throw e;
      }
    }
    if (!this.appendLocal(items, false)) return 'ERR_PROPOSAL_DROPPED';
    if (confItems.length > 0) {
      const idx = this.log.lastIndex() - items.length + 1 + items.findIndex((i) => i.type === 'confChange');
      this.pendingConfIndex = idx;
    }
    return null;
  }

  private checkConfChange(cc: ConfChange): void {
    if (this.pendingConfIndex > this.log.applied) {
      throw new RaftError('ERR_CONF_CHANGE_PENDING', `conf change at ${this.pendingConfIndex} not yet applied`);
    }
    applyConfChange(this.confState, cc, 'propose');
  }

  /** Appends at the end of the leader's log; false if over maxUncommittedBytes. */
  private appendLocal(items: Proposal[], bypassLimit: boolean): boolean {
    const bytes = items.reduce((n, i) => n + i.data.byteLength, 0);
    // As etcd: a leader with nothing uncommitted accepts any one batch, however large.
    if (!bypassLimit && this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.cfg.maxUncommittedBytes) {
      return false;
    }
    const first = this.log.lastIndex() + 1;
    const entries: Entry[] = items.map((it, k) => ({ term: this.term, index: first + k, type: it.type, data: it.data }));
    this.log.append(entries);
    this.uncommittedBytes += bytes;
    this.bcastAppend();
    return true;
  }

  private releaseUncommitted(from: number, to: number): void {
    const ents = this.log.slice(Math.max(from, this.log.firstIndex()), to + 1, Number.MAX_SAFE_INTEGER) ?? [];
    for (const e of ents) if (e.term === this.term) this.uncommittedBytes -= e.data.byteLength;
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
  }

  // ---------------------------------------------------------------- ReadIndex (thesis §6.4)

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private handleReadIndexRequest(m: M.ReadIndexRequest): void {
    if (this.role !== 'leader') return; // lost like any message; the follower's caller retries
    if (!this.committedInTerm()) {
      this.send({ ...this.env(m.from), type: 'readIndexResp', requestCtx: m.requestCtx, index: 0, ok: false });
      return;
    }
    this.serveRead(m.requestCtx, m.from);
  }

  /**
   * Records the read at the current commit index; the next heartbeat round, sent at the latest
   * with the next Ready, confirms leadership for it and every other read recorded before it.
   */
  private serveRead(requestCtx: Uint8Array, from: NodeId | null): void {
    const index = this.log.committed;
    const voters = allVoters(this.confState);
    if (voters.length === 1 && voters[0] === this.id) {
      this.deliverRead(index, requestCtx, from);
      return;
    }
    this.readOnly.add({ round: this.heartbeatRound + 1, index, requestCtx, from });
    this.readRoundPending = true;
  }

  private confirmedRound(): number {
    return jointCommitted(this.confState, (id) => this.progress.get(id)?.ackedRound ?? 0);
  }

  private releaseReads(): void {
    if (this.readOnly.length === 0) return;
    for (const r of this.readOnly.releaseThrough(this.confirmedRound())) this.deliverRead(r.index, r.requestCtx, r.from);
  }

  private deliverRead(index: number, requestCtx: Uint8Array, from: NodeId | null): void {
    if (from === null) this.readStates.push({ index, requestCtx });
    else this.send({ ...this.env(from), type: 'readIndexResp', requestCtx, index, ok: true });
  }

  // ---------------------------------------------------------------- membership

  private applyConfEntry(e: Entry): void {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(e.data);
    } catch (err) {
      if (err instanceof RaftError) return; // every member skips the same undecodable entry
      throw err;
    }
    this.confState = applyConfChange(this.confState, cc, 'apply');
    this.confHistory.push({ index: e.index, confState: this.confState });
    if (this.role === 'leader') this.syncLeaderProgress();
    // A transfer target may campaign before applying a change that removes it; it must stop.
    else if (this.role !== 'follower' && !this.promotable()) this.becomeFollower(this.term, null);
  }

  /** Leader: track exactly the new members; step down if we are no longer a voter. */
  private syncLeaderProgress(): void {
    const ids = members(this.confState);
    for (const id of [...this.progress.keys()]) if (!ids.includes(id)) this.progress.delete(id);
    for (const id of ids) {
      const pr = this.progress.get(id);
      const isLearner = !isVoter(this.confState, id);
      if (!pr) this.progress.set(id, this.newProgress(id));
      else if (pr.isLearner !== isLearner) pr.isLearner = isLearner;
    }
    if (this.leadTransferee !== null && !isVoter(this.confState, this.leadTransferee)) this.leadTransferee = null;
    if (!isVoter(this.confState, this.id)) return this.stepDownAfterRemoval();
    // The quorum changed: commitment may move, and new members need the log.
    this.maybeCommit();
    this.bcastAppend();
  }

  /**
   * We were removed (or demoted) and the change is applied, hence committed. Tell everyone the
   * commit index, hand leadership to the most up-to-date voter, and step down.
   */
  private stepDownAfterRemoval(): void {
    this.bcastHeartbeat();
    let best: { id: NodeId; match: number } | null = null;
    for (const id of this.confState.voters) {
      const match = this.progress.get(id)?.match ?? 0;
      if (!best || match > best.match) best = { id, match };
    }
    if (best && best.match === this.log.lastIndex()) this.sendTimeoutNow(best.id);
    this.becomeFollower(this.term, null);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    const ents = this.log.slice(lo, this.log.committed + 1, Number.MAX_SAFE_INTEGER) ?? [];
    return ents.some((e) => e.type === 'confChange');
  }

  private replayAppliedConfChanges(snapIndex: number, applied: number): void {
    if (applied <= snapIndex) return;
    const ents = this.log.slice(snapIndex + 1, applied + 1, Number.MAX_SAFE_INTEGER) ?? [];
    for (const e of ents) if (e.type === 'confChange') this.applyConfEntry(e);
  }

  private confStateAt(index: number): ConfState {
    let cs = this.confBase;
    for (const h of this.confHistory) if (h.index <= index) cs = h.confState;
    return cloneConf(cs);
  }

  // ---------------------------------------------------------------- helpers

  private promotable(): boolean {
    return isVoter(this.confState, this.id);
  }

  private newProgress(id: NodeId): Progress {
    return new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs, !isVoter(this.confState, id));
  }

  private mustProgress(id: NodeId): Progress {
    const pr = this.progress.get(id);
    assertInvariant(pr !== undefined, `no progress for ${id}`);
    return pr;
  }

  private env(to: NodeId): { from: NodeId; to: NodeId; term: number } {
    return { from: this.id, to, term: this.term };
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }

  private sendAppendResp(to: NodeId, success: boolean, index: number, rejectHint: number, rejectHintTerm: number): void {
    this.send({ type: 'appendResp', from: this.id, to, term: this.term, success, index, rejectHint, rejectHintTerm });
  }

  private sendSnapshotResp(m: M.SnapshotChunk, nextOffset: number, reject: boolean): void {
    this.send({ ...this.env(m.from), type: 'snapshotResp', snapshotIndex: m.metadata.index, nextOffset, reject });
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { role: this.role, leaderId: this.leaderId, term: this.term };
  }
}

/**
 * Without a snapshot or an initial configuration, the founding configuration is the log's first
 * entry (written by the group's first leader). Every founder writes the same one, so it may be
 * used before it is known to be committed: a group restarted before committing it can still elect.
 */
function bootstrapFromLog(entries: Entry[]): ConfState {
  const first = entries[0];
  if (first?.index !== 1 || first.type !== 'confChange') return cloneConf(EMPTY_CONF);
  try {
    return applyConfChange(EMPTY_CONF, decodeConfChange(first.data), 'apply');
  } catch (e) {
    if (e instanceof RaftError) return cloneConf(EMPTY_CONF);
    throw e;
  }
}

function members(cs: ConfState): NodeId[] {
  return [...new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners])];
}

function cloneConf(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners], votersOutgoing: [...cs.votersOutgoing] };
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leaderId === b.leaderId && a.term === b.term;
}

function proposalRefusal(code: RaftErrorCode): string {
  switch (code) {
    case 'ERR_TRANSFER_IN_PROGRESS':
      return 'leadership transfer in progress';
    case 'ERR_CONF_CHANGE_PENDING':
      return 'a membership change is pending';
    case 'ERR_CONF_CHANGE_INVALID':
      return 'invalid membership change';
    default:
      return 'leader is over its uncommitted-bytes limit or was removed';
  }
}
