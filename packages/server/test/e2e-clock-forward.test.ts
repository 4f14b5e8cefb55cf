// End-to-end: the real dev cluster (`adrestia-pki dev`, 1 AZ × 3 real serve processes) under
// libfaketime (Debian `faketime`), its wall clock moved forward past the AZ ICA lifetime (5 years).
// First while it runs (a timestamp file libfaketime re-reads): the nodes renew their TLS key and
// certificate and serve the new ones without a restart, and the AZ still commits. Then restarted
// with the clock `+Nd` ahead (libfaketime's FAKETIME, as `faketime -f '+Nd'` sets it) in steps
// shorter than a third of the shortest CA lifetime (node ICA: 3 y + 30 d), each step waiting
// until the renewals the next one needs are in, and after each an issuance (curl under
// `faketime -f`) with the profile's default lifetime that `openssl verify -attime` accepts at the
// moved time. Monotonic clocks are left alone (DONT_FAKE_MONOTONIC): Raft and the VIP fence run
// on them. Needs the Debian packages faketime, curl and openssl. Addresses: 127.131.0.0/16 (dev
// plan, base 130). The dev cluster under libfaketime: helpers/faketime-dev.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { DevNode } from '../src/dev/layout.ts';
import { DAY_MS, faketimeDevSuite, type FaketimeDev } from './helpers/faketime-dev.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 130;
/** Past two thirds of the node TLS lifetime (2 y): renewed while the cluster runs. */
const LIVE_OFFSET_DAYS = 500;
/** Restarts 350 days apart (< 1125 d / 3) up to past the first AZ ICA's end (1825 d). */
const RESTART_OFFSETS_DAYS = [850, 1200, 1550, 1900];

describe('e2e: the dev cluster with its clock moved forward past the AZ ICA lifetime (faketime)', function () {
  this.timeout(600_000);
  const suite = faketimeDevSuite('adrestia-clock-', BASE);
  let dev: FaketimeDev;
  before(() => (dev = suite()));

  it('while it runs, every node renews its TLS certificate, serves the new one, and the AZ still commits', async function () {
    const timestampFile = join(dev.dir, 'faketime');
    writeFileSync(timestampFile, '+0d\n');
    await dev.start({ timestampFile });
    const before = new Map(dev.nodes.map((n) => [n.name, dev.tlsCertOf(n.name).fingerprint256]));
    writeFileSync(timestampFile, `+${LIVE_OFFSET_DAYS}d\n`);
    // Each process re-reads the timestamp file on its own (FAKETIME_CACHE_DURATION): a node that
    // sees the move first may be renewed by a local leader that has not seen it yet, a successor
    // beginning at the old clock that the node, by its own clock, renews again at once. So the
    // wait is for successors that begin at the moved clock.
    const beginsMoved = (n: DevNode) => Date.parse(dev.tlsCertOf(n.name).validFrom) > Date.now() + (LIVE_OFFSET_DAYS - 1) * DAY_MS;
    await pollFor('every node TLS certificate renewed at the moved clock', async () => (dev.nodes.every(beginsMoved) ? true : null), 180_000, 500);
    for (const n of dev.nodes) {
      const renewed = dev.tlsCertOf(n.name);
      expect(renewed.fingerprint256, `${n.name}: a successor`).to.not.equal(before.get(n.name));
      const served = await pollFor(`${n.name} serving its renewed certificate`, async () => {
        const cert = await dev.servedCertificate(n.host);
        return cert.fingerprint256 === renewed.fingerprint256 ? cert : null;
      }, 30_000, 500);
      expect(served.fingerprint256).to.equal(renewed.fingerprint256);
    }
    // A commit needs two of the three nodes over the mesh, which now admits only the new certificates.
    const leaf = dev.issueAt(LIVE_OFFSET_DAYS, 'live.example');
    expect(dev.verifyAt(LIVE_OFFSET_DAYS, leaf, 'live.example')).to.match(/: OK\s*$/);
    await dev.stop();
  });

  it('restarted in 350-day steps to past 5 years: each step issues a default-lifetime leaf that openssl verifies at that time', async function () {
    const steps = [LIVE_OFFSET_DAYS, ...RESTART_OFFSETS_DAYS];
    for (let i = 1; i < steps.length; i++) {
      const offsetDays = steps[i] as number;
      await dev.start({ offsetDays });
      const cn = `step-${offsetDays}.example`;
      const leaf = dev.issueAt(offsetDays, cn);
      expect(dev.verifyAt(offsetDays, leaf, cn), `+${offsetDays} d`).to.match(/: OK\s*$/);
      const next = steps[i + 1];
      // The next step starts only once every credential it needs was renewed (a cluster off for
      // longer than a certificate's remaining life is recovery after downtime: e2e-downtime.test.ts).
      if (next !== undefined) await pollFor(`credentials renewed for +${next} d`, async () => ((await dev.credentialsOutlast(Date.now() + next * DAY_MS)) ? true : null), 120_000, 1_000);
      await dev.stop();
    }
    expect(steps.at(-1)! * DAY_MS, 'the last step is past the first AZ ICA lifetime').to.be.greaterThan(5 * 365 * DAY_MS);
  });
});
