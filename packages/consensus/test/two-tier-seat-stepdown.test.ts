// A deposed local leader must stop acting for its AZ's seat the moment its Raft core steps down,
// not when the driver gets round to reporting it: the driver emits `roleChange` only after the
// Ready carrying the step-down is persisted (node-driver.ts handleReady), and a seat that keeps
// answering meanwhile is a second global member with the AZ's id next to the successor's seat.
import { expect } from 'chai';
import { ManualClock } from '../src/clock.ts';
import { validateRaftConfig } from '../src/config.ts';
import { MemoryStorage } from '../src/memory-storage.ts';
import type { Message } from '../src/messages.ts';
import { SeededRandom } from '../src/random.ts';
import type { SaveOptions, StorageWrite } from '../src/storage.ts';
import type { MessageHandler, Transport } from '../src/transport.ts';
import { TwoTierError, TwoTierNode, type TwoTierApplication } from '../src/two-tier/two-tier-node.ts';

const TICK_MS = 5;
const GLOBAL_RAFT = validateRaftConfig({ electionTimeoutTicks: 20, heartbeatIntervalTicks: 2, preVote: false });

/** A transport the test drives: it records what the node sends and delivers what the test says. */
class ScriptedTransport implements Transport {
  readonly sent: Message[] = [];
  private handler: MessageHandler | null = null;
  send(messages: readonly Message[]): void {
    this.sent.push(...messages);
  }
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }
  deliver(message: Message): void {
    this.handler!(message);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** MemoryStorage whose saves can be held, as a slow fsync holds them. */
class HeldStorage extends MemoryStorage {
  private held: (() => void)[] | null = null;
  hold(): void {
    this.held = [];
  }
  release(): void {
    const waiting = this.held ?? [];
    this.held = null;
    for (const go of waiting) go();
  }
  override async save(write: StorageWrite, options: SaveOptions): Promise<void> {
    if (this.held) await new Promise<void>((go) => this.held!.push(go));
    return super.save(write, options);
  }
}

const nullApp: TwoTierApplication<null> = { apply: () => null, snapshot: () => new Uint8Array(), restore: () => {}, reset: () => {} };

const turns = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('two tiers: a seat acts only while its node leads the local term it was activated in', function () {
  it('a local leader stepping down behind a slow fsync stops stepping, ticking and proposing for the seat at once', async () => {
    const clock = new ManualClock();
    const storage = new HeldStorage();
    const local = new ScriptedTransport();
    const seatNet = new ScriptedTransport();
    const node = await TwoTierNode.start<null>({
      nodeId: 'a1',
      az: 'az1',
      storage,
      localTransport: local,
      seatTransport: seatNet,
      app: nullApp,
      localRaft: { electionTimeoutTicks: 10, heartbeatIntervalTicks: 1 },
      globalRaft: GLOBAL_RAFT,
      tickMs: TICK_MS,
      clock,
      random: new SeededRandom(3),
      localInitialConfState: { voters: ['a1'], learners: [], votersOutgoing: [] },
      globalInitialConfState: { voters: ['az1', 'az2'], learners: [], votersOutgoing: [] },
    });
    try {
      node.campaignLocal();
      await turns();
      expect(node.status().seat, 'seat active on the local leader').to.not.equal(null);
      // The seat wins the global election with az2's vote (az2 is played by the test).
      node.campaignGlobal();
      await turns();
      const voteRequest = seatNet.sent.find((m) => m.type === 'vote');
      expect(voteRequest, 'seat asked az2 for its vote').to.not.equal(undefined);
      seatNet.deliver({ type: 'voteResp', from: 'az2', to: 'az1', term: voteRequest!.term, granted: true });
      await turns();
      expect(node.status().seat?.role).to.equal('leader');
      const globalTerm = node.status().seat!.term;

      // A local successor's higher term arrives while the disk is slow: the core steps down at
      // once, the driver's roleChange waits for the fsync of that term.
      storage.hold();
      const localTerm = node.status().local.term;
      local.deliver({ type: 'heartbeat', from: 'a2', to: 'a1', term: localTerm + 1, commit: 0, readCtxSeq: 0 });
      await turns();
      expect(node.status().local.role).to.equal('follower');
      expect(node.isLocalLeader(), 'roleChange not yet reported').to.equal(true);

      seatNet.sent.length = 0;
      seatNet.deliver({ type: 'heartbeatResp', from: 'az2', to: 'az1', term: globalTerm, readCtxSeq: 0 });
      clock.advance(10 * GLOBAL_RAFT.heartbeatIntervalTicks * TICK_MS);
      await turns();
      expect(seatNet.sent, 'the deposed seat sent global messages').to.deep.equal([]);
      expect(node.status().seat, 'seat deactivated').to.equal(null);
      let refused: unknown = null;
      await node.proposeGlobal(new Uint8Array([1])).catch((e: unknown) => (refused = e));
      expect(refused).to.be.instanceOf(TwoTierError);
      expect((refused as TwoTierError).code).to.equal('ERR_SEAT_INACTIVE');
    } finally {
      storage.release();
      await node.stop();
    }
  });
});
