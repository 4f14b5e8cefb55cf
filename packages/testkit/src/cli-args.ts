// Command-line flags for the simulators (sim/cli.ts, cluster/cli.ts): node:util parseArgs in strict
// mode, as packages/pki-core/src/cli/args.ts does, so an unknown flag or a flag without its value is
// a UsageError naming it (exit 2), and `--help`/`-h` prints the usage rendered from the declaration.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** How the command was typed is wrong: exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

interface FlagSpec {
  readonly type: 'string' | 'boolean';
  /** The value's placeholder in the usage (string flags). */
  readonly value?: string;
  readonly help: string;
}

export interface CliSpec {
  /** How the command is typed (`sim`, `sim --cluster`), for the usage and the error lines. */
  readonly program: string;
  /** The usage line after the program: which flags go together. */
  readonly synopsis: string;
  readonly summary: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
}

export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;

function usageText(cli: CliSpec): string {
  const rows: [string, string][] = Object.entries(cli.flags).map(([key, f]) => [f.type === 'boolean' ? `--${key}` : `--${key} ${f.value ?? 'VALUE'}`, f.help]);
  rows.push(['-h, --help', 'print this usage']);
  const width = Math.max(...rows.map(([left]) => left.length));
  return `usage: ${cli.program} ${cli.synopsis}\n${cli.summary}\n\noptions:\n${rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}\n`).join('')}`;
}

/** `argv` parsed strictly against `cli.flags`; 'help' when `--help`/`-h` was given. */
function parseFlags(cli: CliSpec, argv: readonly string[]): FlagValues | 'help' {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [key, f] of Object.entries(cli.flags)) options[key] = { type: f.type };
  try {
    const { values } = parseArgs({ args: [...argv], options, strict: true });
    return values['help'] === true ? 'help' : (values as FlagValues);
  } catch (cause) {
    throw new UsageError(parseFailure(cause, (flag) => options[flag.replace(/^--?/, '')]?.type === 'boolean'));
  }
}

/** node:util's parse error in one line naming the flag (its messages quote the flag first). */
function parseFailure(cause: unknown, isBoolean: (flag: string) => boolean): string {
  const { code, message } = cause as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(cause);
  const flag = /'(-[^' ]*)/.exec(text)?.[1];
  if (flag === undefined) return text;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${flag}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return isBoolean(flag) ? `${flag} takes no value` : `${flag} needs a value`;
  return text;
}

/** The flag `name` as a non-negative safe integer (decimal digits only), or `fallback` when not given. */
export function nonNegativeInt(values: FlagValues, name: string, fallback: number): number {
  const text = values[name];
  if (typeof text !== 'string') return fallback;
  const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * Runs a simulator's `main` as the process: `--help` prints the usage on stdout (exit 0); a
 * UsageError is one line on stderr (exit 2); otherwise the exit status is what `main` returns.
 */
export async function runCli(cli: CliSpec, argv: readonly string[], main: (flags: FlagValues) => number | Promise<number>): Promise<number> {
  try {
    const flags = parseFlags(cli, argv);
    if (flags === 'help') {
      process.stdout.write(usageText(cli));
      return 0;
    }
    return await main(flags);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${cli.program}: ${e.message} (see ${cli.program} --help)\n`);
    return 2;
  }
}
