import { plainMessagePack } from './codec.ts';
import { RaftError } from './errors.ts';
import type { ConfChange, ConfState } from './types.ts';

// Membership changes, one voter at a time (thesis §4.1), taking effect when the entry is applied
// (as etcd does). A single change entry may add or remove any number of learners but change the
// voter set by at most one member: any two majorities of consecutive configurations then
// overlap, so no joint phase is needed. The leader accepts a new change only once the previous
// one is applied (and, after an election, once its whole log is applied), which is what makes
// apply-time activation safe. Proposals are checked strictly ('propose'); committed entries are
// applied leniently ('apply') so that every member reaches the same configuration. The group's
// first entry is the founding configuration (bootstrapConfChange), applied to the empty one.

const OPS = new Set(['addVoter', 'addLearner', 'removeNode']);

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return plainMessagePack.pack({ changes: cc.changes.map((c) => ({ op: c.op, nodeId: c.nodeId })) });
}

/** Decodes and checks the shape; throws ERR_CONF_CHANGE_INVALID on anything else. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let raw: unknown;
  try {
    raw = plainMessagePack.unpack(data);
  } catch (e) {
    throw new RaftError('ERR_CONF_CHANGE_INVALID', `undecodable conf change: ${(e as Error).message}`);
  }
  checkShape(raw);
  return raw;
}

function checkShape(raw: unknown): asserts raw is ConfChange {
  const changes = (raw as { changes?: unknown } | null)?.changes;
  if (!Array.isArray(changes) || changes.length === 0) {
    throw new RaftError('ERR_CONF_CHANGE_INVALID', 'changes must be a non-empty array');
  }
  for (const c of changes as unknown[]) {
    const { op, nodeId } = (c ?? {}) as { op?: unknown; nodeId?: unknown };
    if (typeof op !== 'string' || !OPS.has(op)) {
      throw new RaftError('ERR_CONF_CHANGE_INVALID', `unknown op ${String(op)}`);
    }
    if (typeof nodeId !== 'string' || nodeId.length === 0) {
      throw new RaftError('ERR_CONF_CHANGE_INVALID', 'nodeId must be a non-empty string');
    }
  }
}

/**
 * The configuration after `cc`. `mode: 'propose'` enforces the one-voter-at-a-time rule and
 * throws ERR_CONF_CHANGE_INVALID; `mode: 'apply'` is for committed entries: it never throws on
 * content, sets each named member's role in order, and ignores (returns `cs` unchanged) a change
 * that would leave no voter. Pure, so every member applying the same entry to the same
 * configuration reaches the same result.
 */
export function applyConfChange(cs: ConfState, cc: ConfChange, mode: 'propose' | 'apply'): ConfState {
  checkShape(cc);
  if (mode === 'propose' && cs.votersOutgoing.length > 0) {
    throw new RaftError('ERR_CONF_CHANGE_INVALID', 'joint configurations are not supported');
  }
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  const seen = new Set<string>();
  for (const { op, nodeId } of cc.changes) {
    if (mode === 'propose' && seen.has(nodeId)) {
      throw new RaftError('ERR_CONF_CHANGE_INVALID', `${nodeId} changed twice`);
    }
    seen.add(nodeId);
    voters.delete(nodeId);
    learners.delete(nodeId);
    if (op === 'addVoter') voters.add(nodeId);
    else if (op === 'addLearner') learners.add(nodeId);
  }
  if (mode === 'propose') {
    const changed = symmetricDifference(new Set(cs.voters), voters);
    if (changed > 1) {
      throw new RaftError('ERR_CONF_CHANGE_INVALID', `changes ${changed} voters at once; one at a time`);
    }
    if (voters.size === 0) throw new RaftError('ERR_CONF_CHANGE_INVALID', 'would remove the last voter');
  } else if (voters.size === 0) {
    return cs;
  }
  return { voters: [...voters].sort(), learners: [...learners].sort(), votersOutgoing: [] };
}

/** A change that, applied to the empty configuration, yields `cs` (the group's first entry). */
export function bootstrapConfChange(cs: ConfState): ConfChange {
  return {
    changes: [
      ...[...cs.voters].sort().map((nodeId) => ({ op: 'addVoter' as const, nodeId })),
      ...[...cs.learners].sort().map((nodeId) => ({ op: 'addLearner' as const, nodeId })),
    ],
  };
}

function symmetricDifference(a: Set<string>, b: Set<string>): number {
  let n = 0;
  for (const x of a) if (!b.has(x)) n++;
  for (const x of b) if (!a.has(x)) n++;
  return n;
}
