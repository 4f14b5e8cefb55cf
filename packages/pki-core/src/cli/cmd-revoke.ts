// `adrestia-ca revoke`: mark an issued certificate revoked in the index (the next `crl` lists it).
import { PkiError } from '../errors.ts';
import { REVOCATION_REASONS, type CrlReason } from '../ca/crl-reasons.ts';
import { normalizeSerialHex } from '../ca/serial.ts';
import { truncateToSeconds } from '../ca/time.ts';
import { optionalString, parseFlags, requiredString } from './args.ts';
import { readIndex, readState, withCaLock, writeIndex } from './ca-dir.ts';
import type { CliContext } from './context.ts';

// RFC 5280 §5.3.1: certificateHold is not final; an offline root revokes for good.
const REVOKE_REASONS: readonly CrlReason[] = REVOCATION_REASONS.filter((r) => r !== 'certificateHold');

export async function cmdRevoke(args: readonly string[], ctx: CliContext): Promise<void> {
  const flags = parseFlags(args, { dir: { type: 'string' }, serial: { type: 'string' }, reason: { type: 'string' } });
  const dir = requiredString(flags, 'dir');
  let serial: string;
  try {
    serial = normalizeSerialHex(requiredString(flags, 'serial'));
  } catch (cause) {
    if (cause instanceof PkiError && cause.field === '--serial') throw cause;
    throw new PkiError('ERR_SERIAL_INVALID', '--serial must be the certificate serial in hex', { field: '--serial', cause });
  }
  const reason = (optionalString(flags, 'reason') ?? 'unspecified') as CrlReason;
  if (!REVOKE_REASONS.includes(reason)) throw new PkiError('ERR_INPUT_INVALID', `--reason must be one of ${REVOKE_REASONS.join(', ')}`, { field: '--reason' });
  await withCaLock(dir, async () => {
    await readState(dir);
    const index = await readIndex(dir);
    const at = index.findIndex((e) => e.serial === serial);
    if (at < 0) throw new PkiError('ERR_NOT_FOUND', `no certificate with serial ${serial} was issued by this CA`, { field: '--serial' });
    if (index[at]!.revoked !== null) throw new PkiError('ERR_ALREADY_REVOKED', `certificate ${serial} is already revoked`, { field: '--serial' });
    const revokedAt = truncateToSeconds(ctx.now()).toISOString();
    const next = index.map((e, i) => (i === at ? { ...e, revoked: { at: revokedAt, reason } } : e));
    await writeIndex(dir, next);
    ctx.out(`revoked ${serial} (${reason}) at ${revokedAt}; run \`adrestia-ca crl\` to publish\n`);
  });
}
