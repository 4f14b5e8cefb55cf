import { expect } from 'chai';
import { runSimulation } from '../src/sim/simulator.ts';

// The VOPR in CI: a fixed window of seeds, each a whole faulty run of the production NodeDriver
// with safety checks after every step, a liveness phase and a linearizability check. A failing
// seed replays with `pnpm sim -- --seed S --trace`. The nightly run takes far more (README.md
// "Simulators: CI and nightly runs").
const SEEDS_TOTAL = 120;
const SEEDS_PER_TEST = 40;

describe('Raft simulator: seeded fault runs keep every safety, liveness and linearizability property', () => {
  for (let start = 0; start < SEEDS_TOTAL; start += SEEDS_PER_TEST) {
    it(`seeds ${start}..${start + SEEDS_PER_TEST - 1}`, async function () {
      this.timeout(300_000);
      const failures: string[] = [];
      for (let s = start; s < start + SEEDS_PER_TEST; s++) {
        const r = await runSimulation(s);
        const v = r.violation;
        if (v !== null) failures.push(`seed=${s} ${v.kind} at step ${v.step}, ${v.timeMs} ms: ${v.detail}`);
        else expect(r.linearizability).to.equal('ok');
      }
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });
  }
});
