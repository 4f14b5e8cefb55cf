// The replicated key-value map each simulated node applies: put/get/cas commands carried in
// normal entries, encoded with msgpackr as plain MessagePack.
import { plainMessagePack } from '@adrestia/consensus';
import { applyKvInput, type KvInput, type KvOutput } from '../linearizability/kv-model.ts';

export interface KvCommand {
  /** Request id: unique per client invocation, so the node that proposed it can answer. */
  rid: number;
  input: KvInput;
}

export function encodeCommand(c: KvCommand): Uint8Array {
  return plainMessagePack.pack(c);
}

export function decodeCommand(data: Uint8Array): KvCommand {
  const c = plainMessagePack.unpack(data) as KvCommand;
  if (typeof c?.rid !== 'number' || typeof c.input?.kind !== 'string') throw new Error('bad KV command');
  return c;
}

export class KvMachine {
  private map = new Map<string, string>();

  apply(input: KvInput): KvOutput {
    const r = applyKvInput(this.map.get(input.key) ?? null, input);
    if (r.next === null) this.map.delete(input.key);
    else this.map.set(input.key, r.next);
    return r.output;
  }

  read(key: string): string | null {
    return this.map.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    return plainMessagePack.pack([...this.map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }

  restore(data: Uint8Array): void {
    this.map = new Map(plainMessagePack.unpack(data) as [string, string][]);
  }
}
