import { expect } from 'chai';
import { ManualClock, type Clock, type ClockTimer } from '../src/clock.ts';
import { decodeValue, encodeValue } from '../src/codec.ts';
import { SeededRandom } from '../src/random.ts';
import {
  StateTransfer,
  StateTransferError,
  type StateFrameChannel,
  type StateInstall,
  type StateOnDisk,
  type StateTransferOptions,
  type StateView,
} from '../src/two-tier/state-transfer.ts';
import type { NodeId } from '../src/types.ts';

const TICK_MS = 10;
const BASE: Pick<StateTransferOptions, 'tickMs' | 'chunkBytes' | 'requestTimeoutMs' | 'requestRetries' | 'retryPauseMs' | 'viewIdleTimeoutMs'> = {
  tickMs: TICK_MS,
  chunkBytes: 64,
  requestTimeoutMs: 100,
  requestRetries: 3,
  retryPauseMs: 200,
  viewIdleTimeoutMs: 1000,
};

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---- a network of frames with seeded loss, duplication and reordering ----

interface NetOptions {
  seed?: number;
  loss?: number;
  dup?: number;
  /** Each frame waits 0..maxHops extra turns of the event loop: frames overtake each other. */
  maxHops?: number;
}

interface SentFrame {
  from: NodeId;
  to: NodeId;
  frame: Record<string, unknown> | null;
}

class MemoryFrameNet {
  private readonly handlers = new Map<NodeId, (from: NodeId, frame: Uint8Array) => void>();
  private readonly random: SeededRandom;
  /** Every frame sent (decoded), before loss: what each node asked or answered. */
  readonly sent: SentFrame[] = [];
  /** Returns true to drop the frame (on top of the random loss). */
  drop: ((f: SentFrame) => boolean) | null = null;

  constructor(private readonly options: NetOptions = {}) {
    this.random = new SeededRandom(options.seed ?? 1);
  }

  endpoint(id: NodeId): StateFrameChannel {
    return {
      send: (to, frame) => this.send(id, to, frame),
      onFrame: (handler) => void this.handlers.set(id, handler),
    };
  }

  /** Hands `bytes` to `to`'s handler at once (a throw would surface here). */
  deliverNow(from: NodeId, to: NodeId, bytes: Uint8Array): void {
    this.handlers.get(to)?.(from, bytes);
  }

  framesTo(to: NodeId, t: string): SentFrame[] {
    return this.sent.filter((f) => f.to === to && f.frame?.t === t);
  }

  framesFrom(from: NodeId, t?: string): SentFrame[] {
    return this.sent.filter((f) => f.from === from && (t === undefined || f.frame?.t === t));
  }

  private send(from: NodeId, to: NodeId, frame: Uint8Array): void {
    const bytes = Uint8Array.from(frame); // the sender's buffer may be reused
    let decoded: Record<string, unknown> | null;
    try {
      decoded = decodeValue(bytes) as Record<string, unknown>;
    } catch {
      decoded = null;
    }
    const sent = { from, to, frame: decoded };
    this.sent.push(sent);
    if (this.drop?.(sent)) return;
    if (this.random.nextFloat() < (this.options.loss ?? 0)) return;
    const copies = this.random.nextFloat() < (this.options.dup ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let hops = this.random.nextInt((this.options.maxHops ?? 0) + 1);
      const step = (): void => {
        if (hops-- > 0) return void setImmediate(step);
        this.handlers.get(to)?.(from, bytes);
      };
      setImmediate(step);
    }
  }
}

// ---- a state on disk: a Map of keys, chunked deterministically ----

interface ChunkBody {
  seq: number;
  entries: [string, string][];
}

interface InstallRecord {
  writes: number;
  outcome: 'open' | 'committed' | 'aborted';
}

class FakeDisk implements StateOnDisk {
  data = new Map<string, string>();
  seq = 0;
  viewsOpened = 0;
  viewsOpen = 0;
  /** Broken promises of the interfaces: two calls at once on a view or an install, use after close. */
  readonly violations: string[] = [];
  readonly installs: InstallRecord[] = [];
  /** This chunk of every view is garbage (the sink's install rejects it). */
  corruptChunk: number | null = null;
  /** Views yield no chunk at all (an application bug the source must survive). */
  emptyViews = false;
  afterOpenView: (() => void) | null = null;

  constructor(entries: number, seq: number, tag = 'v') {
    for (let i = 0; i < entries; i++) this.data.set(`k${String(i).padStart(4, '0')}`, `${tag}-${i}-${'x'.repeat(i % 7)}`);
    this.seq = seq;
  }

  appliedSeq(): number {
    return this.seq;
  }

  async openView(chunkBytes: number): Promise<StateView> {
    await immediate();
    // The view's snapshot: what the map held at open time, whatever happens to it later.
    const seq = this.seq;
    const entries = [...this.data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const chunks: Uint8Array[] = [];
    let slice: [string, string][] = [];
    let size = 0;
    const flush = (): void => {
      chunks.push(Uint8Array.from(encodeValue({ seq, entries: slice } satisfies ChunkBody)));
      slice = [];
      size = 0;
    };
    for (const e of entries) {
      slice.push(e);
      size += e[0].length + e[1].length;
      if (size >= chunkBytes) flush();
    }
    if (slice.length > 0 || chunks.length === 0) flush(); // an empty state is still one chunk
    this.viewsOpened++;
    this.viewsOpen++;
    this.afterOpenView?.();
    let i = 0;
    let reading = false;
    let closed = false;
    const { violations } = this;
    const isEmpty = (): boolean => this.emptyViews;
    const corrupt = (): number | null => this.corruptChunk;
    const opened = { close: (): void => void this.viewsOpen-- };
    return {
      seq,
      async next() {
        if (closed) violations.push('next after close');
        if (reading) violations.push('two next() in flight');
        reading = true;
        await immediate();
        reading = false;
        if (isEmpty() || i >= chunks.length) return null;
        const n = i++;
        return n === corrupt() ? Uint8Array.of(0xc1, 0xc1, 0xc1) : chunks[n]!;
      },
      async close() {
        if (reading) violations.push('close with next() in flight');
        if (!closed) {
          closed = true;
          opened.close();
        }
      },
    };
  }

  beginInstall(): StateInstall {
    const record: InstallRecord = { writes: 0, outcome: 'open' };
    this.installs.push(record);
    const staged = new Map<string, string>();
    let stagedSeq: number | null = null;
    let busy = false;
    const enter = (what: string): void => {
      if (busy) this.violations.push(`install ${what} while another call is in flight`);
      busy = true;
    };
    return {
      write: async (chunk) => {
        enter('write');
        try {
          if (record.outcome !== 'open') this.violations.push(`write after ${record.outcome}`);
          await immediate();
          const body = decodeValue(chunk) as ChunkBody; // garbage throws CodecError
          if (typeof body !== 'object' || body === null || !Array.isArray(body.entries)) throw new Error('not a chunk');
          if (stagedSeq !== null && body.seq !== stagedSeq) throw new Error('chunk of another seq');
          stagedSeq = body.seq;
          for (const [k, v] of body.entries) staged.set(k, v);
          record.writes++;
        } finally {
          busy = false;
        }
      },
      commit: async (minSeq) => {
        enter('commit');
        try {
          await immediate();
          if (record.outcome !== 'open') throw new Error(`commit after ${record.outcome}`);
          if (stagedSeq === null || stagedSeq < minSeq) throw new Error(`staged seq ${stagedSeq} below ${minSeq}`);
          this.data = staged;
          this.seq = stagedSeq;
          record.outcome = 'committed';
          return stagedSeq;
        } finally {
          busy = false;
        }
      },
      abort: async () => {
        if (busy) this.violations.push('abort while a call is in flight');
        if (record.outcome === 'open') record.outcome = 'aborted';
      },
    };
  }
}

/** Counts the live timers a node holds on the shared clock. */
class CountingClock implements Clock {
  active = 0;
  constructor(private readonly inner: ManualClock) {}
  setInterval(callback: () => void, intervalMs: number): ClockTimer {
    const t = this.inner.setInterval(callback, intervalMs);
    this.active++;
    let live = true;
    return {
      cancel: () => {
        if (live) this.active--;
        live = false;
        t.cancel();
      },
    };
  }
}

interface TestNode {
  id: NodeId;
  st: StateTransfer;
  disk: FakeDisk;
  clock: CountingClock;
  logs: string[];
}

class World {
  readonly clock = new ManualClock();
  readonly net: MemoryFrameNet;
  readonly nodes = new Map<NodeId, TestNode>();

  constructor(net: NetOptions = {}) {
    this.net = new MemoryFrameNet(net);
  }

  add(id: NodeId, disk: FakeDisk, options: Partial<StateTransferOptions> = {}): TestNode {
    const clock = new CountingClock(this.clock);
    const logs: string[] = [];
    let k = 0;
    const st = new StateTransfer({
      ...BASE,
      self: id,
      channel: this.net.endpoint(id),
      state: disk,
      clock,
      newId: () => `${id}-${++k}`,
      log: (m) => logs.push(m),
      ...options,
    });
    const node = { id, st, disk, clock, logs };
    this.nodes.set(id, node);
    return node;
  }

  /** Runs the event loop and the clock (one tick per few turns) until `done()`, within `maxMs` of clock. */
  async until(what: string, done: () => boolean, maxMs = 60_000): Promise<void> {
    const deadline = this.clock.now + maxMs;
    for (;;) {
      for (let i = 0; i < 6; i++) {
        if (done()) return;
        await immediate();
      }
      if (done()) return;
      if (this.clock.now >= deadline) throw new Error(`timed out waiting for ${what}`);
      this.clock.advance(TICK_MS);
    }
  }

  async run<T>(p: Promise<T>, maxMs = 60_000): Promise<T> {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await this.until('the promise', () => settled, maxMs);
    return p;
  }

  async elapse(ms: number): Promise<void> {
    const target = this.clock.now + ms;
    await this.until(`${ms} ms`, () => this.clock.now >= target, ms + TICK_MS);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.st.close()));
  }
}

function expectSameState(sink: FakeDisk, source: { data: Map<string, string>; seq: number }): void {
  expect(sink.seq).to.equal(source.seq);
  expect([...sink.data.entries()].sort()).to.deep.equal([...source.data.entries()].sort());
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('two-tier state transfer', () => {
  it('transfers a multi-chunk state cleanly, and the source closes its view', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(200, 500));
    const s = w.add('s', new FakeDisk(3, 7, 'old'));
    const seq = await w.run(s.st.fetch(400, () => ['a']));
    expect(seq).to.equal(500);
    expectSameState(s.disk, a.disk);
    expect(w.net.framesFrom('a', 'chunk').length).to.be.greaterThan(20); // multi-chunk, one frame per chunk
    expect(a.disk.viewsOpened).to.equal(1);
    await w.elapse(TICK_MS); // the close frame on its way
    expect(a.disk.viewsOpen).to.equal(0);
    expect(s.disk.installs.map((i) => i.outcome)).to.deep.equal(['committed']);
    expect([...a.disk.violations, ...s.disk.violations]).to.deep.equal([]);
    // Nothing pending: both nodes dropped their timer (it is started lazily).
    await w.elapse(2 * TICK_MS);
    expect(a.clock.active + s.clock.active).to.equal(0);
    await w.closeAll();
  });

  it('cuts chunks bigger than a frame into pieces and joins them again, under loss and duplication', async () => {
    const w = new World({ seed: 7, loss: 0.1, dup: 0.1, maxHops: 3 });
    const big = new FakeDisk(30, 90, 'big');
    // One entry of 5,000 bytes: its chunk is ~80 pieces of 64 bytes, sent in frames of <= 4096 + 65.
    big.data.set('k-huge', 'h'.repeat(5000));
    const a = w.add('a', big, { pieceBytes: 64 });
    const s = w.add('s', new FakeDisk(2, 1, 'old'), { pieceBytes: 64 });
    expect(await w.run(s.st.fetch(90, () => ['a']))).to.equal(90);
    expectSameState(s.disk, a.disk);
    const chunks = w.net.framesFrom('a', 'chunk').map((f) => f.frame!.data as Uint8Array);
    expect(Math.max(...chunks.map((d) => d.byteLength))).to.equal(65);
    // The install saw whole chunks only: as many writes as the view has chunks, each decoded.
    expect(s.disk.installs.at(-1)!.writes).to.be.lessThan(chunks.length / 10);
    expect([...a.disk.violations, ...s.disk.violations]).to.deep.equal([]);
    await w.closeAll();
  });

  it('gives up a peer whose frames are not pieces, or whose pieces end before the last chunk does', async () => {
    const w = new World();
    const b = w.add('b', new FakeDisk(20, 41, 'b'));
    const s = w.add('s', new FakeDisk(0, 0));
    const body = encodeValue({ seq: 40, entries: [['bad', 'bad']] });
    for (const [name, header] of [['odd', 7], ['short', 0]] as const) {
      const peer = w.net.endpoint(name);
      peer.onFrame((from, bytes) => {
        const f = decodeValue(bytes) as { t: string; id: string };
        if (f.t === 'open') peer.send(from, encodeValue({ t: 'chunk', id: f.id, n: 0, data: Uint8Array.of(header, ...body), last: true, seq: 40 }));
      });
    }
    expect(await w.run(s.st.fetch(30, () => ['odd', 'short', 'b']))).to.equal(41);
    expectSameState(s.disk, b.disk);
    expect(s.logs.some((l) => l.includes('peer odd') && l.includes('not a piece (header 7)'))).to.equal(true);
    expect(s.logs.some((l) => l.includes('peer short') && l.includes('the last chunk is incomplete'))).to.equal(true);
    expect(s.disk.installs.map((i) => [i.outcome, i.writes])).to.deep.equal([
      ['aborted', 0],
      ['aborted', 0],
      ['committed', s.disk.installs[2]!.writes],
    ]);
    await w.closeAll();
  });

  it('takes its piece size from the channel and refuses a piece size that does not fit it', () => {
    const clock = new ManualClock();
    const channel: StateFrameChannel = { maxFrameBytes: 4096 + 100, send: () => {}, onFrame: () => {} };
    const options = { ...BASE, self: 'x', channel, state: new FakeDisk(0, 0), clock };
    expect(() => new StateTransfer({ ...options, pieceBytes: 101 })).to.throw(TypeError, /does not fit a frame of 4196/);
    expect(() => new StateTransfer({ ...options, channel: { ...channel, maxFrameBytes: 10 } })).to.throw(TypeError, /maxFrameBytes/);
    expect(() => new StateTransfer({ ...options, pieceBytes: 100 })).not.to.throw();
  });

  it('transfers an empty state (one chunk)', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(0, 3));
    const s = w.add('s', new FakeDisk(5, 1));
    expect(await w.run(s.st.fetch(3, () => ['a']))).to.equal(3);
    expectSameState(s.disk, a.disk);
    await w.closeAll();
  });

  it('completes correctly under loss, duplication and reordering, and leaks no view', async function () {
    let restarts = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const w = new World({ seed, loss: 0.25, dup: 0.25, maxHops: 3 });
      const a = w.add('a', new FakeDisk(120, 900 + seed));
      const b = w.add('b', new FakeDisk(120, 900 + seed));
      const s = w.add('s', new FakeDisk(0, 0));
      const seq = await w.run(s.st.fetch(900, () => ['a', 'b']), 600_000);
      expect(seq, `seed ${seed}`).to.equal(900 + seed);
      expectSameState(s.disk, a.disk);
      // Every install but the committed one was aborted.
      const outcomes = s.disk.installs.map((i) => i.outcome);
      expect(outcomes.filter((o) => o === 'committed'), `seed ${seed}`).to.have.length(1);
      expect(outcomes.at(-1)).to.equal('committed');
      expect(outcomes.filter((o) => o === 'open'), `seed ${seed}`).to.have.length(0);
      restarts += outcomes.length - 1;
      // A lost close is at worst the view's idle timeout.
      await w.elapse(BASE.viewIdleTimeoutMs! + 5 * TICK_MS);
      expect(a.disk.viewsOpen + b.disk.viewsOpen, `seed ${seed}`).to.equal(0);
      expect([...a.disk.violations, ...b.disk.violations, ...s.disk.violations], `seed ${seed}`).to.deep.equal([]);
      await w.closeAll();
    }
    // These seeds lose enough for some attempts to give their peer up and start over.
    expect(restarts).to.be.greaterThan(0);
  });

  it('transfers the view as it was opened, not the state changed after', async () => {
    const w = new World({ seed: 3, maxHops: 2 });
    const a = w.add('a', new FakeDisk(100, 50));
    const s = w.add('s', new FakeDisk(0, 0));
    const before = { data: new Map(a.disk.data), seq: a.disk.seq };
    a.disk.afterOpenView = () => {
      a.disk.data.delete('k0000');
      a.disk.data.set('k0050', 'changed');
      a.disk.data.set('zzz', 'new');
      a.disk.seq = 60;
    };
    expect(await w.run(s.st.fetch(40, () => ['a']))).to.equal(50);
    expectSameState(s.disk, before);
    expect(s.disk.data.get('k0050')).to.not.equal('changed');
    await w.closeAll();
  });

  it('skips a peer that is behind for the next one', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(10, 5, 'a'));
    const b = w.add('b', new FakeDisk(30, 20, 'b'));
    const s = w.add('s', new FakeDisk(0, 0));
    expect(await w.run(s.st.fetch(10, () => ['a', 'b']))).to.equal(20);
    expectSameState(s.disk, b.disk);
    expect(a.disk.viewsOpened).to.equal(0);
    expect(w.net.framesFrom('a').map((f) => f.frame)).to.deep.equal([{ t: 'refused', id: 's-1', reason: 'behind' }]);
    expect(s.logs.some((l) => l.includes('peer a') && l.includes('behind'))).to.equal(true);
    await w.closeAll();
  });

  it('gives a silent peer up after its retries and uses the next one', async () => {
    const w = new World();
    w.add('a', new FakeDisk(10, 50, 'a'));
    const b = w.add('b', new FakeDisk(30, 50, 'b'));
    const s = w.add('s', new FakeDisk(0, 0));
    w.net.drop = (f) => f.to === 'a' || f.from === 'a';
    const start = w.clock.now;
    expect(await w.run(s.st.fetch(10, () => ['a', 'b']))).to.equal(50);
    expectSameState(s.disk, b.disk);
    const opens = w.net.framesTo('a', 'open');
    expect(opens).to.have.length(1 + BASE.requestRetries!); // the open and its resends, one id
    expect(new Set(opens.map((f) => f.frame!.id)).size).to.equal(1);
    expect(w.net.framesTo('a', 'close')).to.have.length(1);
    expect(w.clock.now - start).to.be.at.least((1 + BASE.requestRetries!) * BASE.requestTimeoutMs!);
    expect(s.logs.some((l) => l.includes('peer a') && l.includes('no answer'))).to.equal(true);
    expect(s.disk.installs.map((i) => i.outcome)).to.deep.equal(['aborted', 'committed']);
    await w.closeAll();
  });

  it('keeps retrying while no peer can serve, and succeeds once one catches up', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(10, 5, 'a'));
    w.add('b', new FakeDisk(10, 50, 'b'));
    const s = w.add('s', new FakeDisk(0, 0));
    w.net.drop = (f) => f.to === 'b' || f.from === 'b';
    let calls = 0;
    let failed: unknown = null;
    const fetching = s.st.fetch(10, () => {
      calls++;
      return ['s', 'a', 'b']; // itself is skipped
    });
    fetching.catch((e: unknown) => (failed = e));
    await w.until('three rounds', () => w.net.framesTo('a', 'open').length >= 3);
    expect(failed).to.equal(null);
    expect(calls).to.be.greaterThan(3);
    expect(w.net.framesTo('s', 'open')).to.have.length(0);
    a.disk.data.set('caught', 'up');
    a.disk.seq = 12;
    expect(await w.run(fetching)).to.equal(12);
    expectSameState(s.disk, a.disk);
    await w.closeAll();
  });

  it('waits out an empty peer list', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(10, 20, 'a'));
    const s = w.add('s', new FakeDisk(0, 0));
    let list: NodeId[] = [];
    const fetching = s.st.fetch(10, () => list);
    await w.elapse(5 * BASE.retryPauseMs!);
    expect(w.net.sent).to.have.length(0);
    list = ['a'];
    expect(await w.run(fetching)).to.equal(20);
    expectSameState(s.disk, a.disk);
    await w.closeAll();
  });

  it('refuses a view past maxViews with busy, serves a resent open from its view, and the sink gets through later', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(50, 30), { maxViews: 2 });
    const replies = new Map<NodeId, Record<string, unknown>[]>();
    const raw = (id: NodeId): StateFrameChannel => {
      const ch = w.net.endpoint(id);
      replies.set(id, []);
      ch.onFrame((_from, bytes) => replies.get(id)!.push(decodeValue(bytes) as Record<string, unknown>));
      return ch;
    };
    const x1 = raw('x1');
    const x2 = raw('x2');
    const x3 = raw('x3');
    x1.send('a', encodeValue({ t: 'open', id: 'v1', minSeq: 0 }));
    x2.send('a', encodeValue({ t: 'open', id: 'v2', minSeq: 0 }));
    await w.until('two views', () => replies.get('x1')!.length === 1 && replies.get('x2')!.length === 1);
    x3.send('a', encodeValue({ t: 'open', id: 'v3', minSeq: 0 }));
    await w.until('refusal', () => replies.get('x3')!.length === 1);
    expect(replies.get('x3')).to.deep.equal([{ t: 'refused', id: 'v3', reason: 'busy' }]);
    expect(replies.get('x1')![0]).to.include({ t: 'chunk', id: 'v1', n: 0, last: false, seq: 30 });
    // A resent open gets chunk 0 again from the same view; another peer cannot drive it.
    x1.send('a', encodeValue({ t: 'open', id: 'v1', minSeq: 0 }));
    x3.send('a', encodeValue({ t: 'next', id: 'v1', n: 1 }));
    x3.send('a', encodeValue({ t: 'open', id: 'v1', minSeq: 0 }));
    await w.until('resent chunk 0', () => replies.get('x1')!.length === 2);
    await w.elapse(3 * TICK_MS);
    expect(replies.get('x1')![1]).to.deep.equal(replies.get('x1')![0]);
    expect(replies.get('x3')).to.have.length(1);
    expect(a.disk.viewsOpened).to.equal(2);
    expect(a.disk.viewsOpen).to.equal(2);
    // A next for a view it does not hold: 'unknown'.
    x3.send('a', encodeValue({ t: 'next', id: 'nope', n: 3 }));
    await w.until('unknown', () => replies.get('x3')!.length === 2);
    expect(replies.get('x3')![1]).to.deep.equal({ t: 'refused', id: 'nope', reason: 'unknown' });

    // The raw peers never ask again: their views idle out, and the sink, refused meanwhile, gets through.
    const s = w.add('s', new FakeDisk(0, 0));
    expect(await w.run(s.st.fetch(10, () => ['a']))).to.equal(30);
    expectSameState(s.disk, a.disk);
    expect(s.logs.some((l) => l.includes('peer a') && l.includes('busy'))).to.equal(true);
    expect(a.logs.filter((l) => l.includes('idle'))).to.have.length(2);
    await w.elapse(TICK_MS);
    expect(a.disk.viewsOpen).to.equal(0);
    await w.closeAll();
  });

  it('close() during a fetch rejects it with ERR_STOPPED and leaves the live state alone', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(200, 70));
    const s = w.add('s', new FakeDisk(4, 9, 'live'));
    const live = { data: new Map(s.disk.data), seq: s.disk.seq };
    const fetching = s.st.fetch(50, () => ['a']);
    let failed: unknown = null;
    fetching.catch((e: unknown) => (failed = e));
    await w.until('a few chunks', () => (s.disk.installs[0]?.writes ?? 0) >= 3);
    await s.st.close();
    const e = await rejection(fetching);
    expect(e).to.equal(failed);
    expect(e).to.be.instanceOf(StateTransferError);
    expect((e as StateTransferError).code).to.equal('ERR_STOPPED');
    expect(s.disk.installs.map((i) => i.outcome)).to.deep.equal(['aborted']);
    expectSameState(s.disk, live);
    expect(s.clock.active).to.equal(0);
    // A closed transfer fetches nothing more, and its source end closed its views.
    expect(((await rejection(s.st.fetch(50, () => ['a']))) as StateTransferError).code).to.equal('ERR_STOPPED');
    expect(a.disk.viewsOpen).to.equal(1); // the source still holds the view the sink abandoned...
    await a.st.close(); // ...until it closes
    expect(a.disk.viewsOpen).to.equal(0);
    expect(a.clock.active).to.equal(0);
    expect([...a.disk.violations, ...s.disk.violations]).to.deep.equal([]);
  });

  it('close() with the timer idle, and twice', async () => {
    const w = new World();
    const s = w.add('s', new FakeDisk(1, 1));
    await s.st.close();
    await s.st.close();
    expect(s.clock.active).to.equal(0);
  });

  it('gives up a peer whose chunk the install rejects, and succeeds from another', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(60, 40, 'a'));
    a.disk.corruptChunk = 1;
    const b = w.add('b', new FakeDisk(60, 41, 'b'));
    const s = w.add('s', new FakeDisk(0, 0));
    expect(await w.run(s.st.fetch(30, () => ['a', 'b']))).to.equal(41);
    expectSameState(s.disk, b.disk);
    expect(s.logs.some((l) => l.includes('peer a') && l.includes('chunk 1'))).to.equal(true);
    expect(s.disk.installs.map((i) => [i.outcome, i.writes])).to.deep.equal([
      ['aborted', 1],
      ['committed', s.disk.installs[1]!.writes],
    ]);
    await w.elapse(2 * TICK_MS);
    expect(a.disk.viewsOpen).to.equal(0); // told to close
    await w.closeAll();
  });

  it('gives up a peer whose chunks change seq mid-transfer', async () => {
    const w = new World();
    const b = w.add('b', new FakeDisk(20, 41, 'b'));
    const s = w.add('s', new FakeDisk(0, 0));
    const evil = w.net.endpoint('evil');
    evil.onFrame((from, bytes) => {
      const f = decodeValue(bytes) as { t: string; id: string; n?: number };
      // One whole chunk per piece: header byte 1 (the last piece of its chunk), then the chunk.
      const chunk = Uint8Array.of(1, ...encodeValue({ seq: 40, entries: [['bad', 'bad']] }));
      if (f.t === 'open') evil.send(from, encodeValue({ t: 'chunk', id: f.id, n: 0, data: chunk, last: false, seq: 40 }));
      if (f.t === 'next') evil.send(from, encodeValue({ t: 'chunk', id: f.id, n: f.n, data: chunk, last: true, seq: 45 }));
    });
    expect(await w.run(s.st.fetch(30, () => ['evil', 'b']))).to.equal(41);
    expectSameState(s.disk, b.disk);
    expect(s.logs.some((l) => l.includes('peer evil') && l.includes('seq 45'))).to.equal(true);
    expect(s.disk.installs.map((i) => i.outcome)).to.deep.equal(['aborted', 'committed']);
    await w.closeAll();
  });

  it('refuses unknown when a view yields no chunk, closing the view', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(5, 40, 'a'));
    a.disk.emptyViews = true;
    const b = w.add('b', new FakeDisk(5, 40, 'b'));
    const s = w.add('s', new FakeDisk(0, 0));
    expect(await w.run(s.st.fetch(30, () => ['a', 'b']))).to.equal(40);
    expectSameState(s.disk, b.disk);
    expect(w.net.framesFrom('a').map((f) => f.frame)).to.deep.equal([{ t: 'refused', id: 's-1', reason: 'unknown' }]);
    expect(a.disk.viewsOpened).to.equal(1);
    expect(a.disk.viewsOpen).to.equal(0);
    await w.closeAll();
  });

  it('ignores garbage frames on both ends', async () => {
    const w = new World({ seed: 5, maxHops: 1 });
    const a = w.add('a', new FakeDisk(80, 33));
    const s = w.add('s', new FakeDisk(0, 0));
    const rnd = new SeededRandom(99);
    const garbage: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(0xc1),
      ...[null, 42, 'open', [], {}, [{ t: 'open', id: 'g', minSeq: 0 }]].map((v) => encodeValue(v)),
      ...[
        { t: 'open' },
        { t: 'open', id: 5, minSeq: 0 },
        { t: 'open', id: '', minSeq: 0 },
        { t: 'open', id: 'g', minSeq: -1 },
        { t: 'open', id: 'x'.repeat(1000), minSeq: 0 },
        { t: 'next', id: 'g', n: 1.5 },
        { t: 'next', id: 'g', n: '1' },
        { t: 'chunk', id: 's-1', n: 0, data: 'not bytes', last: true, seq: 33 },
        { t: 'chunk', id: 's-1', n: 0, data: new Uint8Array(1), last: 'yes', seq: 33 },
        { t: 'refused', id: 's-1', reason: 'tired' },
        { t: 'wat', id: 's-1' },
      ].map((v) => encodeValue(v)),
    ];
    for (let i = 0; i < 50; i++) {
      const b = new Uint8Array(1 + rnd.nextInt(40));
      for (let j = 0; j < b.length; j++) b[j] = rnd.nextInt(256);
      garbage.push(b);
    }
    const spray = (): void => {
      for (const g of garbage) {
        for (const to of ['a', 's']) expect(() => w.net.deliverNow('x', to, g)).to.not.throw();
        expect(() => w.net.deliverNow('a', 's', g)).to.not.throw();
      }
    };
    spray();
    await w.elapse(5 * TICK_MS);
    expect(w.net.sent).to.have.length(0); // nothing answered
    expect(a.disk.viewsOpened).to.equal(0);

    const fetching = s.st.fetch(20, () => ['a']);
    await w.until('transfer under way', () => (s.disk.installs[0]?.writes ?? 0) >= 2);
    spray();
    // Well-formed but forged: the chunk awaited, from someone who is not the peer asked.
    w.net.deliverNow('mallory', 's', encodeValue({ t: 'chunk', id: 's-1', n: s.disk.installs[0]!.writes, data: encodeValue({ seq: 99, entries: [['evil', 'x']] }), last: true, seq: 99 }));
    w.net.deliverNow('mallory', 's', encodeValue({ t: 'refused', id: 's-1', reason: 'busy' }));
    w.net.deliverNow('mallory', 'a', encodeValue({ t: 'close', id: 's-1' }));
    expect(await w.run(fetching)).to.equal(33);
    expectSameState(s.disk, a.disk);
    expect(s.disk.installs).to.have.length(1);
    expect(s.logs).to.deep.equal([]);
    await w.closeAll();
  });

  it('resolves at once when already at minSeq; rejects a concurrent fetch', async () => {
    const w = new World();
    const a = w.add('a', new FakeDisk(10, 20));
    const s = w.add('s', new FakeDisk(2, 15));
    expect(await s.st.fetch(15, () => ['a'])).to.equal(15);
    expect(w.net.sent).to.have.length(0);
    expect(s.disk.installs).to.have.length(0);
    const first = s.st.fetch(18, () => ['a']);
    const second = await rejection(s.st.fetch(18, () => ['a']));
    expect(second).to.be.instanceOf(TypeError);
    expect(await w.run(first)).to.equal(20);
    expectSameState(s.disk, a.disk);
    await w.closeAll();
  });
});
