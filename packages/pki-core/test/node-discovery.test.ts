import { expect } from 'chai';
import { discover, type ProbeAnswer } from '../src/node/founding/discovery.ts';

const CID = '4f9a1c2e-7b3d-4e5f-8a9b-0c1d2e3f4a5b';

function script(answers: (ProbeAnswer | null)[]) {
  let probes = 0;
  let pauses = 0;
  return {
    probe: async () => answers[Math.min(probes++, answers.length - 1)] ?? null,
    pause: async () => void pauses++,
    counts: () => ({ probes, pauses }),
  };
}

describe('docs/spec.md §3.1 Phase I: leader discovery (made safe)', () => {
  it('no answer after pkiInitRetry probes: the allowed founder founds the cluster', async () => {
    const s = script([null]);
    expect(await discover({ ...s, retries: 3, mayFoundCluster: true })).to.deep.equal({ kind: 'foundCluster' });
    expect(s.counts()).to.deep.equal({ probes: 3, pauses: 2 });
  });

  it('no answer: any other node waits and discovers again (a cold start makes one cluster)', async () => {
    const s = script([null]);
    expect(await discover({ ...s, retries: 3, mayFoundCluster: false })).to.deep.equal({ kind: 'retryLater' });
  });

  it('200 from the AZ: join through its local leader', async () => {
    const s = script([null, { kind: 'azExists', clusterId: CID, localLeaderId: 'n7' }]);
    expect(await discover({ ...s, retries: 5, mayFoundCluster: true })).to.deep.equal({ kind: 'join', localLeaderId: 'n7' });
  });

  it('404 for the AZ: found the AZ through the global leader', async () => {
    const s = script([{ kind: 'azUnknown', clusterId: CID, globalLeaderId: 'g1' }]);
    expect(await discover({ ...s, retries: 5, mayFoundCluster: false })).to.deep.equal({ kind: 'foundAz', globalLeaderId: 'g1' });
  });

  it('an answer without a known leader (election under way) is asked again, never taken for "no cluster"', async () => {
    const s = script([{ kind: 'azExists', clusterId: CID, localLeaderId: null }]);
    expect(await discover({ ...s, retries: 4, mayFoundCluster: true })).to.deep.equal({ kind: 'retryLater' });
  });

  it('an answer from another cluster is refused', async () => {
    const s = script([{ kind: 'azExists', clusterId: CID, localLeaderId: 'n7' }]);
    const err = await discover({ ...s, retries: 1, mayFoundCluster: false, expectedClusterId: '00000000-0000-4000-8000-000000000000' }).catch((e: unknown) => e);
    expect(err).to.have.property('code', 'ERR_INPUT_INVALID');
  });
});
