// The state-transfer channel of a node (consensus two-tier/state-transfer.ts) before the mesh
// exists, like LazyTransport: frames sent before `attach` are dropped (the transfer retries) and
// the receiver is handed on at attach. Carried as mesh group `state` between nodes of one AZ.
import type { StateFrameChannel } from '@adrestia/consensus';
import type { MtlsMesh } from '../transport/mesh.ts';

const STATE_GROUP = 'state';

type FrameHandler = (from: string, frame: Uint8Array) => void;

export class LazyStateChannel implements StateFrameChannel {
  private mesh: MtlsMesh | null = null;
  private handler: FrameHandler | null = null;

  /** `maxFrameBytes`: the mesh's frame limit (config raft.maxFrameBytes); the transfer cuts its pieces under it. */
  constructor(readonly maxFrameBytes: number) {}

  /** `isSenderAllowed`: only nodes of this node's AZ may ask for its state or send it. */
  attach(mesh: MtlsMesh, isSenderAllowed: (fromNodeId: string) => boolean): void {
    if (this.mesh !== null) throw new TypeError('LazyStateChannel: already attached');
    this.mesh = mesh;
    mesh.onGroup(STATE_GROUP, (from, payload) => {
      if (isSenderAllowed(from)) this.handler?.(from, payload);
    });
  }

  send(to: string, frame: Uint8Array): void {
    this.mesh?.send(to, STATE_GROUP, frame);
  }

  onFrame(handler: FrameHandler): void {
    this.handler = handler;
  }
}
