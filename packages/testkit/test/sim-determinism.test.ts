import { expect } from 'chai';
import { deriveOptions } from '../src/sim/options.ts';
import { runSimulation } from '../src/sim/simulator.ts';

describe('Simulator replay: one seed determines the whole run', () => {
  it('the same seed yields an identical trace hash, history and outcome', async () => {
    const lines: string[] = [];
    const a = await runSimulation(11, { onTrace: (l) => lines.push(l) });
    const b = await runSimulation(11);
    expect(a.traceHash).to.equal(b.traceHash);
    expect(a.steps).to.equal(b.steps);
    expect(a.stats).to.deep.equal(b.stats);
    expect(a.violation).to.equal(null);
    expect(lines[0]).to.match(/^0 seed=11 /);
  });

  it('different seeds yield different runs', async () => {
    expect((await runSimulation(12)).traceHash).to.not.equal((await runSimulation(13)).traceHash);
  });

  it('every option derives from the seed alone', () => {
    expect(deriveOptions(77)).to.deep.equal(deriveOptions(77));
    const sizes = new Set(Array.from({ length: 40 }, (_, s) => deriveOptions(s).clusterSize));
    expect([...sizes].sort()).to.deep.equal([3, 5]);
  });

  it('runs exercise faults: crashes, leader changes, dropped messages and client timeouts', async () => {
    let crashes = 0;
    let leaders = 0;
    let dropped = 0;
    let completed = 0;
    for (let s = 100; s < 110; s++) {
      const r = await runSimulation(s);
      crashes += r.stats.crashes;
      leaders += r.stats.leaders;
      dropped += r.stats.dropped;
      completed += r.stats.completed;
    }
    expect(crashes).to.be.greaterThan(0);
    expect(leaders).to.be.greaterThan(10);
    expect(dropped).to.be.greaterThan(0);
    expect(completed).to.be.greaterThan(100);
  });
});
