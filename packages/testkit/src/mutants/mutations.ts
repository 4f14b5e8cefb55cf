// Planted one-line bugs the simulators must catch: each is an exact text patch (search string →
// replacement, the search string occurring exactly once) applied to a scratch copy of packages/.
//
// Not here, because no run can tell it from the correct code (an equivalent mutant): a follower
// committing min(leaderCommit, its own last index) instead of min(leaderCommit, the last new
// entry) (Raft Figure 2, AppendEntries rule 5). In this core a follower's log past an accepted
// append's last new entry holds only entries of the sending leader's term, which an earlier
// append of that leader verified: a follower takes appends only from a leader of its own term or
// a later one, terms never decrease along a log, and the leader's probe (fast backtracking by term,
// raft-core.ts handleAppend / findConflictByTerm) stops exactly at the first divergence, so the
// first entry it sends there conflicts and truncates every stale suffix (raft-log.ts maybeAppend).
// Instrumented over Raft seeds 500000–500299: 85 appends had leaderCommit past the last new entry
// while the follower's log went further, and in every one its last entry had the leader's term.
type SimKind = 'raft' | 'cluster' | 'pki';

export interface Mutation {
  name: string;
  /** What the bug breaks, with its source. */
  rule: string;
  /** Path under packages/. */
  file: string;
  search: string;
  replace: string;
  /** The simulator expected to catch it. */
  sim: SimKind;
}

const CORE = 'consensus/src/raft-core.ts';
const LOG = 'consensus/src/raft-log.ts';
const DRIVER = 'consensus/src/node-driver.ts';

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'figure8-commit-old-term',
    rule: 'Raft §5.4.2: a leader commits a previous-term entry by counting replicas',
    file: CORE,
    search: 'if (idx <= this.log.committed || this.log.term(idx) !== this.term) return false;',
    replace: 'if (idx <= this.log.committed) return false;',
    sim: 'raft',
  },
  {
    name: 'read-without-quorum',
    rule: 'thesis §6.4: a leader serves a ReadIndex read without a quorum round',
    file: CORE,
    search: 'if (voters.length === 1 && voters[0] === this.id) {',
    replace: 'if (voters.length >= 1) {',
    sim: 'raft',
  },
  {
    name: 'two-conf-changes-pending',
    rule: 'thesis §4.1: a second membership change while one is unapplied',
    file: CORE,
    search: 'this.pendingConfIndex = idx;',
    replace: 'this.pendingConfIndex = 0 * idx;',
    sim: 'raft',
  },
  {
    name: 'stable-to-rewritten-entry',
    rule: 'Raft §5.3: stableTo marks a truncated-and-rewritten entry durable',
    file: LOG,
    search: 'if (this.matchTerm(index, term) && index > this.stabled) this.stabled = index;',
    replace: 'if (index > this.stabled) this.stabled = index;',
    sim: 'raft',
  },
  {
    name: 'vote-without-up-to-date-check',
    rule: 'Raft §5.4.1: a vote granted without the election restriction',
    file: CORE,
    search: 'if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {',
    replace: 'if (canVote) {',
    sim: 'raft',
  },
  {
    name: 'vote-not-persisted',
    rule: 'Raft Figure 2: votedFor is persistent state',
    file: CORE,
    search: 'return { term: this.term, vote: this.vote, commit: this.log.committed };',
    replace: 'return { term: this.term, vote: null, commit: this.log.committed };',
    sim: 'raft',
  },
  {
    name: 'no-prev-log-term-check',
    rule: 'Raft §5.3: AppendEntries accepted without the prevLogTerm check',
    file: LOG,
    search: 'if (!this.matchTerm(prevIndex, prevTerm)) return undefined;',
    replace: 'if (prevIndex > this.lastIndex()) return undefined;',
    sim: 'raft',
  },
  {
    name: 'snapshot-keeps-conflicting-suffix',
    rule: 'Raft §7: a snapshot whose last entry conflicts must replace the log',
    file: CORE,
    search: 'if (this.log.matchTerm(md.index, md.term)) {',
    replace: 'if (this.log.lastIndex() >= md.index) {',
    sim: 'raft',
  },
  {
    name: 'read-before-own-term-commit',
    rule: 'thesis §6.4: ReadIndex before the leader has committed an entry of its term',
    file: CORE,
    search: "if (!this.committedInTerm()) {\n        throw new RaftError('ERR_READ_NOT_READY'",
    replace: "if (this.term < 0) {\n        throw new RaftError('ERR_READ_NOT_READY'",
    sim: 'raft',
  },
  {
    name: 'driver-no-sync',
    rule: 'Raft §5.1: the driver writes without fsync',
    file: DRIVER,
    search: '{ sync: rd.mustSync },',
    replace: '{ sync: false },',
    sim: 'cluster',
  },
  {
    name: 'driver-send-before-persist',
    rule: 'Raft §5.1 / Figure 2: the driver sends before persisting',
    file: DRIVER,
    search: '    if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {\n      await this.options.storage.save(',
    replace:
      '    if (rd.messages.length > 0) this.options.transport.send(rd.messages);\n    rd = { ...rd, messages: [] };\n' +
      '    if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {\n      await this.options.storage.save(',
    sim: 'cluster',
  },
  {
    name: 'driver-send-before-persist-raft',
    rule: 'Raft §5.1 / Figure 2: the driver sends before persisting (the Raft VOPR runs NodeDriver)',
    file: DRIVER,
    search: '    if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {\n      await this.options.storage.save(',
    replace:
      '    if (rd.messages.length > 0) this.options.transport.send(rd.messages);\n    rd = { ...rd, messages: [] };\n' +
      '    if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {\n      await this.options.storage.save(',
    sim: 'raft',
  },
  {
    name: 'read-confirmed-by-earlier-round',
    rule: 'thesis §6.4: a (possibly deposed) leader answers a read on acknowledgements of a round sent before it arrived',
    file: CORE,
    search: 'this.readOnly.add({ round: this.heartbeatRound + 1, index, requestCtx, from });',
    replace: 'this.readOnly.add({ round: this.heartbeatRound, index, requestCtx, from });',
    sim: 'raft',
  },
  {
    name: 'pki-accept-duplicate-serial',
    rule: 'RFC 5280 §4.1.2.2: the state machine accepts a second certificate under one issuer and serial',
    file: 'pki-core/src/state/apply-certs.ts',
    search: '  await requireFreshSerial(tx, ev.issuerId, ev.serialHex);\n  // A retried renewal',
    replace: '  // A retried renewal',
    sim: 'pki',
  },
  {
    name: 'vote-twice-in-term',
    rule: 'Raft §5.2: each server votes for at most one candidate in a term',
    file: CORE,
    search: '(this.vote === null && this.leaderId === null) ||',
    replace: '(this.leaderId === null) ||',
    sim: 'raft',
  },
  {
    name: 'append-keeps-conflicting-entries',
    rule: 'Raft §5.3: an existing entry that conflicts with a new one (same index, other term) is deleted with all that follow',
    file: LOG,
    search: 'const conflict = ents.find((e) => !this.matchTerm(e.index, e.term));',
    replace: 'const conflict = ents.find((e) => e.index > this.lastIndex());',
    sim: 'raft',
  },
  {
    name: 'commit-without-majority',
    rule: 'Raft §5.3: an entry is committed once a majority of the voters hold it (here: one fewer)',
    file: 'consensus/src/quorum.ts',
    search: 'return acked[Math.floor(voters.length / 2)] ?? 0;',
    replace: 'return acked[Math.max(0, Math.floor(voters.length / 2) - 1)] ?? 0;',
    sim: 'raft',
  },
  {
    name: 'seat-sends-before-seat-persist',
    rule: 'Raft Figure 2 for the global seat: its messages go out only after the SeatPersist record commits in the local group',
    file: 'consensus/src/two-tier/seat-host.ts',
    search: '      a.pending = { ready, seq, ticksWaiting: 0 };',
    replace: '      if (ready.messages.length > 0) this.options.send(ready.messages);\n      a.pending = { ready: { ...ready, messages: [] }, seq, ticksWaiting: 0 };',
    sim: 'cluster',
  },
  {
    name: 'pki-revocation-only-where-issued',
    rule: 'revocations are global: every AZ records one, also for a certificate it does not hold (state/apply-certs.ts applyRevoked)',
    file: 'pki-core/src/state/apply-certs.ts',
    search: "  const notAfter = cert?.notAfter ?? ev.notAfter;\n",
    replace: "  if (cert === undefined) return { type: 'Revoked' };\n  const notAfter = cert.notAfter;\n",
    sim: 'pki',
  },
  {
    name: 'pki-apply-reads-wall-clock',
    rule: 'a replicated state machine is deterministic: apply takes time from the event, never from the local clock',
    file: 'pki-core/src/state/apply-certs.ts',
    search: '    revokedAt: ev.revokedAt,\n    requestedBy: ev.requestedBy,',
    replace: '    revokedAt: Date.now(),\n    requestedBy: ev.requestedBy,',
    sim: 'pki',
  },
  {
    name: 'pki-audit-checkpoint-stale-head',
    rule: 'a signed audit checkpoint attests the head its log holds at its position (docs/architecture.md §18)',
    file: 'pki-core/src/node/audit/audit-checkpoints.ts',
    search: 'const fields = { log, az: this.ctx.az, position, head, signerNodeId',
    replace: 'const fields = { log, az: this.ctx.az, position: position - 1, head, signerNodeId',
    sim: 'pki',
  },
];

/** Applies `m` to the text of its file; throws unless the search string occurs exactly once. */
export function applyMutation(m: Mutation, text: string): string {
  const at = text.indexOf(m.search);
  if (at < 0 || text.indexOf(m.search, at + 1) >= 0) {
    throw new Error(`mutation ${m.name}: the search string must occur exactly once in ${m.file}`);
  }
  return text.slice(0, at) + m.replace + text.slice(at + m.search.length);
}
