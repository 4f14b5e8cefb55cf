// What a command needs from its process, passed in so commands stay testable and clock-free.
import { randomInt } from 'node:crypto';
import type { SerialRandomSource } from '../ca/serial.ts';

export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => Date;
  readonly out: (text: string) => void;
  /** Serial randomness: OS randomness in the real CLI (RFC 5280 §4.1.2.2, CA/B BR §7.1: ≥ 64 bits). */
  readonly random: SerialRandomSource;
}

export function processContext(): CliContext {
  return {
    env: process.env,
    now: () => new Date(),
    out: (text) => process.stdout.write(text),
    random: { nextInt: (maxExclusive) => randomInt(maxExclusive) },
  };
}
