// Clients: each keeps one operation outstanding, sends it to the node it believes leads, follows
// redirects, retries refusals, and gives up after a timeout — recording the operation as pending
// ("unknown": it may or may not take effect). The history feeds the linearizability checker.
import type { SeededRandom } from '@adrestia/consensus';
import type { KvHistoryOp, KvInput, KvOutput } from '../linearizability/kv-model.ts';
import type { EventQueue } from './event-queue.ts';
import type { NodeReply } from './node.ts';
import type { SimOptions } from './options.ts';

export interface ClientTarget {
  nodeIds(): string[];
  /** Deliver a request to a node (after network delay); the reply comes back through `reply`. */
  request(nodeId: string, rid: number, input: KvInput, reply: (r: NodeReply) => void): void;
}

const CLIENT_DELAY_MS = 2;
const RETRY_BACKOFF_MS = 15;

export class Workload {
  readonly history: KvHistoryOp[] = [];
  /** Request id of every operation, by history id. */
  private readonly ridOf = new Map<number, number>();
  /** The first application of each write anywhere in the cluster: when, and with what output. */
  private readonly firstApplied = new Map<number, { time: number; output: KvOutput }>();
  private nextRid = 1;
  private valueSeq = 0;
  running = true;
  completed = 0;
  timedOut = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly random: SeededRandom,
    private readonly opts: SimOptions,
    private readonly target: ClientTarget,
    private readonly trace: (line: string) => void,
  ) {}

  start(): void {
    for (let c = 0; c < this.opts.clients; c++) {
      this.queue.schedule(this.random.nextInt(20), `client ${c} start`, () => this.next(c, null));
    }
  }

  private randomInput(): KvInput {
    const key = `k${this.random.nextInt(this.opts.keys)}`;
    const roll = this.random.nextInt(10);
    const value = `v${++this.valueSeq}`;
    if (roll < 4) return { kind: 'get', key };
    if (roll < 7) return { kind: 'put', key, value };
    const expected = this.random.nextInt(3) === 0 ? null : `v${1 + this.random.nextInt(this.valueSeq)}`;
    return { kind: 'cas', key, expected, value };
  }

  private next(client: number, leaderGuess: string | null): void {
    if (!this.running) return;
    this.invoke(client, this.randomInput(), leaderGuess, (guess) => this.next(client, guess));
  }

  /**
   * Run one invocation to completion or timeout, then call `done` with the client's leader guess.
   * Used by the regular clients and by the liveness probe.
   */
  invoke(client: number, input: KvInput, leaderGuess: string | null, done: (guess: string | null) => void, onIndex?: (i: number) => void): void {
    const op: KvHistoryOp = { id: this.history.length, clientId: client, input, callTime: this.queue.now, returnTime: null, output: undefined };
    this.history.push(op);
    const rid = this.nextRid++;
    this.ridOf.set(op.id, rid);
    let finished = false;
    const ids = this.target.nodeIds();
    const attempt = (nodeId: string): void => {
      if (finished) return;
      this.target.request(nodeId, rid, input, (r) => {
        if (finished) return;
        if (r.kind === 'done') {
          finished = true;
          op.returnTime = this.queue.now;
          op.output = r.output;
          this.completed++;
          onIndex?.(r.index);
          this.queue.schedule(this.random.nextInt(10), `client ${client} next`, () => done(nodeId));
          return;
        }
        const hint = r.kind === 'redirect' && r.leaderHint !== null ? r.leaderHint : ids[this.random.nextInt(ids.length)]!;
        this.queue.schedule(r.kind === 'redirect' ? 0 : RETRY_BACKOFF_MS, `client ${client} retry`, () => attempt(hint));
      });
    };
    attempt(leaderGuess ?? ids[this.random.nextInt(ids.length)]!);
    this.queue.schedule(this.opts.clientTimeoutMs, `client ${client} timeout`, () => {
      if (finished) return;
      finished = true; // pending forever: outcome unknown
      this.timedOut++;
      this.trace(`client ${client} op #${op.id} timed out`);
      done(ids[this.random.nextInt(ids.length)]!);
    });
  }

  /** A node applied the command of request `rid` (state machine safety makes the output unique). */
  recordApplied(rid: number, output: KvOutput): void {
    if (!this.firstApplied.has(rid)) this.firstApplied.set(rid, { time: this.queue.now, output });
  }

  /**
   * The history to check, every operation closed. A timed-out write that some node applied took
   * effect between its call and that first application (its commit came before), with the output
   * the state machine gave it; one never applied had no effect, and a timed-out read has none
   * either: both are left out. Without open operations WGL's search stays small on every seed.
   */
  closedHistory(): KvHistoryOp[] {
    const closed: KvHistoryOp[] = [];
    for (const op of this.history) {
      if (op.returnTime !== null) {
        closed.push(op);
        continue;
      }
      const applied = op.input.kind === 'get' ? undefined : this.firstApplied.get(this.ridOf.get(op.id)!);
      if (applied !== undefined) closed.push({ ...op, returnTime: applied.time, output: applied.output });
    }
    return closed;
  }

  static readonly delayMs = CLIENT_DELAY_MS;
}
