// Assertions on typed errors (STYLE: expected failures are PkiErrors with stable codes). On a
// mismatch the message shows the code that was thrown, or the error itself.
import { expect } from 'chai';
import { isPkiError, type PkiErrorCode } from '../src/errors.ts';

function thrownCode(e: unknown): string {
  return isPkiError(e) ? e.code : `not a PkiError: ${String(e)}`;
}

/** Asserts that `fn` throws the PkiError `code`. */
export function expectPkiCode(fn: () => unknown, code: PkiErrorCode): void {
  try {
    fn();
  } catch (e) {
    expect(thrownCode(e), String(e)).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

/** Asserts that `p` rejects with the PkiError `code`. */
export async function expectPkiRejects(p: Promise<unknown>, code: PkiErrorCode): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(thrownCode(e), String(e)).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}
