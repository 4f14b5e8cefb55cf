// Sequential specification of the simulator's replicated key-value map: a register per key
// with put, get and compare-and-swap. Keys are independent objects, so a history is checked
// per key (P-compositionality, Herlihy & Wing 1990 §3.3).
import type { HistoryOp, Model } from './history.ts';

export type KvInput =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'get'; key: string }
  | { kind: 'cas'; key: string; expected: string | null; value: string };

export type KvOutput =
  | { kind: 'put' }
  | { kind: 'get'; value: string | null }
  | { kind: 'cas'; swapped: boolean };

export type KvHistoryOp = HistoryOp<KvInput, KvOutput>;

/** The register's value; `null` = absent. */
export type KvRegister = string | null;

/** Apply an input sequentially; shared by the model and the simulated state machine. */
export function applyKvInput(current: KvRegister, input: KvInput): { next: KvRegister; output: KvOutput } {
  switch (input.kind) {
    case 'put':
      return { next: input.value, output: { kind: 'put' } };
    case 'get':
      return { next: current, output: { kind: 'get', value: current } };
    case 'cas':
      return current === input.expected
        ? { next: input.value, output: { kind: 'cas', swapped: true } }
        : { next: current, output: { kind: 'cas', swapped: false } };
  }
}

function sameOutput(a: KvOutput, b: KvOutput): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'get' && b.kind === 'get') return a.value === b.value;
  if (a.kind === 'cas' && b.kind === 'cas') return a.swapped === b.swapped;
  return true;
}

export function describeKvOp(op: KvHistoryOp): string {
  const i = op.input;
  const call =
    i.kind === 'put'
      ? `put(${i.key}, ${i.value})`
      : i.kind === 'get'
        ? `get(${i.key})`
        : `cas(${i.key}, ${String(i.expected)} → ${i.value})`;
  const out = op.output;
  const res =
    out === undefined
      ? '?'
      : out.kind === 'get'
        ? String(out.value)
        : out.kind === 'cas'
          ? String(out.swapped)
          : 'ok';
  const end = op.returnTime === null ? '∞' : String(op.returnTime);
  return `#${op.id} c${op.clientId} [${op.callTime}, ${end}] ${call} → ${res}`;
}

export const kvModel: Model<KvRegister, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    const r = applyKvInput(state, input);
    return { ok: output === undefined || sameOutput(r.output, output), state: r.next };
  },
  key: (state) => (state === null ? '\u0000' : state),
  partition(ops) {
    const parts = new Map<string, KvHistoryOp[]>();
    for (const op of ops) {
      const list = parts.get(op.input.key);
      if (list) list.push(op);
      else parts.set(op.input.key, [op]);
    }
    return parts;
  },
  describe: describeKvOp,
};
