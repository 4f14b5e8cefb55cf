// One seeded simulation run: a cluster of SimNodes on a faulty SimNetwork, clients, a chaos
// schedule (crashes, restarts, partitions, leadership transfers), Raft safety checks after every
// step, then a liveness phase and a linearizability check of the client history.
import { createHash } from 'node:crypto';
import { SeededRandom, validateRaftConfig, type ConfChange, type ConfState, type Message, type RaftStatus } from '@adrestia/consensus';
import { kvModel, type KvOutput } from '../linearizability/kv-model.ts';
import { checkLinearizability } from '../linearizability/wgl.ts';
import { SafetyChecker, SafetyViolation, type ViolationKind } from './checkers.ts';
import { RuleChecker, type LeaderView } from './rule-checkers.ts';
import { EventQueue } from './event-queue.ts';
import { SimNetwork } from './network.ts';
import { SimNode } from './node.ts';
import { deriveOptions, type SimOptions } from './options.ts';
import { Workload } from './workload.ts';

export interface SimViolation {
  kind: ViolationKind;
  detail: string;
  step: number;
  timeMs: number;
}

export interface SimResult {
  seed: number;
  options: SimOptions;
  violation: SimViolation | null;
  /** SHA-256 over the event trace: equal for equal seeds, bit for bit. */
  traceHash: string;
  steps: number;
  virtualMs: number;
  stats: {
    messages: number;
    dropped: number;
    ops: number;
    completed: number;
    timedOut: number;
    leaders: number;
    crashes: number;
    /** Appends that rewrote entries of a write whose fsync was still in flight (node.ts). */
    truncatingAppendsInFlight: number;
  };
  /**
   * Linearizability verdict of the client history, checked on every run (a run that failed
   * otherwise too). "unknown" means the search hit its bound: the run counts as failed.
   */
  linearizability: 'ok' | 'violation' | 'unknown';
}

export interface RunOptions {
  /** Receive every trace line (the CLI's --trace). */
  onTrace?: (line: string) => void;
  /** Event budget of the run: past it the run is reported `hung`. */
  maxSteps?: number;
  /** Virtual-time budget of the run in ms (default: fault phase + liveness bound + 2 s). */
  maxVirtualMs?: number;
  /** Override derived options (tests: force a scenario). */
  override?: Partial<SimOptions>;
}

const MAX_STEPS_DEFAULT = 2_000_000;
/** Virtual time a run may take past its fault phase and liveness bound before it counts as hung. */
const VIRTUAL_SLACK_MS = 2_000;
const LIN_REPORT_OPS = 40;
const LIN_STEPS_PER_KEY_MAX = 2_000_000;
/** The smallest `maxMsgBytes` a seed draws (options.ts): every append then carries one entry. */
const FIGURE8_MAX_MSG_BYTES = 64;

export function runSimulation(seed: number, run: RunOptions = {}): Promise<SimResult> {
  const sim = new Simulation(seed, run);
  return sim.run();
}

/**
 * The driver's work between two events runs in promise continuations (storage saves resolve from
 * fsync events, the Ready loop from queued events): one setImmediate turn runs all of them, and
 * nothing else (no real timers, no real I/O) runs in it, so a run stays a function of its seed.
 */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class Simulation {
  readonly opts: SimOptions;
  readonly queue = new EventQueue();
  readonly checker = new SafetyChecker();
  readonly rules = new RuleChecker();
  readonly nodes: SimNode[] = [];
  readonly net: SimNetwork;
  readonly workload: Workload;
  private readonly hash = createHash('sha256');
  private readonly chaosRandom: SeededRandom;
  private steps = 0;
  private crashes = 0;
  private faultsOn = true;
  private probeDone = false;

  constructor(
    readonly seed: number,
    private readonly runOpts: RunOptions,
  ) {
    this.opts = { ...deriveOptions(seed), ...runOpts.override };
    const master = new SeededRandom(seed ^ 0x5eed);
    this.chaosRandom = master.fork();
    this.net = new SimNetwork(this.queue, master.fork(), this.opts, (m) => this.deliver(m));
    const total = this.opts.clusterSize + this.opts.spareNodes;
    const ids = Array.from({ length: total }, (_, i) => `n${i + 1}`);
    const config = validateRaftConfig({
      electionTimeoutTicks: this.opts.electionTimeoutTicks,
      heartbeatIntervalTicks: this.opts.heartbeatIntervalTicks,
      snapshotChunkBytes: this.opts.snapshotChunkBytes,
      maxMsgBytes: this.opts.maxMsgBytes,
    });
    const host = {
      queue: this.queue,
      checker: this.checker,
      rules: this.rules,
      random: master.fork(),
      send: (m: Message) => {
        this.rules.sending(m, this.node(m.from).disk, (id) => this.nodes.find((n) => n.id === id)?.disk);
        this.net.send(m);
      },
      trace: (l: string) => this.trace(l),
      applied: (rid: number, output: KvOutput) => this.workload.recordApplied(rid, output),
      cutAfterSync: (node: SimNode) => this.afterCut(node, 'after its fsync, before sending'),
    };
    // Every node starts from the founding configuration (as a joiner replaying the log from
    // index 1 must); spares are outside it until a membership change adds them.
    const conf = { voters: ids.slice(0, this.opts.clusterSize), learners: [], votersOutgoing: [] };
    for (const id of ids) this.nodes.push(new SimNode(id, host, this.opts, config, conf, master.fork()));
    const clientRandom = master.fork();
    this.workload = new Workload(this.queue, clientRandom, this.opts, {
      nodeIds: () => ids,
      request: (id, rid, input, reply) => {
        this.queue.schedule(Workload.delayMs, `request ${rid} > ${id}`, () => {
          const node = this.node(id);
          node.handle(rid, input, (r) => this.queue.schedule(Workload.delayMs, `reply ${rid}`, () => reply(r)));
          this.observe(node);
        });
      },
    }, (l) => this.trace(l));
  }

  trace(line: string): void {
    const l = `${this.queue.now} ${line}`;
    this.hash.update(l).update('\n');
    this.runOpts.onTrace?.(l);
  }

  /** Every event enters the trace hash; the verbose trace prints them too. */
  private traceEvent(time: number, label: string): void {
    const l = `${time} ${label}`;
    this.hash.update(l).update('\n');
    this.runOpts.onTrace?.(l);
  }

  node(id: string): SimNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`unknown node ${id}`);
    return n;
  }

  private deliver(m: Message): void {
    const node = this.node(m.to);
    const st = node.status();
    if (st === null) return;
    this.rules.received(m, st.role, st.term);
    node.step(m);
    this.observe(node);
  }

  /** Election Safety bookkeeping after a node acted: register it if it now leads. */
  observe(node: SimNode): void {
    const st = node.status();
    if (st === null || st.role !== 'leader') return void this.leasing.delete(node.id);
    this.checker.observeLeader(node.id, st.term, node.disk, node.disk.lastIndex);
    this.observeLeaseHolder(node, st);
  }

  /** Leaders holding a check-quorum lease, with the configuration each uses. */
  private readonly leasing = new Map<string, LeaderView>();

  /** Thesis §4: the configurations of leaders that can act at the same time overlap in a majority. */
  private observeLeaseHolder(node: SimNode, st: RaftStatus): void {
    if (!node.hasLease()) return void this.leasing.delete(node.id);
    const prior = this.leasing.get(node.id);
    const view = { id: node.id, term: st.term, applied: st.applied, confState: st.confState };
    this.leasing.set(node.id, view);
    if (prior !== undefined && prior.term === st.term && sameConf(prior.confState, st.confState)) return;
    for (const [id, other] of this.leasing) {
      if (id === node.id) continue;
      if (!this.node(id).hasLease()) this.leasing.delete(id);
      else this.rules.leadersConfigured([view, other]);
    }
  }

  private scheduleTick(node: SimNode, index: number): void {
    const period = Math.max(1, Math.round(this.opts.baseTickMs * this.opts.tickSkew[index]!));
    this.queue.schedule(period, `tick ${node.id}`, () => {
      if (node.alive) {
        node.tick();
        this.observe(node);
      }
      this.scheduleTick(node, index);
    });
  }

  async run(): Promise<SimResult> {
    let violation: SimViolation | null = null;
    this.trace(`seed=${this.seed} ${JSON.stringify(this.opts)}`);
    this.nodes.forEach((n, i) => {
      n.start();
      this.scheduleTick(n, i);
    });
    this.workload.start();
    this.scheduleChaos();
    this.queue.schedule(this.opts.faultPhaseMs, 'heal', () => this.startLiveness());
    const maxSteps = this.runOpts.maxSteps ?? MAX_STEPS_DEFAULT;
    const maxVirtualMs = this.runOpts.maxVirtualMs ?? this.opts.faultPhaseMs + this.opts.livenessBoundMs + VIRTUAL_SLACK_MS;
    try {
      await this.settleNodes();
      while (!this.probeDone) {
        const ev = this.queue.pop();
        if (ev === undefined) throw new SafetyViolation('liveness', 'no events left');
        this.steps++;
        this.traceEvent(ev.time, ev.label);
        if (this.steps > maxSteps || ev.time > maxVirtualMs) throw this.hung(maxSteps, maxVirtualMs);
        ev.run();
        await this.settleNodes();
      }
    } catch (e) {
      violation = this.toViolation(e);
    }
    // The history is checked whatever else happened: a failed run's history is evidence too.
    const lin = this.checkHistory();
    if (lin !== 'ok' && violation === null) {
      violation = { kind: lin === 'violation' ? 'linearizability' : 'linearizability-unknown', detail: this.linDetail, step: this.steps, timeMs: this.queue.now };
    }
    return this.result(violation, lin);
  }

  /** Lets the drivers finish what the event started; an invariant a driver broke ends the run. */
  private async settleNodes(): Promise<void> {
    await settle();
    for (const n of this.nodes) {
      if (n.failure === null) continue;
      if (n.failure instanceof SafetyViolation) throw n.failure;
      const err = n.failure as Error;
      throw new SafetyViolation('invariant', `${n.id}'s driver stopped itself: ${err.name}: ${err.message}`);
    }
  }

  private hung(maxSteps: number, maxVirtualMs: number): SafetyViolation {
    return new SafetyViolation(
      'hung',
      `seed ${this.seed} exceeded its budget (${maxSteps} events, ${maxVirtualMs} virtual ms) at ${this.steps} events, ` +
        `${this.queue.now} ms; replay: pnpm sim -- --seed ${this.seed} --trace`,
    );
  }

  private toViolation(e: unknown): SimViolation {
    const at = { step: this.steps, timeMs: this.queue.now };
    if (e instanceof SafetyViolation) return { kind: e.kind, detail: e.detail, ...at };
    const err = e as Error;
    return { kind: 'invariant', detail: `${err.name}: ${err.message}`, ...at };
  }

  private linDetail = '';

  private checkHistory(): 'ok' | 'violation' | 'unknown' {
    const r = checkLinearizability(this.workload.closedHistory(), kvModel, { maxStepsPerPartition: LIN_STEPS_PER_KEY_MAX });
    if (r.result === 'unknown') this.linDetail = `key ${r.partition}: linearizability search gave up (${r.reason})`;
    if (r.result === 'violation') {
      // The longest linearizable prefix locates the failure; show the operations around it.
      const from = Math.max(0, r.longestLinearized.length - 10);
      const shown = r.ops.slice(from, from + LIN_REPORT_OPS);
      const more = r.ops.length - from - shown.length;
      this.linDetail =
        `key ${r.partition} not linearizable (${r.ops.length} ops, longest linearizable prefix ${r.longestLinearized.length}):\n  ` +
        `${shown.join('\n  ')}${more > 0 ? `\n  … ${more} more` : ''}`;
    }
    return r.result;
  }

  private result(violation: SimViolation | null, lin: SimResult['linearizability']): SimResult {
    return {
      seed: this.seed,
      options: this.opts,
      violation,
      traceHash: this.hash.digest('hex'),
      steps: this.steps,
      virtualMs: this.queue.now,
      stats: {
        messages: this.net.sent,
        dropped: this.net.dropped,
        ops: this.workload.history.length,
        completed: this.workload.completed,
        timedOut: this.workload.timedOut,
        leaders: this.checker.leaderCount,
        crashes: this.crashes,
        truncatingAppendsInFlight: this.nodes.reduce((sum, n) => sum + n.truncatingAppendsInFlight, 0),
      },
      linearizability: lin,
    };
  }

  // ------------------------------------------------------------------ chaos

  private scheduleChaos(): void {
    const r = this.chaosRandom;
    const delay = 1 + r.nextInt(2 * this.opts.chaosIntervalMs);
    this.queue.schedule(delay, 'chaos', () => {
      if (!this.faultsOn) return;
      // An aimed fault in progress keeps its partition: no other fault until it ends.
      if (this.queue.now >= this.aimedUntil) this.chaosAction();
      this.scheduleChaos();
    });
  }

  private chaosAction(): void {
    const r = this.chaosRandom;
    const o = this.opts;
    const total = o.crashWeight + o.partitionWeight + o.transferWeight + o.membershipWeight + 1;
    let roll = r.nextInt(total);
    if ((roll -= o.crashWeight) < 0) return this.crashSome();
    if ((roll -= o.partitionWeight) < 0) {
      const aim = r.nextInt(6);
      if (aim <= 1) return this.isolateLeaderInMinority();
      if (aim === 2) return this.truncateDuringFsync();
      return this.partitionSome();
    }
    if ((roll -= o.transferWeight) < 0) return this.transferSome();
    if (roll - o.membershipWeight < 0) return r.nextInt(3) === 0 ? this.membershipBurst() : this.changeMembership();
    this.net.heal();
    this.trace('heal partitions');
  }

  private crashSome(): void {
    const r = this.chaosRandom;
    // Figure-8 schedules need appends of one entry each: only runs with the smallest message cap.
    if (this.opts.maxMsgBytes === FIGURE8_MAX_MSG_BYTES && r.nextInt(4) === 0) return this.figure8();
    const alive = this.nodes.filter((n) => n.alive);
    if (alive.length === 0) return;
    const victim = alive[r.nextInt(alive.length)]!;
    const mode = r.nextInt(3);
    if (mode === 2) {
      // The crash falls between persist and send: the next write is durable, nothing after it runs.
      victim.armCutAfterSync();
      this.trace(`crash ${victim.id} armed for its next fsync`);
      return;
    }
    const keep = mode === 0;
    victim.crash(keep);
    this.afterCut(victim, `unsynced batch ${keep ? 'kept' : 'lost'}`);
  }

  /** A node lost its power: count it and bring it back after a seeded down time. */
  private afterCut(victim: SimNode, how: string): void {
    this.leasing.delete(victim.id);
    this.crashes++;
    this.trace(`crash ${victim.id} (${how})`);
    if (!this.faultsOn) return this.restart(victim);
    const downMs = 20 + this.chaosRandom.nextInt(4 * this.opts.chaosIntervalMs);
    this.queue.schedule(downMs, `restart ${victim.id}`, () => this.restart(victim));
  }

  private restart(node: SimNode): void {
    if (node.alive) return;
    node.start();
    this.trace(`restart ${node.id} (term ${node.disk.hardState.term}, last ${node.disk.lastIndex})`);
    node.tick();
  }

  private partitionSome(): void {
    const r = this.chaosRandom;
    const ids = this.nodes.map((n) => n.id);
    const side = ids.filter(() => r.nextInt(2) === 0);
    const other = ids.filter((id) => !side.includes(id));
    if (side.length === 0 || other.length === 0) return;
    const symmetric = r.nextInt(3) !== 0;
    this.net.heal();
    this.net.partition(side, other, symmetric);
    this.trace(`partition [${side.join(',')}] ${symmetric ? '<|>' : '-|>'} [${other.join(',')}]`);
    this.maybeBurstDuringPartition();
  }

  /**
   * Aimed at reads without quorum (thesis §6.4): the leader and a minority are cut off while the
   * majority elects another leader and writes; clients still reach the old leader and read there.
   */
  private isolateLeaderInMinority(): void {
    const r = this.chaosRandom;
    const leader = this.nodes.find((n) => n.status()?.role === 'leader');
    if (leader === undefined) return;
    const others = this.nodes.filter((n) => n !== leader).map((n) => n.id);
    const companions: string[] = [];
    for (let k = Math.floor((this.opts.clusterSize - 1) / 2) - 1; k > 0; k--) companions.push(others.splice(r.nextInt(others.length), 1)[0]!);
    const minority = [leader.id, ...companions];
    this.net.heal();
    this.net.partition(minority, others, true);
    this.trace(`isolate leader ${leader.id} in minority [${minority.join(',')}]`);
    this.maybeBurstDuringPartition();
  }

  /**
   * Aimed at truncating appends that arrive while the previous fsync is in flight (Raft §5.3 with
   * a pipelined driver; `stableTo` must not mark a rewritten entry durable): the leader and one
   * follower are cut off together and the follower's disk stalls, so the entries of the minority
   * leader stay in flight; the old leader crashes and the partition heals, and the majority's
   * leader rewrites that suffix on the follower before its fsync returns.
   */
  private truncateDuringFsync(): void {
    const r = this.chaosRandom;
    const leader = this.nodes.find((n) => n.alive && n.status()?.role === 'leader');
    const voters = leader?.status()?.confState.voters ?? [];
    // The leader and one follower must be a minority: at least five voters.
    if (leader === undefined || voters.length < 5) return this.partitionSome();
    const followers = this.nodes.filter((n) => n.alive && n !== leader && voters.includes(n.id));
    if (followers.length === 0) return this.partitionSome();
    const follower = followers[r.nextInt(followers.length)]!;
    const minority = [leader.id, follower.id];
    const electionMs = this.opts.electionTimeoutTicks * this.opts.baseTickMs;
    this.net.heal();
    this.net.partition(minority, this.nodes.map((n) => n.id).filter((id) => !minority.includes(id)), true);
    // The follower's next writes — the minority leader's entries, which it cannot commit — take
    // 2.5 election timeouts: still in flight when the partition heals at 1.5.
    follower.stallDisk(Math.round(0.3 * electionMs), Math.round(2.5 * electionMs));
    this.aimedUntil = this.queue.now + Math.round(2.5 * electionMs);
    this.trace(`truncate during fsync: leader ${leader.id} cut off with ${follower.id}, whose disk stalls`);
    this.queue.schedule(Math.round(1.5 * electionMs), 'truncate during fsync: heal', () => {
      if (!this.faultsOn) return;
      if (leader.alive) {
        leader.crash(false);
        this.afterCut(leader, 'truncate during fsync');
      }
      this.net.heal();
      this.trace(`truncate during fsync: ${leader.id} crashed, partition healed`);
    });
  }

  /**
   * Aimed at a leader committing a previous-term entry by counting replicas (Raft §5.4.2,
   * Figure 8): the leader crashes with entries not yet on a majority, and for three election
   * timeouts appends of the sender's current term are lost — the next leader's no-op among them —
   * while its older-term entries, one per append, still arrive; then that leader crashes too.
   */
  private figure8(): void {
    const leader = this.nodes.find((n) => n.alive && n.status()?.role === 'leader');
    if (leader === undefined) return;
    this.net.dropCurrentTermAppends = true;
    this.trace(`figure 8: leader ${leader.id} crashes, current-term appends lost`);
    leader.crash(false);
    this.afterCut(leader, 'figure 8');
    const windowMs = 3 * this.opts.electionTimeoutTicks * this.opts.baseTickMs;
    this.queue.schedule(windowMs, 'figure 8 end', () => {
      this.net.dropCurrentTermAppends = false;
      const next = this.nodes.find((n) => n.alive && n.status()?.role === 'leader');
      this.trace(`figure 8 ends: ${next === undefined ? 'no leader' : `leader ${next.id} crashes`}`);
      if (!this.faultsOn || next === undefined) return;
      next.crash(false);
      this.afterCut(next, 'figure 8: the next leader');
    });
  }

  /**
   * Membership bursts while a partition is in force (thesis §4.1, §4.2.2): in runs with membership
   * changes, half the partitions are followed by a burst at whichever leader is found first — a
   * deposed one cut off with a minority, or the majority's.
   */
  private maybeBurstDuringPartition(): void {
    if (this.opts.membershipWeight > 0 && this.chaosRandom.nextInt(2) === 0) this.membershipBurst();
  }

  /** Aimed at two pending membership changes (thesis §4.1): several proposals within one round trip. */
  private membershipBurst(): void {
    const count = 2 + this.chaosRandom.nextInt(2);
    this.trace(`membership burst of ${count}`);
    for (let i = 0; i < count; i++) this.queue.schedule(i, 'membership burst', () => this.changeMembership());
  }

  private transferSome(): void {
    const r = this.chaosRandom;
    const leader = this.nodes.find((n) => n.status()?.role === 'leader');
    if (leader === undefined) return;
    const others = this.nodes.filter((n) => n !== leader);
    const to = others[r.nextInt(others.length)]!;
    this.trace(`transfer leadership ${leader.id} → ${to.id}`);
    leader.transferLeadership(to.id);
    this.observe(leader);
  }

  /** Add a spare as learner, promote a caught-up learner, or remove a voter (maybe the leader). */
  private changeMembership(): void {
    const r = this.chaosRandom;
    const leader = this.nodes.find((n) => n.status()?.role === 'leader');
    const st = leader?.status();
    if (leader === undefined || st == null) return;
    const cs = st.confState;
    const spares = this.nodes.filter((n) => !cs.voters.includes(n.id) && !cs.learners.includes(n.id) && !this.removed.has(n.id));
    const caughtUp = cs.learners.filter((id) => (st.progress?.[id]?.match ?? 0) >= st.commit);
    let change: ConfChange;
    if (caughtUp.length > 0) change = { changes: [{ op: 'addVoter', nodeId: caughtUp[r.nextInt(caughtUp.length)]! }] };
    else if (spares.length > 0 && r.nextInt(2) === 0) change = { changes: [{ op: 'addLearner', nodeId: spares[r.nextInt(spares.length)]!.id }] };
    else if (cs.voters.length > 3) change = { changes: [{ op: 'removeNode', nodeId: cs.voters[r.nextInt(cs.voters.length)]! }] };
    else return;
    const c = change.changes[0]!;
    const accepted = leader.proposeConfChange(change);
    // A removed node id is never reused (its old state would rejoin): etcd's rule too.
    if (accepted && c.op === 'removeNode') this.removed.add(c.nodeId);
    this.trace(`membership ${c.op} ${c.nodeId} via ${leader.id}: ${accepted ? 'proposed' : 'refused'}`);
    this.observe(leader);
  }

  private readonly removed = new Set<string>();
  /** Virtual time (ms) until which an aimed fault runs alone (truncateDuringFsync). */
  private aimedUntil = 0;

  // ------------------------------------------------------------------ liveness

  /** Heal everything, stop faults, then require a leader and a proposal applied everywhere. */
  private startLiveness(): void {
    this.faultsOn = false;
    this.net.faultsEnabled = false;
    this.net.dropCurrentTermAppends = false;
    this.net.heal();
    for (const n of this.nodes) {
      n.disarmCutAfterSync();
      if (!n.alive) this.restart(n);
    }
    this.workload.running = false;
    this.trace('liveness phase: network healed, faults stopped, all nodes up');
    const deadline = this.queue.now + this.opts.livenessBoundMs;
    this.queue.schedule(this.opts.livenessBoundMs, 'liveness deadline', () => {
      if (this.probeDone) return;
      const st = this.nodes.map((n) => `${n.id}:${n.status()?.role}@${n.status()?.term} applied ${n.appliedIndex}`);
      throw new SafetyViolation('liveness', `no proposal committed and applied everywhere within ${this.opts.livenessBoundMs} ms after healing (${st.join(', ')})`);
    });
    this.probe(deadline, 0);
  }

  private probe(deadline: number, attempt: number): void {
    if (this.queue.now >= deadline) return;
    const input = { kind: 'put' as const, key: 'probe', value: `p${attempt}` };
    let acked = false;
    const onIndex = (index: number): void => {
      acked = true;
      this.awaitApplied(index);
    };
    // A timed-out probe has an unknown outcome: try again with a fresh one.
    this.workload.invoke(-1, input, null, () => {
      if (!acked) this.probe(deadline, attempt + 1);
    }, onIndex);
  }

  /** Progress means: applied on every member of the configuration the current leader holds. */
  private awaitApplied(index: number): void {
    const leader = this.nodes.find((n) => n.status()?.role === 'leader');
    const cs = leader?.status()?.confState;
    const members = cs ? this.nodes.filter((n) => cs.voters.includes(n.id) || cs.learners.includes(n.id)) : null;
    if (members !== null && members.every((n) => n.appliedIndex >= index)) {
      this.probeDone = true;
      this.trace(`liveness: probe at index ${index} applied on every node`);
      return;
    }
    this.queue.schedule(5, 'await applied', () => this.awaitApplied(index));
  }
}

function sameConf(a: ConfState, b: ConfState): boolean {
  const key = (c: ConfState): string => `${c.voters.join(',')}|${c.votersOutgoing.join(',')}`;
  return key(a) === key(b);
}
