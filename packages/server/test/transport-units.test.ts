import { expect } from 'chai';
import fc from 'fast-check';
import { SeededRandom } from '@adrestia/consensus';
import { isServerError } from '../src/errors.ts';
import { backoffDelayMs } from '../src/transport/backoff.ts';
import { encodeFrame, FrameDecoder } from '../src/transport/frame.ts';
import { BoundedQueue } from '../src/transport/bounded-queue.ts';
import { decodeEnvelope, encodeEnvelope } from '../src/transport/envelope.ts';
import { PeerPins } from '../src/transport/peer-pins.ts';

describe('transport framing (u32 BE length prefix)', function () {
  it('reassembles frames split at any byte boundary', function () {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1 }), (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((p) => encodeFrame(p, 1024)));
        const dec = new FrameDecoder(1024);
        const out: Buffer[] = [];
        let pos = 0;
        let i = 0;
        while (pos < stream.length) {
          const n = cuts[i++ % cuts.length] as number;
          out.push(...dec.push(stream.subarray(pos, pos + n)));
          pos += n;
        }
        expect(out.map((b) => [...b])).to.deep.equal(payloads.map((p) => [...p]));
        expect(dec.bufferedBytes).to.equal(0);
      }),
    );
  });

  it('refuses an oversize length before buffering the payload', function () {
    const dec = new FrameDecoder(16);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(17, 0);
    expect(() => dec.push(header)).to.throw().that.satisfies((e: unknown) => isServerError(e, 'ERR_TRANSPORT_FRAME_TOO_LARGE'));
    expect(() => encodeFrame(new Uint8Array(17), 16)).to.throw().that.satisfies((e: unknown) => isServerError(e, 'ERR_TRANSPORT_FRAME_TOO_LARGE'));
  });

  it('envelopes round-trip {group, message} and reject other shapes', function () {
    const env = { group: 'global', message: new Uint8Array([1, 2, 3]) };
    const back = decodeEnvelope(encodeEnvelope(env));
    expect(back?.group).to.equal('global');
    expect([...(back?.message ?? [])]).to.deep.equal([1, 2, 3]);
    expect(decodeEnvelope(Buffer.from([0xc1]))).to.equal(undefined);
    expect(decodeEnvelope(encodeEnvelope({ group: '', message: new Uint8Array() }))).to.equal(undefined);
  });
});

describe('bounded outbound queue (drop oldest)', function () {
  it('keeps the newest items within the item and byte bounds', function () {
    const q = new BoundedQueue<Buffer>(3, 100);
    let dropped = 0;
    for (let i = 0; i < 5; i++) dropped += q.push(Buffer.from([i]));
    expect(dropped).to.equal(2);
    expect([q.shift()?.[0], q.shift()?.[0], q.shift()?.[0], q.shift()]).to.deep.equal([2, 3, 4, undefined]);
    const b = new BoundedQueue<Buffer>(100, 10);
    b.push(Buffer.alloc(6));
    expect(b.push(Buffer.alloc(6))).to.equal(1);
    expect(b.byteLength).to.equal(6);
  });
});

describe('reconnect backoff (exponential, equal jitter)', function () {
  it('stays within [cap/2, cap] with cap = min(max, initial·2^attempt)', function () {
    const random = new SeededRandom(42);
    const options = { initialDelayMs: 50, maxDelayMs: 5000 };
    for (let attempt = 0; attempt < 40; attempt++) {
      const cap = Math.min(5000, 50 * 2 ** attempt);
      const d = backoffDelayMs(attempt, options, random);
      expect(d).to.be.within(cap - Math.floor(cap / 2), cap);
    }
  });

  it('replays from the seed', function () {
    const opts = { initialDelayMs: 10, maxDelayMs: 1000 };
    const run = (): number[] => {
      const r = new SeededRandom(3);
      return [0, 1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, opts, r));
    };
    expect(run()).to.deep.equal(run());
  });
});

describe('peer pins (the registered TLS certificate of each node)', function () {
  const [self, peer, removed, stranger] = ['self', 'peer', 'removed', 'stranger'];
  const refusedCode = (f: () => void): string | undefined => {
    try {
      f();
      return undefined;
    } catch (err) {
      return isServerError(err) ? err.code : 'not a ServerError';
    }
  };

  it('once this node applied its own registration: only the registered certificate, for mesh and peer endpoint alike', function () {
    const pins = new PeerPins(self);
    pins.update(new Map([[self, 'aa'], [peer, 'bb']]), new Set([removed]));
    expect(pins.knowsItself).to.equal(true);
    for (const check of [pins.requirePinned.bind(pins), pins.admitMeshPeer.bind(pins)]) {
      expect(refusedCode(() => check(peer, 'bb'))).to.equal(undefined);
      expect(refusedCode(() => check(peer, 'cc')), 'another certificate').to.equal('ERR_TRANSPORT_PEER_REFUSED');
      expect(refusedCode(() => check(stranger, 'dd')), 'unregistered id').to.equal('ERR_TRANSPORT_PEER_REFUSED');
      expect(refusedCode(() => check(removed, 'ee')), 'withdrawn id').to.equal('ERR_TRANSPORT_PEER_REFUSED');
    }
  });

  it('before it: the mesh admits a peer it does not know yet, but pins one it knows and refuses a withdrawn one; the peer endpoint stays strict', function () {
    const pins = new PeerPins(self);
    pins.update(new Map([[peer, 'bb']]), new Set([removed]));
    expect(pins.knowsItself).to.equal(false);
    expect(refusedCode(() => pins.admitMeshPeer(stranger, 'dd'))).to.equal(undefined);
    expect(refusedCode(() => pins.admitMeshPeer(peer, 'cc'))).to.equal('ERR_TRANSPORT_PEER_REFUSED');
    expect(refusedCode(() => pins.admitMeshPeer(removed, 'ee'))).to.equal('ERR_TRANSPORT_PEER_REFUSED');
    expect(refusedCode(() => pins.requirePinned(stranger, 'dd'))).to.equal('ERR_TRANSPORT_PEER_REFUSED');
  });

  it('a node that was itself removed does not fall back to admitting strangers', function () {
    const pins = new PeerPins(self);
    pins.update(new Map([[peer, 'bb']]), new Set([self]));
    expect(pins.knowsItself).to.equal(true);
    expect(refusedCode(() => pins.admitMeshPeer(stranger, 'dd'))).to.equal('ERR_TRANSPORT_PEER_REFUSED');
  });
});
