// `adrestia-ca crl`: a fresh CRL of everything revoked in the index. The incremented CRL number
// is saved before the file is written (RFC 5280 §5.2.3: numbers only increase, never reused).
import { buildCrl } from '../ca/crl.ts';
import { truncateToSeconds } from '../ca/time.ts';
import { optionalDays, parseFlags, requiredString } from './args.ts';
import { writeFileAtomic } from '../fs/atomic-file.ts';
import { readIndex, readState, withCaLock, writeState } from './ca-dir.ts';
import { loadCa } from './ca-signer.ts';
import type { CliContext } from './context.ts';

/** nextUpdate defaults to a week: an offline root publishes rarely (RFC 5280 §5.1.2.5). */
const defaultCrlValidityDays = 7;

export async function cmdCrl(args: readonly string[], ctx: CliContext): Promise<void> {
  const flags = parseFlags(args, { dir: { type: 'string' }, out: { type: 'string' }, der: { type: 'boolean' }, days: { type: 'string' } });
  const dir = requiredString(flags, 'dir');
  const out = requiredString(flags, 'out');
  const validitySeconds = optionalDays(flags) ?? defaultCrlValidityDays * 86_400;
  await withCaLock(dir, async () => {
    const state = await readState(dir);
    const ca = await loadCa(dir, state, ctx.env);
    const index = await readIndex(dir);
    const thisUpdate = truncateToSeconds(ctx.now());
    const crlNumber = BigInt(state.crlNumber) + 1n;
    const revoked = index.flatMap((e) => (e.revoked === null ? [] : [{ serialHex: e.serial, revokedAt: new Date(e.revoked.at), reason: e.revoked.reason }]));
    const crl = await buildCrl({
      issuer: ca.certDer,
      signer: ca.signer,
      crlNumber,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + validitySeconds * 1000),
      revoked,
    });
    await writeState(dir, { ...state, crlNumber: crlNumber.toString() });
    await writeFileAtomic(out, flags.values['der'] === true ? crl.der : crl.pem, 0o644, '--out');
    ctx.out(`CRL number ${crlNumber} with ${revoked.length} revoked certificate(s) → ${out}\n`);
  });
}
