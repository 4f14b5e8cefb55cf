export { NodeAging } from './aging.ts';
export type { AgingLimits } from './aging-policy.ts';
