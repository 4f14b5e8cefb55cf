// Counts and logs every VIP transition, whichever mode does the work.
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Vip, VipHook } from './hook.ts';

export function instrumentVipHook(hook: VipHook, metrics: Metrics, logger: Logger): VipHook {
  const wrap = (action: 'acquire' | 'release') => async (vip: Vip): Promise<void> => {
    try {
      await hook[action](vip);
      metrics.vipTransitionsTotal.inc({ vip: vip.address, action, result: 'ok' });
      logger.info({ vip: vip.address, interface: vip.interface, mode: hook.mode }, `VIP ${action}d`);
    } catch (err) {
      metrics.vipTransitionsTotal.inc({ vip: vip.address, action, result: 'error' });
      logger.error({ err, vip: vip.address, mode: hook.mode }, `VIP ${action} failed`);
      throw err;
    }
  };
  return { mode: hook.mode, acquire: wrap('acquire'), release: wrap('release') };
}
