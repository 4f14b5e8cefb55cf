// `--name value` and `--flag` options after a command word; positional words are returned apart.
import { UsageError } from './serve-command.ts';

export function parseArgs(argv: readonly string[], flags: readonly string[] = []): { options: Map<string, string>; positional: string[] } {
  const options = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    if (flags.includes(name)) {
      options.set(name, 'true');
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    options.set(name, value);
    i++;
  }
  return { options, positional };
}
