// Randomness enters consensus code only through this interface, so a simulated run replays
// exactly from its seed while production draws from the OS.
import { randomInt } from 'node:crypto';

export interface RandomSource {
  /** A uniformly distributed integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
}

/** sfc32 seeded through splitmix32: small, fast, and good enough for schedules and timeouts. */
export class SeededRandom implements RandomSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  nextInt(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0) {
      throw new TypeError(`nextInt: maxExclusive must be a positive integer, got ${maxExclusive}`);
    }
    return this.nextUint32() % maxExclusive;
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A derived, independent stream (e.g. one per simulated node) */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }
}

/** OS randomness for production. */
export const systemRandom: RandomSource = {
  nextInt(maxExclusive: number): number {
    return randomInt(maxExclusive);
  },
};
