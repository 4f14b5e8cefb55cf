import { expect } from 'chai';
import type { Entry } from '@adrestia/consensus';
import { SafetyChecker, SafetyViolation, type LogView } from '../src/sim/checkers.ts';
import { SimDisk } from '../src/sim/disk.ts';
import { DiskStorage } from '../src/sim/disk-storage.ts';
import { EventQueue } from '../src/sim/event-queue.ts';
import { RuleChecker, configurationsOverlap } from '../src/sim/rule-checkers.ts';
import { runSimulation } from '../src/sim/simulator.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (index: number, term: number, data = `e${index}t${term}`): Entry => ({ index, term, type: 'normal', data: bytes(data) });

/** A log from a list of terms (index 1 first), no snapshot. */
function logOf(terms: number[], snapshotIndex = 0): LogView & { last: number } {
  return {
    snapshotIndex,
    last: snapshotIndex + terms.length,
    termAt: (i) => (i === snapshotIndex ? 0 : terms[i - snapshotIndex - 1]),
  };
}

function violationOf(fn: () => void): SafetyViolation {
  try {
    fn();
  } catch (e) {
    if (e instanceof SafetyViolation) return e;
    throw e;
  }
  throw new Error('expected a SafetyViolation');
}

describe('Simulator checkers catch hand-made violations (Raft Figure 3 properties)', () => {
  it('Election Safety §5.2: a second leader in the same term', () => {
    const c = new SafetyChecker();
    const log = logOf([1]);
    c.observeLeader('n1', 2, log, log.last);
    c.observeLeader('n1', 2, log, log.last); // the same leader seen again is fine
    c.observeLeader('n2', 3, log, log.last);
    expect(violationOf(() => c.observeLeader('n3', 2, log, log.last)).kind).to.equal('election-safety');
  });

  it('Log Matching §5.3: one (index, term) written with two contents', () => {
    const c = new SafetyChecker();
    c.observeDurable('n1', [entry(1, 1), entry(2, 1, 'a')], logOf([1, 1]));
    c.observeDurable('n2', [entry(1, 1), entry(2, 1, 'a')], logOf([1, 1]));
    const v = violationOf(() => c.observeDurable('n3', [entry(2, 1, 'b')], logOf([1, 1])));
    expect(v.kind).to.equal('log-matching');
  });

  it('Log Matching §5.3: one (index, term) written after different predecessors', () => {
    const c = new SafetyChecker();
    c.observeDurable('n1', [entry(1, 1), entry(2, 3, 'x')], logOf([1, 3]));
    c.observeDurable('n2', [entry(1, 2)], logOf([2]));
    expect(violationOf(() => c.observeDurable('n2', [entry(2, 3, 'x')], logOf([2, 3]))).kind).to.equal('log-matching');
  });

  it('Leader Completeness §5.4: a later leader elected without a committed entry', () => {
    const c = new SafetyChecker();
    c.observeCommit(2, 3, logOf([1, 2, 2]));
    const stale = logOf([1, 2]);
    const v = violationOf(() => c.observeLeader('n4', 3, stale, stale.last));
    expect(v.kind).to.equal('leader-completeness');
    expect(v.detail).to.contain('lacks committed entry 3');
  });

  it('Leader Completeness §5.4: the commit is observed after the later leader was elected', () => {
    const c = new SafetyChecker();
    const stale = logOf([1, 1]);
    c.observeLeader('n2', 5, stale, stale.last);
    expect(violationOf(() => c.observeCommit(4, 3, logOf([1, 1, 4]))).kind).to.equal('leader-completeness');
  });

  it('Leader Completeness §5.4 is not claimed for leaders of earlier terms (Figure 8)', () => {
    const c = new SafetyChecker();
    const s5 = logOf([1, 3]);
    c.observeLeader('s5', 3, s5, s5.last); // lacks the term-2 entry at index 2: legitimate
    c.observeCommit(4, 3, logOf([1, 2, 4]));
    const s1 = logOf([1, 2, 4]);
    c.observeLeader('s1', 5, s1, s1.last);
  });

  it('State Machine Safety §5.4.3: two nodes apply different entries at one index', () => {
    const c = new SafetyChecker();
    c.observeApply('n1', entry(1, 1, 'put'));
    c.observeApply('n2', entry(1, 1, 'put'));
    expect(violationOf(() => c.observeApply('n3', entry(1, 2, 'other'))).kind).to.equal('state-machine-safety');
  });

  it('liveness: a bound too short for any commit after healing is reported as a violation', async () => {
    const r = await runSimulation(3, { override: { livenessBoundMs: 1 } });
    expect(r.violation?.kind).to.equal('liveness');
    expect(r.violation?.detail).to.contain('within 1 ms');
  });
});

describe('SimDisk: durability as the driver relies on it', () => {
  it('a crash loses the batch whose fsync has not completed', () => {
    const d = new SimDisk();
    d.write({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [entry(1, 1)] });
    d.sync();
    d.write({ hardState: { term: 2, vote: 'n2', commit: 1 }, entries: [entry(2, 2)] });
    d.crash(false);
    expect(d.load().hardState).to.deep.equal({ term: 1, vote: 'n1', commit: 0 });
    expect(d.lastIndex).to.equal(1);
  });

  it("the driver's Storage over SimDisk: a save resolves at its fsync event; a cut right after an fsync keeps the write and never resolves", async () => {
    const q = new EventQueue();
    const d = new SimDisk();
    let cut = false;
    const storage = new DiskStorage('n1', d, q, () => 5, { writing: () => {}, synced: () => !cut });
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    let done = 0;
    void storage.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [entry(1, 1)] }, { sync: true }).then(() => done++);
    await turn();
    expect([done, d.hardState.term]).to.deep.equal([0, 0]);
    q.pop()!.run();
    await turn();
    expect([done, d.hardState.term, q.now]).to.deep.equal([1, 1, 5]);
    cut = true;
    void storage.save({ entries: [entry(2, 1)] }, { sync: true }).then(() => done++);
    q.pop()!.run();
    await turn();
    expect([done, d.lastIndex], 'durable, but the driver never hears of it').to.deep.equal([1, 2]);
  });

  it('an entry at an existing index truncates the suffix (§5.3); a leader snapshot replaces the log (§7)', () => {
    const d = new SimDisk();
    d.write({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)] });
    d.sync();
    d.write({ entries: [entry(2, 2)] });
    d.sync();
    expect(d.load().entries.map((e) => `${e.index}/${e.term}`)).to.deep.equal(['1/1', '2/2']);
    d.write({ snapshot: { metadata: { index: 5, term: 3, confState: { voters: ['n1'], learners: [], votersOutgoing: [] } }, data: bytes('s') } });
    d.sync();
    expect(d.load().entries).to.deep.equal([]);
    expect(d.lastIndex).to.equal(5);
    expect(d.termAt(5)).to.equal(3);
  });
});

describe('Simulator checkers: snapshots carry the same state on every node (§5.4.3, §7)', () => {
  it('two different states snapshotted at one index are a state-machine-safety violation', () => {
    const c = new SafetyChecker();
    c.observeSnapshot('n1', 10, bytes('state-a'));
    c.observeSnapshot('n2', 10, bytes('state-a'));
    c.observeSnapshot('n2', 11, bytes('state-b'));
    expect(violationOf(() => c.observeSnapshot('n3', 10, bytes('state-b'))).kind).to.equal('state-machine-safety');
  });
});

describe('Simulator checkers: configurations in force at once overlap in a majority (thesis §4)', () => {
  const conf = (voters: string[], votersOutgoing: string[] = []): { voters: string[]; learners: string[]; votersOutgoing: string[] } => ({ voters, learners: [], votersOutgoing });

  it('one server added or removed keeps every majority overlapping; two at once do not', () => {
    expect(configurationsOverlap(conf(['n1', 'n2', 'n3']), conf(['n1', 'n2', 'n3', 'n4']))).to.equal(true);
    expect(configurationsOverlap(conf(['n1', 'n2', 'n3', 'n4']), conf(['n2', 'n3', 'n4']))).to.equal(true);
    // {n1,n2} and {n4,n5} are majorities of their configurations and share no member.
    expect(configurationsOverlap(conf(['n1', 'n2', 'n3']), conf(['n3', 'n4', 'n5']))).to.equal(false);
    expect(configurationsOverlap(conf(['n1', 'n2', 'n3']), conf(['n1', 'n2', 'n3', 'n4', 'n5']))).to.equal(false);
  });

  it('a joint configuration overlaps both of its halves', () => {
    const joint = conf(['n3', 'n4', 'n5'], ['n1', 'n2', 'n3']);
    expect(configurationsOverlap(joint, conf(['n1', 'n2', 'n3']))).to.equal(true);
    expect(configurationsOverlap(joint, conf(['n3', 'n4', 'n5']))).to.equal(true);
  });

  it('two leaders acting with disjoint majorities are a config-overlap violation', () => {
    const rules = new RuleChecker();
    const leader = (id: string, term: number, voters: string[]) => ({ id, term, applied: 0, confState: conf(voters) });
    rules.leadersConfigured([leader('n1', 2, ['n1', 'n2', 'n3']), leader('n4', 3, ['n1', 'n2', 'n3', 'n4'])]);
    const v = violationOf(() => rules.leadersConfigured([leader('n1', 2, ['n1', 'n2', 'n3']), leader('n4', 3, ['n3', 'n4', 'n5'])]));
    expect(v.kind).to.equal('config-overlap');
    expect(v.detail).to.contain('disjoint majorities');
  });
});
