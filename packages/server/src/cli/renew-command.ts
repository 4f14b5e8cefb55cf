// `adrestia-pki renew`: renewal (docs/spec.md §5.8). A new key is generated here (it never leaves
// this machine); the request is authenticated by the current certificate over mTLS, and the cluster
// keeps the profile and SANs of the certificate being renewed. Once, or with `--daemon` for as
// long as it runs (renew-daemon.ts).
import { readFile } from 'node:fs/promises';
import { need, UsageError, type ParsedArgs } from './args.ts';
import { readCurrentCertificate } from './renew-current.ts';
import { renewalHooksOf, runRenewalHooks, writeRenewed, type RenewedFiles } from './renew-output.ts';
import { renewTargetOf, requestRenewal } from './renew-request.ts';

/** `--out PREFIX`: PREFIX.key, .crt and .chain.pem; without it the files of `--key` and `--cert` are replaced. */
function filesOf(options: ReadonlyMap<string, string>): RenewedFiles {
  const out = options.get('out');
  if (out === undefined) return { keyPath: need(options, 'key'), chainPath: need(options, 'cert'), leafPath: undefined };
  return { keyPath: `${out}.key`, chainPath: `${out}.chain.pem`, leafPath: `${out}.crt` };
}

export async function renewCommand(args: ParsedArgs): Promise<number> {
  const { options } = args;
  if (args.switches.has('daemon')) {
    if (options.has('out')) throw new UsageError('--out: the daemon replaces the files of --cert and --key in place (it renews them again later)');
    return (await import('./renew-daemon.ts')).renewDaemon(options);
  }
  const hooks = renewalHooksOf(options);
  const current = await readCurrentCertificate(need(options, 'cert'), 'cert');
  const answer = await requestRenewal(await renewTargetOf(options), current, await readFile(need(options, 'key')));
  if (answer.kind === 'refused') {
    process.stderr.write(`HTTP ${answer.status} ${answer.code}: ${answer.message}\n`);
    return 1;
  }
  const files = filesOf(options);
  await writeRenewed(files, answer.keyPem, answer.issued);
  const { issued } = answer;
  const written = [files.leafPath, files.chainPath, `${files.keyPath} (0600)`].filter((f) => f !== undefined).join(', ');
  process.stdout.write(`renewed: serial ${issued.serialHex}, valid until ${issued.notAfter}: ${written}\n`);
  return (await runRenewalHooks(hooks, files, issued)) ? 0 : 1;
}
