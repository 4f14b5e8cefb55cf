// Command-line flags through node:util parseArgs (strict: unknown flags and missing values are
// errors), turned into ERR_INPUT_INVALID naming the flag, so the CLI reports them like any other
// input error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PkiError } from '../errors.ts';

/** Errors in how the command was typed (unknown or missing flags): exit status 2, not 1. */
const usageErrors = new WeakSet<PkiError>();

export function usageError(message: string, field: string, cause?: unknown): PkiError {
  const e = new PkiError('ERR_INPUT_INVALID', message, { field, cause });
  usageErrors.add(e);
  return e;
}

export function isUsageError(e: unknown): boolean {
  return e instanceof PkiError && usageErrors.has(e);
}

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedFlags {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export function parseFlags(args: readonly string[], options: FlagSpec, allowPositionals = false): ParsedFlags {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals });
    return { values: values as ParsedFlags['values'], positionals };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const flag = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'args';
    throw usageError(message, flag, cause);
  }
}

export function requiredString(flags: ParsedFlags, name: string): string {
  const v = flags.values[name];
  if (typeof v !== 'string' || v === '') throw usageError(`missing required flag --${name}`, `--${name}`);
  return v;
}

export function optionalString(flags: ParsedFlags, name: string): string | undefined {
  const v = flags.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A positive whole number of days, as seconds. */
export function optionalDays(flags: ParsedFlags, name = 'days'): number | undefined {
  const v = optionalString(flags, name);
  if (v === undefined) return undefined;
  if (!/^[1-9]\d{0,5}$/.test(v)) throw new PkiError('ERR_INPUT_INVALID', `--${name} must be a positive whole number of days`, { field: `--${name}` });
  return Number(v) * 86_400;
}
