export type { HistoryOp, Model, LinearizabilityResult } from './history.ts';
export { checkLinearizability, DEFAULT_CHECK_OPTIONS } from './wgl.ts';
export type { CheckOptions } from './wgl.ts';
export { kvModel, applyKvInput, describeKvOp } from './kv-model.ts';
export type { KvInput, KvOutput, KvHistoryOp, KvRegister } from './kv-model.ts';
