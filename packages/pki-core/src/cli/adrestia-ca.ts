// adrestia-ca: the offline CA tool. Creates a root, signs CSRs under a profile, revokes and
// publishes CRLs, and shows certificates, CSRs and CRLs. Exit status: 0 done, 1 refused (a
// PkiError: bad input, policy, I/O), 2 usage, 70 internal error (EX_SOFTWARE, sysexits.h).
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isPkiError } from '../errors.ts';
import { isUsageError } from './args.ts';
import { cmdCrl } from './cmd-crl.ts';
import { cmdInit } from './cmd-init.ts';
import { cmdRevoke } from './cmd-revoke.ts';
import { cmdShow } from './cmd-show.ts';
import { cmdSign } from './cmd-sign.ts';
import { processContext, type CliContext } from './context.ts';

export const USAGE = `usage: adrestia-ca <command> [flags]
  init   --dir DIR [--key-type p256|p384|rsa3072|rsa4096|ed25519] [--subject "CN=…"] [--days N]
         (with ADRESTIA_KEK_FILE set, the root key is stored wrapped under that KEK)
  sign   --dir DIR --csr FILE --profile NAME --out FILE [--san NAME]… [--subject "CN=…"] [--days N] [--der]
         profiles: root azIntermediate nodeIntermediate serverLeaf clientLeaf serverClientLeaf
         (or DIR/profiles.json); --san takes dns:, ip:, uri:, email: or a bare name
  revoke --dir DIR --serial HEX [--reason keyCompromise|cACompromise|affiliationChanged|superseded|cessationOfOperation|privilegeWithdrawn|aACompromise]
  crl    --dir DIR --out FILE [--days N] [--der]
  show   FILE
`;

const COMMANDS: Record<string, (args: readonly string[], ctx: CliContext) => Promise<void>> = {
  init: cmdInit,
  sign: cmdSign,
  revoke: cmdRevoke,
  crl: cmdCrl,
  show: cmdShow,
};

export async function main(argv: readonly string[], ctx: CliContext, err: (text: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? err : ctx.out)(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    err(`adrestia-ca: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  try {
    await run(rest, ctx);
    return 0;
  } catch (e) {
    if (isPkiError(e)) {
      err(`adrestia-ca ${command}: ${e.code}${e.field === undefined ? '' : ` [${e.field}]`}: ${e.message}\n`);
      return isUsageError(e) ? 2 : 1;
    }
    err(`adrestia-ca ${command}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isEntry) {
  process.exitCode = await main(process.argv.slice(2), processContext(), (text) => process.stderr.write(text));
}
