import { expect } from 'chai';
import { CodecError, decodeMessage, encodeMessage, encodeValue } from '../src/codec.ts';
import { MemoryNetwork } from '../src/memory-transport.ts';
import type { Message } from '../src/messages.ts';

const append = (from: string, to: string, prev: number): Message => ({
  type: 'append',
  from,
  to,
  term: 2,
  prevLogIndex: prev,
  prevLogTerm: 1,
  commit: prev,
  entries: [{ index: prev + 1, term: 2, type: 'normal', data: Uint8Array.of(1, 2, 3) }],
});

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('wire codec: plain MessagePack Raft messages', () => {
  const samples: Message[] = [
    append('a', 'b', 4),
    { type: 'preVote', from: 'a', to: 'b', term: 3, lastLogIndex: 9, lastLogTerm: 2 },
    { type: 'vote', from: 'a', to: 'b', term: 3, lastLogIndex: 9, lastLogTerm: 2, transfer: true },
    { type: 'voteResp', from: 'b', to: 'a', term: 3, granted: false },
    { type: 'appendResp', from: 'b', to: 'a', term: 3, success: false, index: 7, rejectHint: 5, rejectHintTerm: 1 },
    { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 4, readCtxSeq: 2 },
    {
      type: 'snapshot',
      from: 'a',
      to: 'b',
      term: 3,
      metadata: { index: 10, term: 2, confState: { voters: ['a', 'b'], learners: [], votersOutgoing: [] } },
      offset: 0,
      data: Uint8Array.of(9, 9),
      totalBytes: 2,
      done: true,
    },
    { type: 'readIndexResp', from: 'a', to: 'b', term: 3, requestCtx: Uint8Array.of(7), index: 4, ok: true },
    { type: 'propose', from: 'b', to: 'a', term: 3, entries: [{ type: 'confChange', data: Uint8Array.of(1) }] },
    { type: 'timeoutNow', from: 'a', to: 'b', term: 3 },
  ];

  it('round-trips every message type with byte fields as plain Uint8Array', () => {
    for (const m of samples) {
      const back = decodeMessage(encodeMessage(m));
      expect(back).to.deep.equal(m);
    }
    const back = decodeMessage(encodeMessage(samples[0]!));
    if (back.type !== 'append') throw new Error('type changed');
    expect(Object.getPrototypeOf(back.entries[0]!.data)).to.equal(Uint8Array.prototype);
  });

  it('rejects malformed input with ERR_CODEC_INVALID', () => {
    const bad: unknown[] = [
      { type: 'nope', from: 'a', to: 'b', term: 1 },
      { type: 'heartbeat', from: 'a', to: 'b', term: -1, commit: 0, readCtxSeq: 0 },
      { type: 'append', from: 'a', to: 'b', term: 1, prevLogIndex: 0, prevLogTerm: 0, commit: 0, entries: [{}] },
      { type: 'vote', from: 'a', to: 'b', term: 1, lastLogIndex: 0, lastLogTerm: 0 },
      ['not', 'a', 'message'],
    ];
    for (const v of bad) {
      expect(() => decodeMessage(encodeValue(v)), JSON.stringify(v))
        .to.throw(CodecError)
        .with.property('code', 'ERR_CODEC_INVALID');
    }
    expect(() => decodeMessage(Uint8Array.of(0xc1))).to.throw(CodecError);
  });
});

describe('MemoryNetwork: in-process transport', () => {
  it('delivers asynchronously, in order per sender, as copies', async () => {
    const net = new MemoryNetwork();
    const a = net.endpoint('a');
    const b = net.endpoint('b');
    const got: Message[] = [];
    b.onMessage((m) => got.push(m));
    const sent = [append('a', 'b', 1), append('a', 'b', 2), append('a', 'b', 3)];
    a.send(sent);
    expect(got).to.have.length(0); // never re-entrant inside send()
    await settle();
    expect(got.map((m) => (m.type === 'append' ? m.prevLogIndex : -1))).to.deep.equal([1, 2, 3]);
    expect(got[0]).to.deep.equal(sent[0]);
    expect(got[0]).to.not.equal(sent[0]);
  });

  it('drops messages across a partition and to a closed endpoint; heals; counts drops', async () => {
    const net = new MemoryNetwork();
    const ends = ['a', 'b', 'c'].map((id) => net.endpoint(id));
    const got: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (const t of ends) t.onMessage((m) => got[m.to]!++);
    net.partition(['a'], ['b', 'c']);
    ends[0]!.send([append('a', 'b', 1), append('a', 'c', 1)]);
    ends[1]!.send([append('b', 'c', 1)]);
    await settle();
    expect(got).to.deep.equal({ a: 0, b: 0, c: 1 });
    net.heal();
    net.isolate('c');
    ends[0]!.send([append('a', 'b', 1), append('a', 'c', 1)]);
    await settle();
    expect(got).to.deep.equal({ a: 0, b: 1, c: 1 });
    net.heal();
    await ends[1]!.close();
    ends[0]!.send([append('a', 'b', 2)]);
    await settle();
    expect(got.b).to.equal(1);
    expect(net.stats.dropped).to.equal(4);
    const b2 = net.endpoint('b'); // a restarted node reconnects under the same id
    b2.onMessage((m) => got[m.to]!++);
    ends[0]!.send([append('a', 'b', 3)]);
    await settle();
    expect(got.b).to.equal(2);
  });

  it('loses a message in flight when the link is cut before delivery', async () => {
    const net = new MemoryNetwork();
    const a = net.endpoint('a');
    const b = net.endpoint('b');
    let received = 0;
    b.onMessage(() => received++);
    a.send([append('a', 'b', 1)]);
    net.isolate('b');
    await settle();
    expect(received).to.equal(0);
  });

  it('applies a drop filter (e.g. drop every append to c)', async () => {
    const net = new MemoryNetwork();
    const a = net.endpoint('a');
    const c = net.endpoint('c');
    let received = 0;
    c.onMessage(() => received++);
    net.setDropFilter((m) => m.type === 'append' && m.to === 'c');
    a.send([append('a', 'c', 1), { type: 'heartbeat', from: 'a', to: 'c', term: 2, commit: 0, readCtxSeq: 0 }]);
    await settle();
    expect(received).to.equal(1);
  });
});
