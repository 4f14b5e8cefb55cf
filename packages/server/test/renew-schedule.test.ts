// The renewal schedule (src/cli/renew-schedule.ts): 2/3 of the validity less a jitter in
// [1/40, 1/20] of it, and capped exponential backoff between failed attempts.
import { expect } from 'chai';
import { renewalDueMs, renewalThresholdMs, retryDelayMs } from '../src/cli/renew-schedule.ts';

const DAY_MS = 24 * 3600_000;
// A 30-day certificate backdated one minute, as the cluster issues it (pki-core ca/resolve-issuance.ts).
const validity = { notBeforeMs: 1_700_000_000_000 - 60_000, notAfterMs: 1_700_000_000_000 + 30 * DAY_MS };
const lifetimeMs = validity.notAfterMs - validity.notBeforeMs;

describe('renewal schedule: 2/3 of the lifetime less a jitter of at most 1/20', () => {
  it('the threshold is the 2/3 point of notBefore..notAfter', () => {
    expect(renewalThresholdMs(validity)).to.equal(validity.notBeforeMs + Math.floor((lifetimeMs * 2) / 3));
    expect(renewalThresholdMs({ notBeforeMs: 0, notAfterMs: 3000 })).to.equal(2000);
  });

  it('the due time lies between 2/3 less 1/20 and 2/3 less 1/40, spread by the random fraction', () => {
    const threshold = renewalThresholdMs(validity);
    const dues = [0, 0.25, 0.5, 0.999].map((r) => renewalDueMs(validity, r));
    expect(dues[0]).to.equal(threshold - Math.floor(lifetimeMs / 40));
    for (const due of dues) {
      expect(due).to.be.at.most(threshold - Math.floor(lifetimeMs / 40));
      expect(due).to.be.at.least(threshold - Math.ceil(lifetimeMs / 20));
    }
    expect(new Set(dues).size, 'different fractions give different times').to.equal(dues.length);
    expect(dues).to.deep.equal([...dues].sort((a, b) => b - a));
  });

  it('a random fraction outside [0, 1) is a TypeError', () => {
    expect(() => renewalDueMs(validity, 1)).to.throw(TypeError, /random/);
    expect(() => renewalDueMs(validity, -0.1)).to.throw(TypeError, /random/);
  });
});

describe('renewal retries: exponential backoff with a cap', () => {
  it('doubles from one second on each failure, taking at most a quarter off at random', () => {
    expect([1, 2, 3, 4, 5].map((f) => retryDelayMs(f, validity, 0))).to.deep.equal([1000, 2000, 4000, 8000, 16000]);
    expect(retryDelayMs(3, validity, 0.999)).to.be.within(3001, 3010);
  });

  it('is capped at five minutes for a long lifetime, at 1/20 of a short one, never below a second', () => {
    expect(retryDelayMs(40, validity, 0)).to.equal(5 * 60_000);
    expect(retryDelayMs(40, { notBeforeMs: 0, notAfterMs: 100_000 }, 0)).to.equal(5000);
    expect(retryDelayMs(40, { notBeforeMs: 0, notAfterMs: 4_000 }, 0)).to.equal(1000);
  });

  it('failures below 1 are a TypeError', () => {
    expect(() => retryDelayMs(0, validity, 0)).to.throw(TypeError, /failures/);
  });
});
