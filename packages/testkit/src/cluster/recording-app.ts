// The application under test: it records every command it applies, in order, with the metadata
// TwoTierNode gives it. Its snapshot is that whole list, so a node restored from a snapshot holds
// exactly what it held when the snapshot was taken. Deterministic, as TwoTierApplication requires.
import { decodeValue, encodeValue } from '@adrestia/consensus';
import type { CommandMeta, TwoTierApplication } from '@adrestia/consensus';

export interface AppliedCommand {
  seq: number;
  tier: 'local' | 'global';
  /** For a global command, the AZ that proposed it. */
  az: string;
  text: string;
}

export interface AppObserver {
  onApply(item: AppliedCommand, position: { globalIndex: number | null }): void;
  onReplace(items: readonly AppliedCommand[]): void;
}

const decoder = new TextDecoder();

export class RecordingApp implements TwoTierApplication<number> {
  items: AppliedCommand[] = [];
  private globalCount = 0;
  private readonly texts = new Set<string>();

  constructor(private readonly observer: AppObserver | null = null) {}

  apply(data: Uint8Array, meta: CommandMeta): number {
    const item: AppliedCommand = { seq: meta.seq, tier: meta.tier, az: meta.az, text: decoder.decode(data) };
    if (item.seq !== this.items.length + 1) throw new Error(`RecordingApp: seq ${item.seq} after ${this.items.length} commands`);
    this.items.push(item);
    this.texts.add(item.text);
    const globalIndex = item.tier === 'global' ? this.globalCount++ : null;
    this.observer?.onApply(item, { globalIndex });
    return meta.seq;
  }

  snapshot(): Uint8Array {
    return encodeValue(this.items);
  }

  restore(data: Uint8Array, seq: number): void {
    const items = decodeValue(data) as AppliedCommand[];
    if (items.length !== seq) throw new Error(`RecordingApp: snapshot of ${items.length} commands restored at seq ${seq}`);
    this.replace(items);
  }

  reset(): void {
    this.replace([]);
  }

  has(text: string): boolean {
    return this.texts.has(text);
  }

  globals(): string[] {
    return this.items.filter((i) => i.tier === 'global').map((i) => i.text);
  }

  private replace(items: AppliedCommand[]): void {
    this.items = items;
    this.texts.clear();
    for (const i of items) this.texts.add(i.text);
    this.globalCount = items.filter((i) => i.tier === 'global').length;
    this.observer?.onReplace(items);
  }
}
