// A secret value in memory. It prints as [REDACTED] through every route a value takes to a log
// or a response (JSON.stringify, util.inspect, template strings); only reveal() gives the bytes.
import { inspect } from 'node:util';

export class Secret {
  readonly #value: Buffer;

  constructor(value: Buffer) {
    this.#value = Buffer.from(value);
  }

  /** The secret bytes. Callers must not log or persist them. */
  reveal(): Buffer {
    return this.#value;
  }

  get byteLength(): number {
    return this.#value.length;
  }

  toJSON(): string {
    return '[REDACTED]';
  }

  toString(): string {
    return '[REDACTED]';
  }

  [inspect.custom](): string {
    return 'Secret([REDACTED])';
  }
}
