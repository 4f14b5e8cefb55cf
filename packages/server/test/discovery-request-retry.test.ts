// pkiInitRequestRetry (docs/spec.md §3.1.1): inside one discovery attempt, a request that gets no
// answer is tried again up to that many times; an answer, of any status, ends the tries.
import { expect } from 'chai';
import { retryRequest } from '../src/serve/start-node.ts';

function failingTimes(n: number): { request: () => Promise<string>; tries: () => number } {
  let tries = 0;
  return {
    request: () => (++tries <= n ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve(`answer after ${tries}`)),
    tries: () => tries,
  };
}

describe('discovery: pkiInitRequestRetry retries of one request (start-node.ts retryRequest)', () => {
  it('an answer after two failures is taken on the third try when 3 retries are allowed', async () => {
    const r = failingTimes(2);
    expect(await retryRequest(r.request, 3)).to.equal('answer after 3');
    expect(r.tries()).to.equal(3);
  });

  it('gives up with null after 1 + retries tries; 0 retries is one try', async () => {
    const r = failingTimes(10);
    expect(await retryRequest(r.request, 3)).to.equal(null);
    expect(r.tries()).to.equal(4);
    const once = failingTimes(10);
    expect(await retryRequest(once.request, 0)).to.equal(null);
    expect(once.tries()).to.equal(1);
  });
});
