import { expect } from 'chai';
import { runSeed } from '../src/cluster/seeded-run.ts';
import { Scheduler, RunBudgetExceeded } from '../src/cluster/virtual-time.ts';
import { runSimulation } from '../src/sim/simulator.ts';

// Every simulator run has a budget of events and virtual time: a seed that would run on forever
// stops and is reported `hung`, naming the command that replays it.
describe('Simulator run budget: a run over its events or virtual time is reported hung', () => {
  it('the Raft simulator reports hung with the seed and its replay command', async () => {
    const r = await runSimulation(7, { maxSteps: 500 });
    expect(r.violation?.kind).to.equal('hung');
    expect(r.violation?.detail).to.contain('pnpm sim -- --seed 7');
    expect(r.steps).to.equal(501);
    const t = await runSimulation(7, { maxVirtualMs: 300 });
    expect(t.violation?.kind).to.equal('hung');
    expect(t.virtualMs).to.be.within(300, 330);
  });

  it('the Raft simulator checks linearizability on every run, a hung one too', async () => {
    const r = await runSimulation(7, { maxSteps: 20_000 });
    expect(r.violation?.kind).to.equal('hung');
    expect(r.linearizability).to.equal('ok');
  });

  it('the cluster scheduler stops at its event budget and stays stopped', async () => {
    const s = new Scheduler(1, { budget: { eventsMax: 3, virtualUsMax: 1_000_000 } });
    let ran = 0;
    const again = (): void => {
      ran++;
      s.after(10, 'again', again);
    };
    s.after(0, 'first', again);
    let caught: unknown = null;
    await s.runUntil(1_000_000).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(RunBudgetExceeded);
    expect(ran).to.equal(3);
    caught = null;
    await s.step().catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(RunBudgetExceeded);
  });

  it('the cluster scheduler stops at its virtual-time budget', async () => {
    const s = new Scheduler(1, { budget: { eventsMax: 1_000, virtualUsMax: 50 } });
    s.after(40, 'in budget', () => {});
    s.after(60, 'over budget', () => {});
    const caught = await s.runUntil(100).then(() => null, (e: unknown) => e);
    expect(caught).to.be.instanceOf(RunBudgetExceeded);
    expect(s.nowUs).to.equal(40);
  });

  it('a cluster run over its budget is reported hung with its replay command', async function () {
    this.timeout(30_000);
    const r = await runSeed({ seed: 3, budget: { eventsMax: 2_000, virtualUsMax: 150_000_000 } });
    const hung = r.violations.filter((v) => v.kind === 'hung');
    expect(hung).to.have.length(1);
    expect(hung[0]!.message).to.contain('pnpm sim -- --cluster --seed 3');
    expect(r.eventsRun).to.equal(2_000);
  });
});
