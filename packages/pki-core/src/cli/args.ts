// Command-line flags through node:util parseArgs (strict: unknown flags and missing values are
// errors), turned into ERR_INPUT_INVALID naming the flag, so the CLI reports them like any other
// input error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PkiError } from '../errors.ts';

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
    throw new PkiError('ERR_INPUT_INVALID', message, { field: flag, cause });
  }
}

export function requiredString(flags: ParsedFlags, name: string): string {
  const v = flags.values[name];
  if (typeof v !== 'string' || v === '') throw new PkiError('ERR_INPUT_INVALID', `missing required flag --${name}`, { field: `--${name}` });
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
