// Structured JSON logs (pino). Every logger made here redacts secrets (see redact.ts).
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { REDACTED, redactPaths, sanitize } from './redact.ts';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level: LogLevel;
  /** Static fields on every line (e.g. nodeId, az). */
  base?: Record<string, string>;
  /** Where lines go; stdout (synchronously written) when absent. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const level: LevelWithSilent = options.level;
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level,
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: REDACTED },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => sanitize(bindings) as Record<string, unknown>,
        log: (object) => sanitize(object) as Record<string, unknown>,
      },
    },
    destination,
  );
}
