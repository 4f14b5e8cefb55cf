// Scheduled work of a node (docs/spec.md §10.1, docs/architecture.md §4.5): one round every
// `maintenanceEveryTicks` ticks runs the tasks the features added, in the order they were added;
// each task checks the role it needs when it runs. A round never overlaps the previous one. A
// failure ends the round: a transient one (leader change, lost quorum) is expected and dropped,
// any other goes to `onError`; the next round starts from the first task again.
import type { ClockTimer } from '@adrestia/consensus';
import { isTransient } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';

export interface MaintenanceTask {
  /** What the task keeps up (for readers and error reports). */
  readonly name: string;
  /** One round's share of the work; `endRound` skips the tasks after it until the next round. */
  run(): Promise<void | 'endRound'>;
}

/** What a feature sees of the scheduler: it adds its tasks when it is built. */
export interface MaintenanceRegistry {
  add(task: MaintenanceTask): void;
}

export class MaintenanceScheduler implements MaintenanceRegistry {
  private readonly tasks: MaintenanceTask[] = [];
  private timer: ClockTimer | null = null;
  private stopped = false;
  private running = false;

  constructor(private readonly ctx: Pick<NodeContext, 'clock' | 'tickMs' | 'maintenanceEveryTicks' | 'onError'>) {}

  add(task: MaintenanceTask): void {
    this.tasks.push(task);
  }

  start(): void {
    this.timer = this.ctx.clock.setInterval(() => void this.runRound(), this.ctx.tickMs * this.ctx.maintenanceEveryTicks);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private async runRound(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    try {
      for (const task of this.tasks) if ((await task.run()) === 'endRound') break;
    } catch (e) {
      if (!isTransient(e)) this.ctx.onError(e);
    } finally {
      this.running = false;
    }
  }
}
