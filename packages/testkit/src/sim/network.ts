// The simulated network: every message may be lost, duplicated or delayed (delays differ per
// message, which reorders them), and partitions block directed links (symmetric or one-way).
import type { Message, NodeId, SeededRandom } from '@adrestia/consensus';
import type { EventQueue } from './event-queue.ts';
import type { SimOptions } from './options.ts';

export class SimNetwork {
  /** Directed links currently cut: `${from}>${to}`. */
  private readonly cut = new Set<string>();
  faultsEnabled = true;
  /**
   * Figure-8 schedules (Raft §5.4.2, Figure 8): while set, an append carrying an entry of its
   * sender's current term (a new leader's no-op, its new proposals) is lost, so only appends of
   * older-term entries arrive.
   */
  dropCurrentTermAppends = false;
  sent = 0;
  dropped = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly random: SeededRandom,
    private readonly opts: SimOptions,
    private readonly deliver: (m: Message) => void,
  ) {}

  send(m: Message): void {
    this.sent++;
    if (this.isCut(m.from, m.to)) return void this.dropped++;
    if (this.dropCurrentTermAppends && m.type === 'append' && m.entries.some((e) => e.term === m.term)) return void this.dropped++;
    if (this.faultsEnabled && this.random.nextFloat() < this.opts.lossRate) return void this.dropped++;
    const copies = this.faultsEnabled && this.random.nextFloat() < this.opts.duplicateRate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const span = this.opts.maxDelayMs - this.opts.minDelayMs + 1;
      const delay = this.faultsEnabled ? this.opts.minDelayMs + this.random.nextInt(span) : 1;
      this.queue.schedule(delay, `deliver ${m.type} ${m.from}>${m.to}`, () => {
        // A partition that started while the message was in flight also cuts it.
        if (this.isCut(m.from, m.to)) return void this.dropped++;
        this.deliver(m);
      });
    }
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  /** Cut every link from `a` to `b` (and back when `symmetric`). */
  partition(a: readonly NodeId[], b: readonly NodeId[], symmetric: boolean): void {
    for (const x of a) {
      for (const y of b) {
        this.cut.add(`${x}>${y}`);
        if (symmetric) this.cut.add(`${y}>${x}`);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }
}
