// Builds the configured VIP hook (config `vip` section), counted and logged.
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { BindVipHook, type VipListenerFactory } from './bind-hook.ts';
import { ExecVipHook } from './exec-hook.ts';
import { NoneVipHook, type VipHook } from './hook.ts';
import { instrumentVipHook } from './instrumented.ts';

export interface VipHookSettings {
  mode: 'exec' | 'bind' | 'none';
  command?: string[] | undefined;
  interface?: string | undefined;
  timeoutMs: number;
}

export function createVipHook(
  settings: VipHookSettings,
  deps: { logger: Logger; metrics: Metrics; listenerFactory?: VipListenerFactory },
): VipHook {
  let hook: VipHook;
  if (settings.mode === 'exec') {
    if (settings.command === undefined) throw new TypeError('exec VIP hook needs vip.command');
    hook = new ExecVipHook({
      command: settings.command,
      timeoutMs: settings.timeoutMs,
      ...(settings.interface === undefined ? {} : { defaultInterface: settings.interface }),
    });
  } else if (settings.mode === 'bind') {
    if (deps.listenerFactory === undefined) throw new TypeError('bind VIP hook needs a listener factory');
    hook = new BindVipHook(deps.listenerFactory);
  } else {
    hook = new NoneVipHook();
  }
  return instrumentVipHook(hook, deps.metrics, deps.logger);
}
