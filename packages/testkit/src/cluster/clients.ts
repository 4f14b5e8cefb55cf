// Clients of the simulated cluster. A client lives in one AZ and sends its commands to that AZ's
// local leader: local commands with proposeLocal, global ones with proposeGlobal (through the
// local leader's seat). It finds the leader as a real client would — by trying a node and
// following the leader hint in ERR_NOT_LOCAL_LEADER / ERR_SEAT_INACTIVE — and retries failures
// after a pause. Every attempt is a distinct command; the ledger records which ones were
// acknowledged, which is all the durability check may rely on.
import type { SeededRandom } from '@adrestia/consensus';
import { errorCode, type SimCluster } from './sim-cluster.ts';
import type { Scheduler } from './virtual-time.ts';

export type Tier = 'local' | 'global';

export interface Ack {
  text: string;
  az: string;
  tier: Tier;
  atUs: number;
}

/** What clients were told: acknowledgements, and failures counted by error code. */
export class Ledger {
  readonly acks: Ack[] = [];
  readonly failures = new Map<string, number>();
  attempts = 0;

  ack(a: Ack): void {
    this.acks.push(a);
  }

  fail(code: string): void {
    this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
  }
}

const encoder = new TextEncoder();

/**
 * Sends one command to the AZ's node `target` (or a node the client guesses). Resolves with null on
 * acknowledgement, or the error code and the leader hint.
 */
export function sendCommand(
  cluster: SimCluster,
  target: string,
  tier: Tier,
  text: string,
): Promise<{ code: string | null; hint: string | null }> {
  const n = cluster.get(target);
  if (!n.alive || !n.node) return Promise.resolve({ code: 'ERR_UNREACHABLE', hint: null });
  const data = encoder.encode(text);
  const p = tier === 'local' ? n.node.proposeLocal(data) : n.node.proposeGlobal(data);
  return p.then(
    () => ({ code: null, hint: null }),
    (e: unknown) => ({ code: errorCode(e), hint: (e as { localLeaderId?: string | null }).localLeaderId ?? null }),
  );
}

export interface ClientOptions {
  /** Pause between two commands, and before a retry. */
  minThinkUs: number;
  maxThinkUs: number;
}

/** A closed-loop client: one command in flight at a time. */
export class SimClient {
  private hint: string | null = null;
  private sent = 0;
  private running = false;
  private inFlight = false;

  constructor(
    private readonly cluster: SimCluster,
    readonly az: string,
    readonly tier: Tier,
    private readonly random: SeededRandom,
    private readonly ledger: Ledger,
    private readonly options: ClientOptions = { minThinkUs: 5_000, maxThinkUs: 60_000 },
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
  }

  get busy(): boolean {
    return this.inFlight;
  }

  private schedule(): void {
    const { minThinkUs, maxThinkUs } = this.options;
    const delay = minThinkUs + this.random.nextInt(maxThinkUs - minThinkUs + 1);
    this.cluster.scheduler.after(delay, `client ${this.tier} ${this.az}`, () => this.issue());
  }

  private issue(): void {
    if (!this.running || this.inFlight) return;
    const nodes = this.cluster.nodesOf(this.az);
    const target = this.hint ?? nodes[this.random.nextInt(nodes.length)]!.id;
    const text = `${this.tier === 'local' ? 'L' : 'G'}.${this.az}.${++this.sent}`;
    this.inFlight = true;
    this.ledger.attempts++;
    void sendCommand(this.cluster, target, this.tier, text).then(({ code, hint }) => {
      this.inFlight = false;
      if (code === null) {
        this.hint = target;
        this.ledger.ack({ text, az: this.az, tier: this.tier, atUs: this.cluster.scheduler.nowUs });
        this.cluster.scheduler.trace(`ack ${text} via ${target}`);
      } else {
        this.hint = hint !== null && hint !== target ? hint : null;
        this.ledger.fail(code);
        this.cluster.scheduler.trace(`fail ${text} via ${target} ${code}`);
      }
      if (this.running) this.schedule();
    });
  }
}

/**
 * Commits one command, retrying (a new command per attempt, with the leader hint) until one is
 * acknowledged or `maxUs` of virtual time pass. Returns the acknowledged text, or null.
 */
export async function commitWithRetry(
  cluster: SimCluster,
  az: string,
  tier: Tier,
  textBase: string,
  maxUs: number,
  ledger?: Ledger,
): Promise<{ text: string | null; errors: string[] }> {
  const errors: string[] = [];
  const deadline = cluster.scheduler.nowUs + maxUs;
  let hint: string | null = null;
  for (let attempt = 1; cluster.scheduler.nowUs < deadline; attempt++) {
    const nodes = cluster.nodesOf(az).filter((n) => n.alive);
    const target: string = hint ?? cluster.localLeaderOf(az)?.id ?? nodes[attempt % Math.max(1, nodes.length)]?.id ?? `${az}1`;
    const text = `${textBase}#${attempt}`;
    const outcome: { code: string | null; hint: string | null } | null = await runUntilSettled(cluster, sendCommand(cluster, target, tier, text), deadline);
    if (outcome === null) break;
    if (outcome.code === null) {
      ledger?.ack({ text, az, tier, atUs: cluster.scheduler.nowUs });
      return { text, errors };
    }
    errors.push(outcome.code);
    hint = outcome.hint !== target ? outcome.hint : null;
    await cluster.scheduler.runUntil(Math.min(deadline, cluster.scheduler.nowUs + 20_000));
  }
  return { text: null, errors };
}

/** Runs the scheduler until `p` settles; null if the deadline passes first. */
export async function runUntilSettled<T>(cluster: { readonly scheduler: Scheduler }, p: Promise<T>, deadlineUs: number): Promise<T | null> {
  let settled = false;
  let value: T | null = null;
  void p.then((v) => {
    settled = true;
    value = v;
  });
  await cluster.scheduler.runUntilTrue(() => settled, Math.max(0, deadlineUs - cluster.scheduler.nowUs));
  return value;
}
