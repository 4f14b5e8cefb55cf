export { VipManager, type VipHookLike } from './vip-manager.ts';
