// `adrestia-pki renew --daemon`: keeps a certificate renewed for as long as it runs. It sleeps
// until the certificate's renewal point (renew-schedule.ts), renews over mTLS, replaces the key and
// chain files, runs the hooks (renew-output.ts), and sleeps again. SIGHUP renews at once;
// SIGTERM/SIGINT end it (exit 0). A failed attempt is retried with exponential backoff — through
// a failover the cluster answers 503 or not at all for a few seconds — until the certificate
// expires; a refusal that asking again cannot change (revoked, expired, unknown) ends it (exit 1).
import { readFile } from 'node:fs/promises';
import { need } from './args.ts';
import { renewTargetOf, requestRenewal, type RenewalAnswer, type RenewTarget } from './renew-request.ts';
import { readCurrentCertificate, type CurrentCertificate } from './renew-current.ts';
import { renewalHooksOf, runRenewalHooks, writeRenewed, type IssuedAnswer, type RenewalHooks, type RenewedFiles } from './renew-output.ts';
import { renewalDueMs, retryDelayMs } from './renew-schedule.ts';

/** Sleeps are cut into pieces this long: setTimeout holds at most 2^31-1 ms, and a suspended host wakes late. */
const WAIT_SLICE_MS_MAX = 60 * 60_000;
/**
 * The least time between two renewals: a validity so short that its renewal point has passed
 * when it is issued (notBefore is backdated, pki-core ca/resolve-issuance.ts) must not make the
 * daemon renew back to back.
 */
const RENEW_INTERVAL_MS_MIN = 1_000;

type WakeReason = 'due' | 'hup' | 'stop';

/** The daemon's sleep, cut short by SIGHUP (renew now) or SIGTERM/SIGINT (stop). */
class Sleeper {
  private wake: ((why: WakeReason) => void) | null = null;
  private pending: WakeReason | null = null;

  interrupt(why: 'hup' | 'stop'): void {
    if (this.pending !== 'stop') this.pending = why;
    this.wake?.(why);
  }

  /** Sleeps until `dueMs` (wall clock) unless interrupted; a stop stays pending. */
  async until(dueMs: number): Promise<WakeReason> {
    for (;;) {
      const pending = this.pending;
      if (pending !== null) {
        if (pending === 'hup') this.pending = null;
        return pending;
      }
      const leftMs = dueMs - Date.now();
      if (leftMs <= 0) return 'due';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(leftMs, WAIT_SLICE_MS_MAX));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  get stopped(): boolean {
    return this.pending === 'stop';
  }
}

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} renew: ${line}\n`);
}

export async function renewDaemon(options: ReadonlyMap<string, string>): Promise<number> {
  const target = await renewTargetOf(options);
  const hooks = renewalHooksOf(options);
  const files: RenewedFiles = { keyPath: need(options, 'key'), chainPath: need(options, 'cert'), leafPath: undefined };
  const sleeper = new Sleeper();
  const onHup = (): void => sleeper.interrupt('hup');
  const onStop = (): void => sleeper.interrupt('stop');
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  try {
    return await renewLoop(target, hooks, files, sleeper);
  } finally {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  }
}

async function renewLoop(target: RenewTarget, hooks: RenewalHooks, files: RenewedFiles, sleeper: Sleeper): Promise<number> {
  let failures = 0;
  let earliestMs = 0;
  while (!sleeper.stopped) {
    const current = await readCurrentCertificate(files.chainPath, 'cert');
    const { validity } = current;
    const serial = current.leaf.serialNumber.toLowerCase();
    let dueMs: number;
    if (failures === 0) {
      dueMs = Math.max(earliestMs, renewalDueMs(validity, Math.random()));
      log(`serial ${serial} valid until ${new Date(validity.notAfterMs).toISOString()}; renewing at ${new Date(dueMs).toISOString()}`);
    } else {
      dueMs = Date.now() + retryDelayMs(failures, validity, Math.random());
    }
    const why = await sleeper.until(dueMs);
    if (why === 'stop') break;
    if (Date.now() >= validity.notAfterMs) {
      log(`serial ${serial} expired at ${new Date(validity.notAfterMs).toISOString()} before it could be renewed: issue a new certificate`);
      return 1;
    }
    const outcome = await attempt(target, current, files);
    if (outcome === 'permanent') return 1;
    if (outcome === 'retry') {
      failures++;
      continue;
    }
    failures = 0;
    earliestMs = Date.now() + RENEW_INTERVAL_MS_MIN;
    log(`renewed serial ${serial} as ${outcome.serialHex}, valid until ${outcome.notAfter}`);
    await runRenewalHooks(hooks, files, outcome);
  }
  log('stopped');
  return 0;
}

/** One renewal: the new certificate (its files written), or whether to try again. */
async function attempt(target: RenewTarget, current: CurrentCertificate, files: RenewedFiles): Promise<IssuedAnswer | 'retry' | 'permanent'> {
  let answer: RenewalAnswer;
  try {
    answer = await requestRenewal(target, current, await readFile(files.keyPath));
  } catch (e) {
    const { code, message } = e as { code?: string; message?: string };
    log(`attempt failed (${code ?? 'error'}: ${message ?? String(e)}); retrying`);
    return 'retry';
  }
  if (answer.kind === 'refused') {
    log(`refused: HTTP ${answer.status} ${answer.code}: ${answer.message}${answer.permanent ? '; not retried' : '; retrying'}`);
    return answer.permanent ? 'permanent' : 'retry';
  }
  await writeRenewed(files, answer.keyPem, answer.issued);
  return answer.issued;
}
