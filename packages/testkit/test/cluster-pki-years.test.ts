// Ten virtual years of a 3 AZ × 3 PkiNode cluster with the default lifetimes, one fault per
// quarter (pki-years.ts): every AZ ICA, node ICA and node TLS certificate is renewed by the
// cluster itself before it runs out, issuance works after every step with chains that verify at
// their issue time, node certificates stay valid, and no CA role is renewed before its renewal
// point (pki-core node/ca/renewal-policy.ts). Without renewal the node TLS certificates (2 years)
// expire in the ninth step.
import { expect } from 'chai';
import { runPkiYearsSeed } from '../src/cluster/pki-years.ts';

describe('PKI simulator: ten virtual years with the default lifetimes (sim --cluster --pki --years 10)', function () {
  this.timeout(600_000);

  // Seed 3, and two more: a few seeds in CI (a nightly-sized run is `--seeds 20`, README).
  for (const seed of [3, 1, 2]) {
    it(`seed ${seed}: renewals keep issuance, chains and node certificates valid, with no unplanned overlap`, async () => {
      const r = await runPkiYearsSeed({ seed, years: 10 });
      expect(r.violations.map((v) => `${v.kind}: ${v.message}`)).to.deep.equal([]);
      expect(r.steps).to.equal(41);
      expect(r.issued).to.equal(3 * r.steps);
      // In all, at least as many renewals as 4 of each of the 3 AZ ICAs (about every 700 days) and 9 node ICAs (at least every 2 years + 20 days).
      expect(r.renewals).to.be.at.least(3 * 4 + 9 * 4);
    });
  }
});
