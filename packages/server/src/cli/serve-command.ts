// `adrestia-pki serve --config FILE [--init]`: runs one node until SIGTERM/SIGINT, then stops
// gracefully (listeners drain, the node releases its VIPs, storage closes). `--init` lets this node
// found the cluster when discovery finds none (exactly one node of a new cluster gets it).
import { readFile } from 'node:fs/promises';
import { decodeBackup } from '@adrestia/pki-core';
import { loadConfig } from '../config/load.ts';
import { createLogger, type LogLevel } from '../log/logger.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { serve } from '../serve/runtime.ts';

export async function serveCommand(args: { configPath: string; mayFoundCluster: boolean; restorePath?: string }): Promise<number> {
  const config = await loadConfig(args.configPath);
  // Checked whole (format, version, SHA-256, every AZ snapshot) before anything starts.
  const restore = args.restorePath === undefined ? undefined : decodeBackup(new Uint8Array(await readFile(args.restorePath)));
  const logger = createLogger({ level: config.log.level as LogLevel, base: { nodeId: config.nodeId, az: config.az } });
  const metrics = createMetrics({ processMetrics: true, defaultLabels: { node: config.nodeId } });
  const handle = await serve(config, logger, metrics, { mayFoundCluster: args.mayFoundCluster, ...(restore === undefined ? {} : { restore }) });
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await handle.stop();
  logger.info('stopped');
  return 0;
}
