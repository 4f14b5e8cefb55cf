import { expect } from 'chai';
import fc from 'fast-check';
import {
  applyKvInput,
  checkLinearizability,
  kvModel,
  type KvHistoryOp,
  type KvInput,
  type KvOutput,
  type KvRegister,
} from '../src/linearizability/index.ts';

let nextId = 0;
function op(clientId: number, input: KvInput, call: number, ret: number | null, output?: KvOutput): KvHistoryOp {
  return { id: nextId++, clientId, input, callTime: call, returnTime: ret, output };
}
const put = (key: string, value: string): KvInput => ({ kind: 'put', key, value });
const get = (key: string): KvInput => ({ kind: 'get', key });
const cas = (key: string, expected: string | null, value: string): KvInput => ({ kind: 'cas', key, expected, value });
const ok: KvOutput = { kind: 'put' };
const got = (value: string | null): KvOutput => ({ kind: 'get', value });
const swapped = (s: boolean): KvOutput => ({ kind: 'cas', swapped: s });

describe('Linearizability (Herlihy & Wing 1990) checker, Wing–Gong/Lowe search', () => {
  it('accepts a sequential history that follows the register specification', () => {
    const h = [op(1, put('x', 'a'), 0, 1, ok), op(1, get('x'), 2, 3, got('a')), op(2, cas('x', 'a', 'b'), 4, 5, swapped(true))];
    expect(checkLinearizability(h, kvModel).result).to.equal('ok');
  });

  it('rejects a stale read after a completed write (real-time order is binding)', () => {
    const h = [op(1, put('x', 'a'), 0, 1, ok), op(2, get('x'), 2, 3, got(null))];
    const r = checkLinearizability(h, kvModel);
    expect(r.result).to.equal('violation');
    if (r.result === 'violation') expect(r.partition).to.equal('x');
  });

  it('accepts either value for a read concurrent with a write', () => {
    for (const seen of [null, 'a']) {
      const h = [op(1, put('x', 'a'), 0, 10, ok), op(2, get('x'), 2, 3, got(seen))];
      expect(checkLinearizability(h, kvModel).result).to.equal('ok');
    }
  });

  it('rejects two reads that observe concurrent writes in opposite orders', () => {
    const h = [
      op(1, put('x', 'a'), 0, 10, ok),
      op(2, put('x', 'b'), 0, 10, ok),
      op(3, get('x'), 11, 12, got('a')),
      op(3, get('x'), 13, 14, got('b')),
      op(4, get('x'), 15, 16, got('a')),
    ];
    expect(checkLinearizability(h, kvModel).result).to.equal('violation');
  });

  it('rejects two compare-and-swaps that both succeed from the same expected value', () => {
    const h = [
      op(1, put('x', 'a'), 0, 1, ok),
      op(2, cas('x', 'a', 'b'), 2, 6, swapped(true)),
      op(3, cas('x', 'a', 'c'), 3, 7, swapped(true)),
    ];
    expect(checkLinearizability(h, kvModel).result).to.equal('violation');
  });

  it('lets a pending write take effect late: observed after its invocation', () => {
    const h = [op(1, put('x', 'a'), 0, null), op(2, get('x'), 50, 51, got('a'))];
    expect(checkLinearizability(h, kvModel).result).to.equal('ok');
  });

  it('lets a pending write never take effect', () => {
    const h = [op(1, put('x', 'a'), 0, null), op(2, get('x'), 50, 51, got(null)), op(2, get('x'), 52, 53, got(null))];
    expect(checkLinearizability(h, kvModel).result).to.equal('ok');
  });

  it('rejects a pending write observed before its invocation', () => {
    const h = [op(2, get('x'), 0, 1, got('a')), op(1, put('x', 'a'), 5, null)];
    expect(checkLinearizability(h, kvModel).result).to.equal('violation');
  });

  it('rejects a pending write that is observed and then disappears', () => {
    const h = [
      op(1, put('x', 'a'), 0, null),
      op(2, get('x'), 10, 11, got('a')),
      op(2, get('x'), 12, 13, got(null)),
    ];
    expect(checkLinearizability(h, kvModel).result).to.equal('violation');
  });

  it('checks keys independently (P-compositionality) and names the failing key', () => {
    const h = [
      op(1, put('a', '1'), 0, 1, ok),
      op(1, get('a'), 2, 3, got('1')),
      op(2, put('b', '1'), 0, 1, ok),
      op(2, get('b'), 2, 3, got('2')),
    ];
    const r = checkLinearizability(h, kvModel);
    expect(r.result).to.equal('violation');
    if (r.result === 'violation') {
      expect(r.partition).to.equal('b');
      expect(r.ops.join('\n')).to.contain('get(b) → 2');
    }
  });

  it('reports "unknown" rather than searching past its step bound', () => {
    const h: KvHistoryOp[] = [];
    for (let c = 0; c < 12; c++) h.push(op(c, put('x', `v${c}`), 0, 100, ok));
    h.push(op(99, get('x'), 101, 102, got('nowhere')));
    const r = checkLinearizability(h, kvModel, { maxStepsPerPartition: 500 });
    expect(r.result).to.equal('unknown');
  });

  it('refuses malformed histories (output present on a pending op) with a TypeError', () => {
    const bad: KvHistoryOp = { id: 1, clientId: 1, input: get('x'), callTime: 0, returnTime: null, output: got(null) };
    expect(() => checkLinearizability([bad], kvModel)).to.throw(TypeError);
  });

  it('accepts every history generated from a sequential execution with overlapping intervals', () => {
    const inputArb = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), key: fc.constantFrom('k1', 'k2'), value: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ kind: fc.constant('get' as const), key: fc.constantFrom('k1', 'k2') }),
      fc.record({
        kind: fc.constant('cas' as const),
        key: fc.constantFrom('k1', 'k2'),
        expected: fc.constantFrom(null, 'a', 'b'),
        value: fc.constantFrom('a', 'b', 'c'),
      }),
    );
    const stepArb = fc.record({ input: inputArb, before: fc.nat(30), after: fc.nat(30), pending: fc.boolean() });
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 25 }), (steps) => {
        // Linearization point of step i is time 10*i; its interval surrounds it.
        const regs = new Map<string, KvRegister>();
        const h: KvHistoryOp[] = steps.map((s, i) => {
          const r = applyKvInput(regs.get(s.input.key) ?? null, s.input);
          regs.set(s.input.key, r.next);
          const point = 10 * i + 5;
          const pending = s.pending && i % 3 === 0;
          return {
            id: i,
            clientId: i,
            input: s.input,
            callTime: Math.max(0, point - s.before),
            returnTime: pending ? null : point + s.after,
            output: pending ? undefined : r.output,
          };
        });
        expect(checkLinearizability(h, kvModel).result).to.equal('ok');
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});
