// Length-prefixed framing: u32 big-endian payload length, then the payload. The length is read
// before any payload byte is buffered, so an oversize frame is refused without allocating it.
import { ServerError } from '../errors.ts';

const FRAME_HEADER_BYTES = 4;

export function encodeFrame(payload: Uint8Array, maxFrameBytes: number): Buffer {
  if (payload.byteLength > maxFrameBytes) {
    throw new ServerError('ERR_TRANSPORT_FRAME_TOO_LARGE', `frame of ${payload.byteLength} bytes exceeds ${maxFrameBytes}`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  frame.writeUInt32BE(payload.byteLength, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Incremental decoder for one connection. `push` returns the complete payloads so far, or
 * throws ERR_TRANSPORT_FRAME_TOO_LARGE (the caller closes the connection: after a bad length the
 * stream cannot be resynchronised).
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(maxFrameBytes: number) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes <= 0 || maxFrameBytes > 0xffff_ffff) {
      throw new TypeError(`maxFrameBytes must be an integer in [1, 2^32): ${maxFrameBytes}`);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_BYTES) break;
      const length = this.peekLength();
      if (length > this.maxFrameBytes) {
        throw new ServerError('ERR_TRANSPORT_FRAME_TOO_LARGE', `peer frame of ${length} bytes exceeds ${this.maxFrameBytes}`);
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      const all = this.take(FRAME_HEADER_BYTES + length);
      frames.push(all.subarray(FRAME_HEADER_BYTES));
    }
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined.readUInt32BE(0);
  }

  private take(bytes: number): Buffer {
    const joined = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    const out = joined.subarray(0, bytes);
    const rest = joined.subarray(bytes);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}
