// The two-tier cluster simulator: TwoTierNodes of 3 AZs on virtual time, with a seeded scheduler,
// simulated network, disks and clocks, fault injection, safety and liveness checkers.
export { DRAIN_ROUNDS, Scheduler, SimClock, type EventHandle } from './virtual-time.ts';
export { SimDisk, SimStorage, type DiskStats } from './sim-storage.ts';
export { CALM_LINKS, SimNetwork, type LinkFaults, type NetworkStats } from './sim-network.ts';
export { RecordingApp, type AppObserver, type AppliedCommand } from './recording-app.ts';
export { ClusterChecker, type Violation } from './checkers.ts';
export { DEFAULT_AZS, SimCluster, errorCode, type SimClusterOptions, type SimNode } from './sim-cluster.ts';
export { Ledger, SimClient, commitWithRetry, runUntilSettled, sendCommand, type Ack, type ClientOptions, type Tier } from './clients.ts';
export { checkDurability, checkLiveness, missingAcks } from './recovery-checks.ts';
export { runSeed, type SeededRunOptions, type SeededRunResult } from './seeded-run.ts';
export { PkiSimCluster, SIM_GLOBAL_VIP, type PkiSimClusterOptions, type PkiSimNode } from './pki-cluster.ts';
export { PkiLedger, issueVia, pkiViolations, revokeVia, runPkiSeed, serialReuse, type PkiIssued, type PkiRunResult } from './pki-run.ts';
export { growCluster } from './grow.ts';
export { oneClusterViolations, runColdStartSeed, type ColdStartResult } from './cold-start-run.ts';
export { TINY_SERIAL_RANGE, TinySerialRandom } from './tiny-serial-random.ts';
export { duplicateSerialViolations, injectDuplicateIssued, type AckedLeaf, type DuplicateInjection } from './pki-serial-faults.ts';
