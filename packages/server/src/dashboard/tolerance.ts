// How many members a Raft group can lose and still commit (Raft §5.2: a majority of the voters
// elects and commits): the reachable voters beyond a majority. Negative means the group has
// already lost its quorum by that many.
export interface Tolerance {
  voters: number;
  reachable: number;
  quorum: number;
  /** reachable − quorum: ≥ 0 the members the group may still lose, < 0 no quorum. */
  canLose: number;
}

export function toleranceOf(voters: readonly string[], reachable: (id: string) => boolean): Tolerance {
  const quorum = Math.floor(voters.length / 2) + 1;
  const up = voters.filter(reachable).length;
  return { voters: voters.length, reachable: up, quorum, canLose: up - quorum };
}

/** "az2 can lose 1 node", "the global tier has no quorum (needs 1 more AZ)". */
export function toleranceText(who: string, t: Tolerance, unit: 'node' | 'AZ'): string {
  if (t.voters === 0) return `${who}: no voters known`;
  if (t.canLose < 0) return `${who} has no quorum (needs ${-t.canLose} more ${unit}${-t.canLose === 1 ? '' : 's'})`;
  return `${who} can lose ${t.canLose} ${unit}${t.canLose === 1 ? '' : 's'}`;
}
