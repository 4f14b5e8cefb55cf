// `adrestia-pki needs-renewal CERT`: whether the certificate has reached its renewal point (2/3
// of its validity, renew-schedule.ts), for systemd's ExecCondition= (systemd.service(5)): exit 0
// "yes, renew", 1 "not yet" (the unit is skipped), 255 when the file cannot be read (the unit fails
// visibly instead of being skipped for ever).
import type { ParsedArgs } from './args.ts';
import { readCurrentCertificate, type CurrentCertificate } from './renew-current.ts';
import { renewalThresholdMs } from './renew-schedule.ts';

const EXIT_UNREADABLE = 255;

export async function needsRenewalCommand(args: ParsedArgs): Promise<number> {
  const path = args.positionals[0];
  if (path === undefined) throw new TypeError('CERT was not parsed');
  let current: CurrentCertificate;
  try {
    current = await readCurrentCertificate(path, 'CERT');
  } catch (e) {
    process.stderr.write(`needs-renewal: cannot read a certificate from ${path}: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_UNREADABLE;
  }
  const dueMs = renewalThresholdMs(current.validity);
  const notAfter = new Date(current.validity.notAfterMs).toISOString();
  if (Date.now() >= dueMs) {
    process.stdout.write(`${path}: due for renewal since ${new Date(dueMs).toISOString()} (valid until ${notAfter})\n`);
    return 0;
  }
  process.stdout.write(`${path}: not yet due; renewal from ${new Date(dueMs).toISOString()} (valid until ${notAfter})\n`);
  return 1;
}
