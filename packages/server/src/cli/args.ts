// Command-line parsing for `adrestia-pki` (commands.ts declares every command): node:util parseArgs
// in strict mode, as packages/pki-core/src/cli/args.ts does, so an unknown flag, a flag without its
// value or a stray word is a UsageError naming it (exit 2), and `--help`/`-h` prints the usage
// rendered from the same declaration (usage-text.ts).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Command, CommandGroup, LeafCommand, ParsedArgs } from './command-spec.ts';
import { groupUsage, leafUsage } from './usage-text.ts';

export type { Command, CommandGroup, LeafCommand, OptionSpecs, ParsedArgs } from './command-spec.ts';

/** How the command was typed is wrong (exit 2), as opposed to a refusal (exit 1). */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command as typed after the program name (`issue`, `cluster az add`), once known. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

function isGroup(command: Command): command is CommandGroup {
  return 'subcommands' in command;
}

const HELP_WORDS: readonly string[] = ['--help', '-h'];

/**
 * Runs `argv` (what follows `path` on the command line) against `command`: a group picks its
 * subcommand by the first word; a leaf parses its options, or prints its usage on stdout for
 * `--help`/`-h`. A UsageError from the command's own checks is tagged with the command's name.
 */
export async function runCommand(program: string, path: readonly string[], command: Command, argv: readonly string[]): Promise<number> {
  const name = path.join(' ');
  if (isGroup(command)) {
    const [word, ...rest] = argv;
    if (word !== undefined && HELP_WORDS.includes(word)) return printUsage(groupUsage(program, path, command));
    const names = Object.keys(command.subcommands).join(', ');
    if (word === undefined) throw new UsageError(`a subcommand is required: one of ${names}`, name);
    if (word.startsWith('-')) throw new UsageError(`a subcommand is required before the options: one of ${names}`, name);
    const sub = Object.hasOwn(command.subcommands, word) ? command.subcommands[word] : undefined;
    if (sub === undefined) throw new UsageError(`unknown subcommand ${JSON.stringify(word)}; one of ${names}`, name);
    return runCommand(program, [...path, word], sub, rest);
  }
  const args = parseCommandLine(name, command, argv);
  if (args === 'help') return printUsage(leafUsage(program, path, command));
  try {
    return await command.run(args);
  } catch (e) {
    if (e instanceof UsageError && e.command === undefined) throw new UsageError(e.message, name);
    throw e;
  }
}

function printUsage(text: string): number {
  process.stdout.write(text);
  return 0;
}

type ParseOptions = NonNullable<ParseArgsConfig['options']>;

/** The leaf's options in node:util's terms, plus `--help`/`-h`. */
function parseOptionsOf(command: LeafCommand): ParseOptions {
  const options: ParseOptions = { help: { type: 'boolean', short: 'h' } };
  for (const [key, o] of Object.entries(command.options)) {
    options[key] = { type: o.type, ...(o.multiple === true ? { multiple: true } : {}), ...(o.default === undefined ? {} : { default: o.default }) };
  }
  return options;
}

/** `argv` parsed strictly against the leaf's declaration, or 'help' when `--help`/`-h` was given. */
export function parseCommandLine(name: string, command: LeafCommand, argv: readonly string[]): ParsedArgs | 'help' {
  const config = parseOptionsOf(command);
  const expected = command.positionals ?? [];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: expected.length > 0 });
  } catch (cause) {
    throw new UsageError(parseErrorMessage(cause, config), name);
  }
  if (parsed.values['help'] === true) return 'help';
  const args: ParsedArgs = { options: new Map(), lists: new Map(), switches: new Set(), positionals: parsed.positionals };
  const missing = expected[parsed.positionals.length];
  if (missing !== undefined) throw new UsageError(`${missing} is required`, name);
  const extra = parsed.positionals[expected.length];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`, name);
  for (const [key, o] of Object.entries(command.options)) {
    const v = parsed.values[key];
    if (v === undefined) {
      if (o.required === true) throw new UsageError(`--${key} is required`, name);
    } else if (Array.isArray(v)) {
      args.lists.set(key, v.map(String));
    } else if (typeof v === 'boolean') {
      if (v) args.switches.add(key);
    } else {
      args.options.set(key, v);
    }
  }
  return args;
}

/** node:util's parse error, said in a line naming the flag or word (its messages quote it first). */
function parseErrorMessage(cause: unknown, config: ParseOptions): string {
  const { code, message } = cause as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(cause);
  const quoted = /'([^']*)'/.exec(text)?.[1];
  if (quoted === undefined) return text;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quoted)}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '--url <value>' argument missing", "Option '--url' argument is ambiguous", "Option '--init' does not take an argument"
      const flag = quoted.split(' ')[0] ?? quoted;
      return config[flag.replace(/^--?/, '')]?.type === 'boolean' ? `${flag} takes no value` : `${flag} needs a value`;
    }
    default:
      return text;
  }
}

/** A string option the command declares `required` (or gives a default), so present once parsed. */
export function requiredOption(args: ParsedArgs, name: string): string {
  return need(args.options, name);
}

/** The value of option `--name`, or a usage error naming it. */
export function need(options: ReadonlyMap<string, string>, name: string): string {
  const v = options.get(name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

/**
 * The value `text` of the option `name` as a whole number in [min, max]: decimal digits only (no
 * sign, exponent or spaces, which `Number()` would let through).
 */
export function wholeNumber(text: string, name: string, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name}: a whole number ${max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `${min}..${max}`}`);
  }
  return n;
}
