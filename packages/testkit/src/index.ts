// Public entry of @adrestia/testkit: the deterministic Raft simulator and the linearizability
// checker. (The PKI cluster simulator lives in ./cluster/ and is exported here as `cluster`.)
export * from './linearizability/index.ts';
export * as cluster from './cluster/index.ts';
export { runSimulation, type RunOptions, type SimResult, type SimViolation } from './sim/simulator.ts';
export { deriveOptions, type SimOptions } from './sim/options.ts';
export { SafetyChecker, SafetyViolation, type LogView, type ViolationKind } from './sim/checkers.ts';
export { EventQueue, type SimEvent } from './sim/event-queue.ts';
export { SimDisk } from './sim/disk.ts';
export { SimNetwork } from './sim/network.ts';
export { KvMachine, encodeCommand, decodeCommand, type KvCommand } from './sim/kv-machine.ts';
