import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { applyMutation, MUTATIONS, type Mutation } from '../src/mutants/mutations.ts';
import { runMutant } from '../src/mutants/run-mutants.ts';
import { readFileSync } from 'node:fs';

// A small subset of `pnpm sim:mutants` in CI: planted bugs that the rule checkers (not only their
// rare consequences) catch within a few Raft seeds.
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const mutation = (name: string): Mutation => MUTATIONS.find((m) => m.name === name)!;

describe('Mutation suite: the Raft simulator catches planted bugs by the rule they break', function () {
  this.timeout(120_000);

  it('every mutation patches its file at exactly one place', () => {
    for (const m of MUTATIONS) {
      const text = readFileSync(`${ROOT}/packages/${m.file}`, 'utf8');
      expect(applyMutation(m, text), m.name).to.not.equal(text);
    }
    expect(() => applyMutation({ ...MUTATIONS[0]!, search: 'no such text anywhere' }, 'x')).to.throw(/exactly once/);
  });

  const cases: [string, string][] = [
    ['figure8-commit-old-term', 'commit-term'],
    ['read-without-quorum', 'read-quorum'],
    ['vote-not-persisted', 'sent-before-sync'],
  ];
  for (const [name, checker] of cases) {
    it(`${name} is caught by ${checker}`, async () => {
      const r = await runMutant(ROOT, mutation(name), { start: 500_000, raftSeeds: 40, clusterSeeds: 0 });
      expect(r.checker).to.equal(checker);
      expect(r.seed).to.be.a('number');
    });
  }
});
