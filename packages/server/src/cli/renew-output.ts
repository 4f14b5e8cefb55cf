// What a renewal leaves behind: the new key and chain written over the old ones, then the
// service told (`--exec CMD`, `--pid-file F` with `--signal SIG`), as certbot's deploy hooks and
// step-ca's `renew --exec` do.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { writeFileAtomic } from '@adrestia/pki-core/support';
import { UsageError, wholeNumber } from './args.ts';

/** The cluster's answer to an issuance or renewal (packages/server/src/api/secure-routes.ts sendLeaf). */
export interface IssuedAnswer {
  readonly serialHex: string;
  readonly certificatePem: string;
  readonly chainPem: string;
  readonly notAfter: string;
}

export interface RenewedFiles {
  readonly keyPath: string;
  /** Leaf first, then its issuers (what `renew --cert` reads back). */
  readonly chainPath: string;
  /** The leaf alone (`--out PREFIX`: PREFIX.crt). */
  readonly leafPath: string | undefined;
}

export interface RenewalHooks {
  readonly exec: string | undefined;
  readonly pidFile: string | undefined;
  readonly signal: NodeJS.Signals;
}

/** A deploy command that hangs is killed after this. */
const EXEC_TIMEOUT_MS = 120_000;
const EXEC_OUTPUT_BYTES_MAX = 64 * 1024;

export function renewalHooksOf(options: ReadonlyMap<string, string>): RenewalHooks {
  const signal = options.get('signal') ?? 'SIGHUP';
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`).toUpperCase();
  if (!Object.hasOwn(constants.signals, name)) throw new UsageError(`--signal: ${JSON.stringify(signal)} is not a signal name (e.g. HUP, USR1)`);
  if (options.has('signal') && !options.has('pid-file')) throw new UsageError('--signal needs --pid-file (the process to signal)');
  return { exec: options.get('exec'), pidFile: options.get('pid-file'), signal: name as NodeJS.Signals };
}

/**
 * The key first (0600), then the chain, each written whole and renamed into place
 * (pki-core fs/atomic-file.ts), so neither file is ever seen half-written.
 */
export async function writeRenewed(files: RenewedFiles, keyPem: string, issued: IssuedAnswer): Promise<void> {
  await writeFileAtomic(files.keyPath, keyPem, 0o600, files.leafPath === undefined ? '--key' : '--out');
  if (files.leafPath !== undefined) await writeFileAtomic(files.leafPath, issued.certificatePem, 0o644, '--out');
  await writeFileAtomic(files.chainPath, issued.chainPem, 0o644, files.leafPath === undefined ? '--cert' : '--out');
}

/** Runs the hooks once the files are in place; false (and a line on stderr) if one failed. */
export async function runRenewalHooks(hooks: RenewalHooks, files: RenewedFiles, issued: IssuedAnswer): Promise<boolean> {
  let ok = true;
  if (hooks.exec !== undefined) {
    const env = { ...process.env, ADRESTIA_CERT: files.chainPath, ADRESTIA_KEY: files.keyPath, ADRESTIA_SERIAL: issued.serialHex, ADRESTIA_NOT_AFTER: issued.notAfter };
    const failure = await new Promise<string | null>((resolve) => {
      execFile('/bin/sh', ['-c', hooks.exec as string], { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: EXEC_OUTPUT_BYTES_MAX }, (err, _stdout, stderr) => {
        resolve(err === null ? null : `${err.message.split('\n')[0] ?? ''} ${stderr.trim()}`.trim());
      });
    });
    if (failure !== null) {
      process.stderr.write(`renew: --exec failed: ${failure}\n`);
      ok = false;
    }
  }
  if (hooks.pidFile !== undefined) {
    try {
      const pid = wholeNumber((await readFile(hooks.pidFile, 'utf8')).trim(), 'pid-file', 1);
      process.kill(pid, hooks.signal);
    } catch (e) {
      process.stderr.write(`renew: cannot signal the process in ${hooks.pidFile}: ${e instanceof Error ? e.message : String(e)}\n`);
      ok = false;
    }
  }
  return ok;
}
