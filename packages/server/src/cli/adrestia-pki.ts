// The `adrestia-pki` binary: `serve`, `init`, `join`, `dev`, and the client commands `status`,
// `issue`, `revoke`, `renew`, `cluster` (declared in commands.ts). Exit status: 0 done, 1 refused
// or failed, 2 usage (a UsageError: unknown command, flag or subcommand, a missing value).
import { runCommand, UsageError } from './args.ts';
import { ADRESTIA_PKI } from './commands.ts';
import { groupUsage } from './usage-text.ts';

const PROGRAM = 'adrestia-pki';
const USAGE = groupUsage(PROGRAM, [], ADRESTIA_PKI);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  const run = Object.hasOwn(ADRESTIA_PKI.subcommands, command) ? ADRESTIA_PKI.subcommands[command] : undefined;
  if (run === undefined) {
    process.stderr.write(`${PROGRAM}: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  return runCommand(PROGRAM, [command], run, rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      const command = err.command === undefined ? PROGRAM : `${PROGRAM} ${err.command}`;
      process.stderr.write(`${command}: ${err.message} (see ${command} --help)\n`);
      process.exitCode = 2;
      return;
    }
    const e = err as { code?: string; message?: string };
    process.stderr.write(`${PROGRAM}: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
