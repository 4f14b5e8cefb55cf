// State transfer between the nodes of one AZ, for an application that keeps its state on disk.
//
// Its Raft snapshots are then only descriptors ({seq}); a follower whose state is behind one
// fetches the state itself from a peer, in chunks read from one consistent view on the peer
// (a LevelDB iterator over a snapshot), so neither side ever holds the whole state in memory —
// etcd v3's snapshot streaming, or the chunks of the Raft paper §7 pulled instead of pushed.
//
// The sink drives: it asks for chunk n and so acknowledges chunk n-1; every request is resent
// after a silence, so the protocol survives lost, duplicated and reordered frames. The source
// keeps one chunk read ahead, to tell the sink which chunk is the last. Every node runs both ends.
//
// An application chunk holds whole entries, so one entry larger than a frame (a complete CRL of a
// big issuer) would make a chunk no channel carries: every chunk goes out as pieces of at most
// `pieceBytes`, each with a one-byte header (PIECE_MORE / PIECE_LAST), and the sink joins the pieces
// of a chunk before its install sees it. Frames count pieces, not chunks.
import { randomUUID } from 'node:crypto';
import type { Clock, ClockTimer } from '../clock.ts';
import { decodeValue, encodeValue } from '../codec.ts';
import type { NodeId } from '../types.ts';

/** Frames between the nodes of one AZ. May lose, duplicate, reorder frames. */
export interface StateFrameChannel {
  /** The largest frame the channel carries, if it has a limit (pieces are cut to fit under it). */
  readonly maxFrameBytes?: number;
  send(to: NodeId, frame: Uint8Array): void;
  onFrame(handler: (from: NodeId, frame: Uint8Array) => void): void;
}

/** One consistent read of the application's state, taken when opened. */
export interface StateView {
  /** The `seq` (application command counter) of the last command the view holds. */
  readonly seq: number;
  /** The next chunk, or null after the last one. */
  next(): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

/** Installing a state received in chunks: staged aside, the live state changes only at commit. */
export interface StateInstall {
  /** Stages one chunk (in order from 0). Throws on a malformed chunk (the transfer then restarts). */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the staged state the state and returns its seq; throws (and changes nothing) if it is below minSeq. */
  commit(minSeq: number): Promise<number>;
  /** Drops what was staged. Safe to call more than once / after commit. */
  abort(): Promise<void>;
}

export interface StateOnDisk {
  /** seq of the last command the live state holds. */
  appliedSeq(): number;
  openView(chunkBytes: number): Promise<StateView>;
  beginInstall(): StateInstall;
}

export interface StateTransferOptions {
  self: NodeId;
  channel: StateFrameChannel;
  state: StateOnDisk;
  clock: Clock;
  /** Timer granularity: one interval timer of this period drives every timeout. */
  tickMs: number;
  chunkBytes?: number; // default 256 * 1024
  /** Largest piece of a chunk in one frame; default channel.maxFrameBytes − FRAME_OVERHEAD_BYTES, or 1 MiB. */
  pieceBytes?: number;
  requestTimeoutMs?: number; // default 2000: no answer that long → resend the request
  requestRetries?: number; // default 3: that many unanswered resends → give that peer up, try the next
  retryPauseMs?: number; // default 1000: pause after every peer in the list failed, before starting over
  viewIdleTimeoutMs?: number; // default 30000: the source closes a view nobody asked a chunk of for that long
  maxViews?: number; // default 2: views the source holds open at once; more → refused 'busy'
  newId?: () => string;
  log?: (message: string) => void;
}

export type StateTransferErrorCode = 'ERR_STOPPED';

export class StateTransferError extends Error {
  constructor(
    readonly code: StateTransferErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'StateTransferError';
  }
}

// ---- wire frames ----

type RefuseReason = 'behind' | 'busy' | 'unknown';

type Frame =
  | { t: 'open'; id: string; minSeq: number }
  | { t: 'next'; id: string; n: number }
  | { t: 'close'; id: string }
  | { t: 'chunk'; id: string; n: number; data: Uint8Array; last: boolean; seq: number }
  | { t: 'refused'; id: string; reason: RefuseReason };

const REFUSE_REASONS: ReadonlySet<string> = new Set(['behind', 'busy', 'unknown']);

/** Ids are the sink's UUIDs; a bound keeps a hostile peer from making us keep big keys. */
const MAX_ID_LENGTH = 128;

/** Room left in a frame for the chunk frame's own fields and the channel's envelope. */
const FRAME_OVERHEAD_BYTES = 4096;
const DEFAULT_PIECE_BYTES = 1024 * 1024;
const PIECE_MORE = 0;
const PIECE_LAST = 1;

/** A view whose chunks are cut into pieces of at most `pieceBytes` (plus the header byte). */
class PiecedView implements StateView {
  private chunk: Uint8Array | null = null;
  private offset = 0;

  constructor(
    private readonly inner: StateView,
    private readonly pieceBytes: number,
  ) {}

  get seq(): number {
    return this.inner.seq;
  }

  async next(): Promise<Uint8Array | null> {
    if (this.chunk === null) {
      this.chunk = await this.inner.next();
      this.offset = 0;
      if (this.chunk === null) return null;
    }
    const end = Math.min(this.chunk.byteLength, this.offset + this.pieceBytes);
    const piece = new Uint8Array(1 + end - this.offset);
    piece[0] = end === this.chunk.byteLength ? PIECE_LAST : PIECE_MORE;
    piece.set(this.chunk.subarray(this.offset, end), 1);
    this.offset = end;
    if (end === this.chunk.byteLength) this.chunk = null;
    return piece;
  }

  close(): Promise<void> {
    this.chunk = null;
    return this.inner.close();
  }
}

/** An install fed pieces: joins the pieces of each chunk, and hands the install whole chunks. */
class PieceJoiner implements StateInstall {
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(
    private readonly inner: StateInstall,
    /** A bound on one joined chunk: a peer sending pieces without end is cut off there. */
    private readonly maxChunkBytes: number,
  ) {}

  async write(piece: Uint8Array): Promise<void> {
    const header = piece[0];
    if (header !== PIECE_MORE && header !== PIECE_LAST) throw new Error(`not a piece (header ${String(header)})`);
    this.size += piece.byteLength - 1;
    if (this.size > this.maxChunkBytes) throw new Error(`a chunk of more than ${this.maxChunkBytes} bytes`);
    // Copied: the frame the piece came in may be a view of a buffer its transport reuses.
    this.parts.push(piece.slice(1));
    if (header === PIECE_MORE) return;
    const chunk = this.parts.length === 1 ? this.parts[0]! : concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    await this.inner.write(chunk);
  }

  commit(minSeq: number): Promise<number> {
    if (this.parts.length > 0) return Promise.reject(new Error('the last chunk is incomplete'));
    return this.inner.commit(minSeq);
  }

  abort(): Promise<void> {
    this.parts = [];
    return this.inner.abort();
  }
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The frame, or null for anything that does not decode or has an unknown shape. */
function parseFrame(bytes: Uint8Array): Frame | null {
  let v: unknown;
  try {
    v = decodeValue(bytes);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const r = v as Record<string, unknown>;
  const id = r.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return null;
  switch (r.t) {
    case 'open':
      return isUint(r.minSeq) ? { t: 'open', id, minSeq: r.minSeq } : null;
    case 'next':
      return isUint(r.n) ? { t: 'next', id, n: r.n } : null;
    case 'close':
      return { t: 'close', id };
    case 'chunk': {
      const { n, data, last, seq } = r;
      if (!isUint(n) || !(data instanceof Uint8Array) || typeof last !== 'boolean' || !isUint(seq)) return null;
      // msgpackr hands out Buffers over the frame; the install gets a plain view of the bytes.
      const plain = Object.getPrototypeOf(data) === Uint8Array.prototype ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      return { t: 'chunk', id, n, data: plain, last, seq };
    }
    case 'refused':
      return typeof r.reason === 'string' && REFUSE_REASONS.has(r.reason) ? { t: 'refused', id, reason: r.reason as RefuseReason } : null;
    default:
      return null;
  }
}

// ---- state of either end ----

/** A view the source serves to one sink. */
interface ServedView {
  id: string;
  peer: NodeId;
  view: StateView | null;
  /** The chunk last sent (null until chunk 0 was read) and the one read ahead of it. */
  n: number;
  current: Uint8Array | null;
  ahead: Uint8Array | null;
  /** A read is queued or running: requests meanwhile are dropped (the sink resends them). */
  busy: boolean;
  closed: boolean;
  idleMs: number;
  /** Every operation on the view, in order: a StateView never sees two calls at once. */
  chain: Promise<void>;
}

/** One try of the sink against one peer. */
interface Attempt {
  id: string;
  peer: NodeId;
  minSeq: number;
  install: StateInstall;
  expected: number;
  seq: number | null;
  request: Frame;
  silentMs: number;
  resends: number;
  /** A write or commit of the install is running: the peer's silence is not counted meanwhile. */
  working: Promise<void> | null;
  done: boolean;
  settle(seq: number | null): void;
  /** Set once the attempt ends: resolves after the install was aborted (if it did not commit). */
  finished: Promise<void> | null;
}

interface Pause {
  remainingMs: number;
  resolve(): void;
}

export class StateTransfer {
  private readonly self: NodeId;
  private readonly channel: StateFrameChannel;
  private readonly state: StateOnDisk;
  private readonly clock: Clock;
  private readonly tickMs: number;
  private readonly chunkBytes: number;
  private readonly pieceBytes: number;
  private readonly maxChunkBytes: number;
  private readonly requestTimeoutMs: number;
  private readonly requestRetries: number;
  private readonly retryPauseMs: number;
  private readonly viewIdleTimeoutMs: number;
  private readonly maxViews: number;
  private readonly newId: () => string;
  private readonly log: (message: string) => void;

  private readonly views = new Map<string, ServedView>();
  private timer: ClockTimer | null = null;
  private fetching = false;
  private attempt: Attempt | null = null;
  private pause: Pause | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(options: StateTransferOptions) {
    const positive = (name: string, v: number): number => {
      if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new TypeError(`StateTransfer: ${name} must be positive, got ${v}`);
      return v;
    };
    const count = (name: string, v: number, min: number): number => {
      if (!(Number.isSafeInteger(v) && v >= min)) throw new TypeError(`StateTransfer: ${name} must be an integer >= ${min}, got ${v}`);
      return v;
    };
    this.self = options.self;
    this.channel = options.channel;
    this.state = options.state;
    this.clock = options.clock;
    this.tickMs = positive('tickMs', options.tickMs);
    this.chunkBytes = count('chunkBytes', options.chunkBytes ?? 256 * 1024, 1);
    const frameBytes = options.channel.maxFrameBytes;
    if (frameBytes !== undefined && !(Number.isSafeInteger(frameBytes) && frameBytes > FRAME_OVERHEAD_BYTES)) {
      throw new TypeError(`StateTransfer: channel.maxFrameBytes must be an integer > ${FRAME_OVERHEAD_BYTES}, got ${frameBytes}`);
    }
    this.pieceBytes = count('pieceBytes', options.pieceBytes ?? (frameBytes === undefined ? DEFAULT_PIECE_BYTES : frameBytes - FRAME_OVERHEAD_BYTES), 1);
    if (frameBytes !== undefined && this.pieceBytes > frameBytes - FRAME_OVERHEAD_BYTES) {
      throw new TypeError(`StateTransfer: pieceBytes ${this.pieceBytes} does not fit a frame of ${frameBytes} bytes`);
    }
    // A chunk is chunkBytes of entries plus at most one entry over; no entry is larger than a Raft
    // frame (it was replicated in one), so this bounds every chunk an honest peer sends.
    this.maxChunkBytes = this.chunkBytes + Math.max(frameBytes ?? 0, 64 * 1024 * 1024);
    this.requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? 2000);
    this.requestRetries = count('requestRetries', options.requestRetries ?? 3, 0);
    this.retryPauseMs = positive('retryPauseMs', options.retryPauseMs ?? 1000);
    this.viewIdleTimeoutMs = positive('viewIdleTimeoutMs', options.viewIdleTimeoutMs ?? 30_000);
    this.maxViews = count('maxViews', options.maxViews ?? 2, 0);
    this.newId = options.newId ?? randomUUID;
    this.log = options.log ?? (() => {});
    this.channel.onFrame((from, bytes) => this.onFrame(from, bytes));
  }

  /**
   * Installs the state of a peer whose state is at seq >= minSeq. `peers()` is called at each
   * attempt (the caller puts its leader first); tries them in order, round after round with
   * retryPauseMs between rounds, until one succeeds or close(). Resolves with the installed seq.
   * Only one fetch at a time (a second concurrent call rejects with a TypeError).
   * If state.appliedSeq() >= minSeq already, resolves immediately with it.
   */
  async fetch(minSeq: number, peers: () => readonly NodeId[]): Promise<number> {
    if (!isUint(minSeq)) throw new TypeError(`fetch: minSeq must be a non-negative integer, got ${String(minSeq)}`);
    if (this.closed) throw new StateTransferError('ERR_STOPPED', 'state transfer closed');
    if (this.fetching) throw new TypeError('fetch: a fetch is already in progress');
    const applied = this.state.appliedSeq();
    if (applied >= minSeq) return applied;
    this.fetching = true;
    this.ensureTimer();
    try {
      for (;;) {
        // peers() is asked again before each attempt: a leader change mid-round is seen at once.
        const tried = new Set<NodeId>([this.self]);
        for (;;) {
          if (this.closed) throw new StateTransferError('ERR_STOPPED', 'state transfer closed during a fetch');
          const peer = peers().find((p) => !tried.has(p));
          if (peer === undefined) break;
          tried.add(peer);
          const seq = await this.tryPeer(peer, minSeq);
          if (seq !== null) return seq;
        }
        if (this.closed) throw new StateTransferError('ERR_STOPPED', 'state transfer closed during a fetch');
        await new Promise<void>((resolve) => (this.pause = { remainingMs: this.retryPauseMs, resolve }));
      }
    } finally {
      this.fetching = false;
    }
  }

  /** Closes every open view, cancels the timer, aborts an install in progress; a pending fetch rejects with StateTransferError code 'ERR_STOPPED'. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    const waits: Promise<void>[] = [];
    if (this.attempt) waits.push(this.endAttempt(this.attempt, null, 'closed', false, true));
    this.pause?.resolve();
    this.pause = null;
    for (const sv of [...this.views.values()]) waits.push(this.closeView(sv));
    await Promise.all(waits);
  }

  // ---- timer ----

  private ensureTimer(): void {
    if (this.timer === null && !this.closed) this.timer = this.clock.setInterval(() => this.tick(), this.tickMs);
  }

  private tick(): void {
    for (const sv of [...this.views.values()]) {
      if (sv.busy) continue;
      sv.idleMs += this.tickMs;
      if (sv.idleMs >= this.viewIdleTimeoutMs) {
        this.log(`state transfer: closing view ${sv.id} of ${sv.peer}, idle ${sv.idleMs} ms`);
        void this.closeView(sv);
      }
    }
    const a = this.attempt;
    if (a && !a.done && a.working === null) {
      a.silentMs += this.tickMs;
      if (a.silentMs >= this.requestTimeoutMs) {
        if (a.resends >= this.requestRetries) {
          void this.endAttempt(a, null, `no answer after ${a.resends} resends`, true);
        } else {
          a.resends++;
          a.silentMs = 0;
          this.send(a.peer, a.request);
        }
      }
    }
    const p = this.pause;
    if (p) {
      p.remainingMs -= this.tickMs;
      if (p.remainingMs <= 0) {
        this.pause = null;
        p.resolve();
      }
    }
    // Lazily restarted by the next view or fetch: an idle node keeps no timer running.
    if (this.views.size === 0 && !this.fetching && this.timer) {
      this.timer.cancel();
      this.timer = null;
    }
  }

  // ---- frames ----

  private send(to: NodeId, frame: Frame): void {
    try {
      // encodeValue's bytes may be reused by the next encode; the channel may keep them.
      this.channel.send(to, new Uint8Array(encodeValue(frame)));
    } catch (e) {
      this.log(`state transfer: sending ${frame.t} to ${to} failed: ${String(e)}`);
    }
  }

  private onFrame(from: NodeId, bytes: Uint8Array): void {
    if (this.closed) return;
    const f = parseFrame(bytes);
    if (f === null) return;
    switch (f.t) {
      case 'open':
        this.serveOpen(from, f.id, f.minSeq);
        return;
      case 'next':
        this.serveNext(from, f.id, f.n);
        return;
      case 'close': {
        const sv = this.views.get(f.id);
        if (sv && sv.peer === from) void this.closeView(sv);
        return;
      }
      case 'chunk':
        this.onChunk(from, f);
        return;
      case 'refused': {
        const a = this.attempt;
        if (a && !a.done && a.id === f.id && a.peer === from && a.working === null) void this.endAttempt(a, null, `refused: ${f.reason}`, false);
        return;
      }
    }
  }

  // ---- source ----

  private sendChunk(sv: ServedView): void {
    if (sv.closed || sv.current === null || sv.view === null) return;
    this.send(sv.peer, { t: 'chunk', id: sv.id, n: sv.n, data: sv.current, last: sv.ahead === null, seq: sv.view.seq });
  }

  /** Queues `op` on the view's chain; a failure closes the view and refuses the sink. */
  private onView(sv: ServedView, op: (view: StateView) => Promise<void>): void {
    sv.busy = true;
    sv.chain = sv.chain.then(async () => {
      if (sv.closed || sv.view === null) return;
      try {
        await op(sv.view);
      } catch (e) {
        this.log(`state transfer: reading view ${sv.id} for ${sv.peer} failed: ${String(e)}`);
        void this.closeView(sv);
        this.send(sv.peer, { t: 'refused', id: sv.id, reason: 'unknown' });
      } finally {
        sv.busy = false;
      }
    });
  }

  private serveOpen(from: NodeId, id: string, minSeq: number): void {
    const existing = this.views.get(id);
    if (existing) {
      // A resent open: our chunk 0 was lost (or is still being read, then it is on its way).
      if (existing.peer !== from) return;
      existing.idleMs = 0;
      if (!existing.busy && existing.n === 0) this.sendChunk(existing);
      return;
    }
    if (this.state.appliedSeq() < minSeq) return this.send(from, { t: 'refused', id, reason: 'behind' });
    if (this.views.size >= this.maxViews) return this.send(from, { t: 'refused', id, reason: 'busy' });
    const sv: ServedView = { id, peer: from, view: null, n: 0, current: null, ahead: null, busy: true, closed: false, idleMs: 0, chain: Promise.resolve() };
    this.views.set(id, sv);
    this.ensureTimer();
    sv.chain = (async () => {
      try {
        const view = new PiecedView(await this.state.openView(this.chunkBytes), this.pieceBytes);
        sv.view = view;
        if (sv.closed) return; // closeView queued the close behind this
        const first = await view.next();
        // Even an empty state is one chunk from the application: none at all is its bug.
        if (first === null) throw new Error('the view yielded no chunk');
        sv.current = first;
        sv.ahead = await view.next();
      } catch (e) {
        this.log(`state transfer: opening a view for ${from} failed: ${String(e)}`);
        void this.closeView(sv);
        this.send(from, { t: 'refused', id, reason: 'unknown' });
        return;
      } finally {
        sv.busy = false;
      }
      this.sendChunk(sv);
    })();
  }

  private serveNext(from: NodeId, id: string, n: number): void {
    const sv = this.views.get(id);
    if (!sv) return this.send(from, { t: 'refused', id, reason: 'unknown' });
    if (sv.peer !== from || sv.busy || sv.current === null) return;
    if (n === sv.n) {
      sv.idleMs = 0;
      this.sendChunk(sv);
    } else if (n === sv.n + 1) {
      sv.idleMs = 0;
      // Asking past the last chunk acknowledges it: the sink has everything.
      if (sv.ahead === null) return void this.closeView(sv);
      this.onView(sv, async (view) => {
        const next = sv.ahead;
        const ahead = await view.next();
        sv.n++;
        sv.current = next;
        sv.ahead = ahead;
        this.sendChunk(sv);
      });
    }
  }

  /** Idempotent; resolves once the view is closed (after any read in flight on it). */
  private closeView(sv: ServedView): Promise<void> {
    if (!sv.closed) {
      sv.closed = true;
      if (this.views.get(sv.id) === sv) this.views.delete(sv.id);
      sv.current = null;
      sv.ahead = null;
      sv.chain = sv.chain.then(async () => {
        try {
          await sv.view?.close();
        } catch (e) {
          this.log(`state transfer: closing view ${sv.id} failed: ${String(e)}`);
        }
      });
    }
    return sv.chain;
  }

  // ---- sink ----

  /** One attempt against `peer`: the installed seq, or null once it failed (the install aborted). */
  private tryPeer(peer: NodeId, minSeq: number): Promise<number | null> {
    return new Promise<number | null>((resolve) => {
      const id = this.newId();
      const request: Frame = { t: 'open', id, minSeq };
      this.attempt = {
        id,
        peer,
        minSeq,
        install: new PieceJoiner(this.state.beginInstall(), this.maxChunkBytes),
        expected: 0,
        seq: null,
        request,
        silentMs: 0,
        resends: 0,
        working: null,
        done: false,
        settle: resolve,
        finished: null,
      };
      this.send(peer, request);
    });
  }

  private onChunk(from: NodeId, f: Extract<Frame, { t: 'chunk' }>): void {
    const a = this.attempt;
    // Anything but the chunk awaited is a duplicate or stale: its request is resent in time.
    if (!a || a.done || a.id !== f.id || a.peer !== from || a.working !== null || f.n !== a.expected) return;
    a.silentMs = 0;
    a.resends = 0;
    const work = this.takeChunk(a, f);
    a.working = work;
    void work.finally(() => {
      if (a.working === work) a.working = null;
    });
  }

  private async takeChunk(a: Attempt, f: Extract<Frame, { t: 'chunk' }>): Promise<void> {
    if (f.n === 0) {
      if (f.seq < a.minSeq) return void this.endAttempt(a, null, `its view is at seq ${f.seq}, below ${a.minSeq}`, true);
      a.seq = f.seq;
    } else if (f.seq !== a.seq) {
      return void this.endAttempt(a, null, `chunk ${f.n} is of seq ${f.seq}, chunk 0 was of ${a.seq}`, true);
    }
    try {
      await a.install.write(f.data);
    } catch (e) {
      return void this.endAttempt(a, null, `chunk ${f.n} was not accepted: ${String(e)}`, true);
    }
    if (a.done) return;
    if (!f.last) {
      a.expected = f.n + 1;
      a.request = { t: 'next', id: a.id, n: a.expected };
      this.send(a.peer, a.request);
      return;
    }
    let seq: number;
    try {
      seq = await a.install.commit(a.minSeq);
    } catch (e) {
      return void this.endAttempt(a, null, `its state was not installed: ${String(e)}`, true);
    }
    // Best effort: a lost close is the source's idle timeout.
    if (!this.closed) this.send(a.peer, { t: 'close', id: a.id });
    void this.endAttempt(a, seq, 'installed', false);
  }

  /**
   * Ends the attempt: on failure aborts the install, then settles (null for failure).
   * `sayClose`: the source may hold a view for it. `afterWork`: ended from outside the write or
   * commit in flight (close()), which finishes first, so the install never sees two calls at
   * once; from inside it (its own failure), waiting for it would deadlock.
   */
  private endAttempt(a: Attempt, seq: number | null, reason: string, sayClose: boolean, afterWork = false): Promise<void> {
    if (a.finished) return a.finished;
    a.done = true;
    if (this.attempt === a) this.attempt = null;
    if (seq === null && reason !== 'closed') this.log(`state transfer: giving up peer ${a.peer} (${reason})`);
    if (sayClose) this.send(a.peer, { t: 'close', id: a.id });
    const working = a.working;
    a.finished = (async () => {
      if (afterWork && working !== null) await working.catch(() => {});
      if (seq === null) {
        try {
          await a.install.abort();
        } catch (e) {
          this.log(`state transfer: aborting the install from ${a.peer} failed: ${String(e)}`);
        }
      }
      a.settle(seq);
    })();
    return a.finished;
  }
}
