// A simulation-only serial source for PKI runs (pki-serial-faults.ts): with 128-bit random serials
// (pki-core/src/ca/serial.ts) two issuances never collide, so the per-issuer uniqueness check
// (RFC 5280 §4.1.2.2, pki-core/src/state/apply-certs.ts requireFreshSerial) is never exercised.
import type { RandomSource } from '@adrestia/consensus';

/** pki-core/src/ca/serial.ts draws a serial as this many 16-bit values of `nextInt(0x1_0000)`. */
const SERIAL_DRAWS = 8;
const SERIAL_DRAW_RANGE = 0x1_0000;
/** Serials 1..TINY_SERIAL_RANGE while the tiny source is on: collisions within one run are likely. */
export const TINY_SERIAL_RANGE = 32;

/**
 * A node's random source whose serial draws, while `enabled()`, give only the serials
 * 1..TINY_SERIAL_RANGE (the first draws 0, the last 1 + a draw below the range); every other
 * draw, and every draw while disabled, is the inner source's own.
 */
export class TinySerialRandom implements RandomSource {
  private draw = 0;

  constructor(
    private readonly inner: RandomSource,
    private readonly enabled: () => boolean,
  ) {}

  nextInt(maxExclusive: number): number {
    if (maxExclusive !== SERIAL_DRAW_RANGE || (!this.enabled() && this.draw === 0)) return this.inner.nextInt(maxExclusive);
    this.draw = (this.draw + 1) % SERIAL_DRAWS;
    return this.draw === 0 ? 1 + this.inner.nextInt(TINY_SERIAL_RANGE) : 0;
  }
}
