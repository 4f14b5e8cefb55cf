// Usage texts rendered from the commands' declarations (commands.ts), so a text cannot list a flag
// the parser does not take, nor leave one out.
import type { CommandGroup, LeafCommand, OptionSpec } from './command-spec.ts';

const HELP_LINE: readonly [string, string] = ['-h, --help', 'print this usage'];

/** `adrestia-pki issue --help`: the synopsis, what the command does, then one line per option. */
export function leafUsage(program: string, path: readonly string[], command: LeafCommand): string {
  const options = Object.entries(command.options);
  const synopsis = [program, ...path, ...(command.positionals ?? []), ...options.map(([key, o]) => synopsisWord(key, o))];
  const rows = options.map(([key, o]): [string, string] => [flagWithValue(key, o), optionHelp(o)]);
  return `usage: ${synopsis.join(' ')}\n${command.summary}\n\noptions:\n${table([...rows, HELP_LINE])}`;
}

/** `adrestia-pki --help`, `adrestia-pki cluster --help`: every command below the group, one line each. */
export function groupUsage(program: string, path: readonly string[], group: CommandGroup): string {
  const word = path.length === 0 ? 'command' : 'subcommand';
  const head = [program, ...path].join(' ');
  return (
    `usage: ${head} <${word}> [options]\n${group.summary}\n\n${word}s:\n${table(leafRows(group, []))}` +
    `\`${head} <${word}> --help\` lists its options\n`
  );
}

function leafRows(group: CommandGroup, prefix: readonly string[]): [string, string][] {
  return Object.entries(group.subcommands).flatMap(([name, c]) =>
    'subcommands' in c ? leafRows(c, [...prefix, name]) : [[[...prefix, name, ...(c.positionals ?? [])].join(' '), c.summary] as [string, string]],
  );
}

function flagWithValue(key: string, o: OptionSpec): string {
  return o.type === 'boolean' ? `--${key}` : `--${key} ${o.value ?? 'VALUE'}`;
}

function synopsisWord(key: string, o: OptionSpec): string {
  const word = flagWithValue(key, o);
  if (o.required === true) return word;
  return o.multiple === true ? `[${word}]...` : `[${word}]`;
}

function optionHelp(o: OptionSpec): string {
  const notes = [...(o.required === true ? ['required'] : []), ...(o.multiple === true ? ['repeatable'] : []), ...(o.default === undefined ? [] : [`default ${o.default}`])];
  return notes.length === 0 ? o.help : `${o.help} (${notes.join('; ')})`;
}

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}\n`).join('');
}
