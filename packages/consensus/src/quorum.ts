import type { ConfState, NodeId } from './types.ts';

// Majority arithmetic (Raft §5.2, §5.3) over one voter set, and its joint form (thesis §4.3):
// during a joint configuration a decision needs a majority of the incoming AND the outgoing set.

export type VoteResult = 'won' | 'lost' | 'pending';

/** The largest index acknowledged by a majority of `voters`. An empty set imposes no limit. */
export function majorityCommitted(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER;
  const acked = voters.map(matchOf).sort((a, b) => b - a);
  // With n voters, the (floor(n/2)+1)-th largest value is held by a majority.
  return acked[Math.floor(voters.length / 2)] ?? 0;
}

export function majorityVote(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.length / 2) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}

export function jointCommitted(cs: ConfState, matchOf: (id: NodeId) => number): number {
  return Math.min(majorityCommitted(cs.voters, matchOf), majorityCommitted(cs.votersOutgoing, matchOf));
}

export function jointVote(cs: ConfState, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const a = majorityVote(cs.voters, votes);
  const b = majorityVote(cs.votersOutgoing, votes);
  if (a === 'won' && b === 'won') return 'won';
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}

/** True when `pred` holds for a majority of each voter set. */
export function jointQuorum(cs: ConfState, pred: (id: NodeId) => boolean): boolean {
  const votes = new Map<NodeId, boolean>();
  for (const id of [...cs.voters, ...cs.votersOutgoing]) votes.set(id, pred(id));
  return jointVote(cs, votes) === 'won';
}

/** Every voter of either set, once. */
export function allVoters(cs: ConfState): NodeId[] {
  return [...new Set([...cs.voters, ...cs.votersOutgoing])];
}

export function isVoter(cs: ConfState, id: NodeId): boolean {
  return cs.voters.includes(id) || cs.votersOutgoing.includes(id);
}
