// A CRL of an AZ ICA published in the global log by another AZ, for an AZ with no local group to
// publish it: the final one of an AZ being removed (az-admin.ts), and the first one after an AZ
// was lost and re-founded (az-refound.ts). Every AZ applies it (core/pki-application.ts decides
// the tier by the AZ's phase). The AZ's own CRLs were local to it and may not be held here, so the
// number is taken above any counter it could have reached (one CRL per second at most since the
// epoch): RFC 5280 §5.2.3 asks CRL numbers to increase per issuer.
import { buildCrl } from '../../ca/crl.ts';
import { truncateToSeconds } from '../../ca/time.ts';
import type { PkiEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { caSignerFromRecord } from '../ca/ca-common.ts';
import type { KekRing } from '../kek/kek-ring.ts';

export interface AzIcaGlobalCrlInput {
  store: PkiStateQueries;
  issuerId: string;
  kek: Uint8Array | KekRing;
  nowMs: number;
  nextUpdateSeconds: number;
}

/** The CRL listing every revocation the state holds for the AZ ICA, signed with its key (unwrapped with the KEK). */
export async function azIcaGlobalCrl(input: AzIcaGlobalCrlInput): Promise<PkiEvent> {
  const { store, issuerId } = input;
  const rec = await store.getCa(issuerId);
  if (rec === undefined || rec.role !== 'az') throw new TypeError(`azIcaGlobalCrl: ${issuerId} is not an AZ ICA`);
  const issuer = caSignerFromRecord(rec, input.kek);
  const thisUpdate = truncateToSeconds(new Date(input.nowMs));
  const nextUpdate = new Date(thisUpdate.getTime() + input.nextUpdateSeconds * 1000);
  const crlNumber = Math.max(await store.nextCrlNumber(issuerId), Math.floor(thisUpdate.getTime() / 1000));
  const entries = (await store.listRevoked(issuerId)).map((r) => ({ serialHex: r.serialHex, revokedAt: new Date(r.revokedAt), reason: r.reason }));
  const crl = await buildCrl({ issuer: issuer.cert, signer: issuer.signer, crlNumber, thisUpdate, nextUpdate, revoked: entries });
  return { type: 'CrlPublished', issuerId, crlNumber, crlDer: crl.der, thisUpdate: thisUpdate.getTime(), nextUpdate: nextUpdate.getTime() };
}
