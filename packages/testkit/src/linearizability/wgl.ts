// Linearizability checking after Wing & Gong (1993) with Lowe's memoization ("Testing for
// linearizability", 2017) as in Porcupine: a depth-first search over the history as a linked
// list of call/return events, linearizing an operation whose call is still "open" when its
// effect is legal; a (linearized set, state) pair already explored is never explored twice.
import type { HistoryOp, LinearizabilityResult, Model } from './history.ts';

interface Event<I, O> {
  kind: 'call' | 'return';
  op: HistoryOp<I, O>;
  /** Index of the op inside the partition (bit position). */
  slot: number;
  match: Event<I, O> | null;
  prev: Event<I, O> | null;
  next: Event<I, O> | null;
}

export interface CheckOptions {
  /** Search steps per partition before giving up with "unknown" instead of hanging. */
  maxStepsPerPartition: number;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = { maxStepsPerPartition: 2_000_000 };

/** Check a whole history: split it with `model.partition` (if given) and check each part. */
export function checkLinearizability<S, I, O>(
  history: readonly HistoryOp<I, O>[],
  model: Model<S, I, O>,
  options: CheckOptions = DEFAULT_CHECK_OPTIONS,
): LinearizabilityResult {
  for (const op of history) {
    if ((op.returnTime === null) !== (op.output === undefined)) {
      throw new TypeError(`op ${op.id}: output must be undefined exactly when returnTime is null`);
    }
    if (op.returnTime !== null && op.returnTime < op.callTime) {
      throw new TypeError(`op ${op.id}: returns before it is called`);
    }
  }
  const parts = model.partition ? model.partition(history) : new Map([['all', [...history]]]);
  let steps = 0;
  for (const key of [...parts.keys()].sort()) {
    const ops = parts.get(key) ?? [];
    const r = checkPartition(key, ops, model, options);
    steps += r.steps;
    if (r.result !== 'ok') return r;
  }
  return { result: 'ok', partitions: parts.size, steps };
}

/** Build the event list: sorted by time; at equal times calls first (the more permissive order). */
function buildEvents<I, O>(ops: readonly HistoryOp<I, O>[]): Event<I, O> {
  const events: Event<I, O>[] = [];
  ops.forEach((op, slot) => {
    const call: Event<I, O> = { kind: 'call', op, slot, match: null, prev: null, next: null };
    const ret: Event<I, O> = { kind: 'return', op, slot, match: call, prev: null, next: null };
    call.match = ret;
    events.push(call, ret);
  });
  const time = (e: Event<I, O>): number =>
    e.kind === 'call' ? e.op.callTime : (e.op.returnTime ?? Number.POSITIVE_INFINITY);
  events.sort((a, b) => {
    const dt = time(a) - time(b);
    if (dt !== 0 && !Number.isNaN(dt)) return dt;
    if (a.kind !== b.kind) return a.kind === 'call' ? -1 : 1;
    return a.op.id - b.op.id;
  });
  const head: Event<I, O> = { kind: 'call', op: ops[0]!, slot: -1, match: null, prev: null, next: null };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

/** Remove a call and its return from the list (they are linearized). */
function lift<I, O>(call: Event<I, O>): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Undo `lift`, in reverse order. */
function unlift<I, O>(call: Event<I, O>): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

class Bits {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    return Array.from(this.words, (w) => w.toString(36)).join('.');
  }
}

function checkPartition<S, I, O>(
  name: string,
  ops: readonly HistoryOp<I, O>[],
  model: Model<S, I, O>,
  options: CheckOptions,
): LinearizabilityResult {
  if (ops.length === 0) return { result: 'ok', partitions: 1, steps: 0 };
  const head = buildEvents(ops);
  const linearized = new Bits(ops.length);
  const seen = new Set<string>();
  const stack: { call: Event<I, O>; state: S }[] = [];
  let longest: number[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  while (head.next !== null) {
    if (++steps > options.maxStepsPerPartition) {
      return { result: 'unknown', partition: name, steps, reason: `step bound ${options.maxStepsPerPartition} reached` };
    }
    if (entry === null) throw new Error('linearizability search ran off the event list');
    if (entry.kind === 'call') {
      const r = model.step(state, entry.op.input, entry.match!.op.output);
      if (r.ok) {
        linearized.set(entry.slot);
        const key = `${linearized.key()}|${model.key(r.state)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ call: entry, state });
          state = r.state;
          lift(entry);
          if (stack.length > longest.length) longest = stack.map((s) => s.call.op.id);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.slot);
      }
      entry = entry.next;
      continue;
    }
    // A return event whose call is not linearized: backtrack.
    const top = stack.pop();
    if (top === undefined) {
      const describe = model.describe ?? ((op: HistoryOp<I, O>) => JSON.stringify(op));
      const sorted = [...ops].sort((a, b) => a.callTime - b.callTime || a.id - b.id);
      return {
        result: 'violation',
        partition: name,
        longestLinearized: longest,
        ops: sorted.map((op) => describe(op)),
        steps,
      };
    }
    unlift(top.call);
    linearized.clear(top.call.slot);
    state = top.state;
    entry = top.call.next;
  }
  return { result: 'ok', partitions: 1, steps };
}
