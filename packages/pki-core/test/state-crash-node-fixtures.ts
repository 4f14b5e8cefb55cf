// One PKI node's two tiers alone (a single-voter local group founding a single-seat global
// group) on LevelDB Raft storage, with the PKI application on disk or in memory: the setup the
// crash test for the state on disk and its child process share.
import { existsSync } from 'node:fs';
import { LevelStorage, MemoryNetwork, MemorySeatNetwork, SeededRandom, TwoTierNode, validateRaftConfig } from '@adrestia/consensus';
import { PkiApplication, type PkiApplyResult } from '../src/node/core/pki-application.ts';

const CRASH_NODE_ID = 'n1';
const CRASH_AZ = 'az1';
/** Small enough that the child compacts its log into local snapshots several times. */
const CRASH_SNAPSHOT_EVERY_ENTRIES = 50;

export interface SoloNode {
  node: TwoTierNode<PkiApplyResult>;
  app: PkiApplication;
  storage: LevelStorage;
  /** How many times the node restored the application from a local snapshot. */
  restores: () => number;
  stop(): Promise<void>;
}

/** Starts (or restarts: the Raft storage decides) the node; resolves once it leads both tiers. */
export async function startSoloNode(raftDir: string, stateDir: string | null): Promise<SoloNode> {
  const fresh = !existsSync(raftDir);
  const storage = await LevelStorage.open(raftDir);
  const app = new PkiApplication(stateDir);
  let restores = 0;
  const restore = app.restore.bind(app);
  app.restore = (data, seq) => {
    restores++;
    return restore(data, seq);
  };
  const solo = { voters: [CRASH_NODE_ID], learners: [], votersOutgoing: [] };
  const node = await TwoTierNode.start<PkiApplyResult>({
    nodeId: CRASH_NODE_ID,
    az: CRASH_AZ,
    storage: storage,
    localTransport: new MemoryNetwork().endpoint(CRASH_NODE_ID),
    seatTransport: new MemorySeatNetwork().endpoint(CRASH_AZ, CRASH_NODE_ID),
    app,
    localRaft: { electionTimeoutTicks: 10, heartbeatIntervalTicks: 1 },
    globalRaft: validateRaftConfig({ electionTimeoutTicks: 20, heartbeatIntervalTicks: 2 }),
    tickMs: 5,
    random: new SeededRandom(1),
    snapshotEveryEntries: CRASH_SNAPSHOT_EVERY_ENTRIES,
    ...(fresh ? { localInitialConfState: solo, globalInitialConfState: { ...solo, voters: [CRASH_AZ] } } : {}),
  });
  const stop = async (): Promise<void> => {
    await node.stop();
    await app.close();
    await storage.close();
  };
  try {
    await until(() => node.isLocalLeader(), () => node.campaignLocal());
    await until(() => node.isGlobalLeader(), () => node.campaignGlobal());
  } catch (e) {
    await stop();
    throw e;
  }
  return { node, app, storage, restores: () => restores, stop };
}

async function until(done: () => boolean, nudge: () => void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; !done(); round++) {
    if (Date.now() > deadline) throw new Error('solo node: no leadership in time');
    if (round % 20 === 0) nudge();
    await new Promise((r) => setTimeout(r, 10));
  }
}
