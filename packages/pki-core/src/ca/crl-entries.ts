// Reads back which serials a CRL lists (RFC 5280 §5.1.2.6 revokedCertificates). The CRL refresh
// compares them with the revocations the state holds: whether the latest CRL misses one is a
// fact about the CRL's content, whatever order its event and the revocation committed in.
import { normalizeSerialHex } from './serial.ts';
import { children, content, DerError, readTop } from './der-reader.ts';
import { Tag, toHex } from './der.ts';

/** The serials a DER CRL lists, in `normalizeSerialHex` form; throws DerError for a malformed CRL. */
export function crlListedSerials(crlDer: Uint8Array): Set<string> {
  const [tbs] = children(crlDer, readTop(crlDer, Tag.SEQUENCE));
  if (tbs?.tag !== Tag.SEQUENCE) throw new DerError('CRL: no TBSCertList');
  // TBSCertList: version?, signature, issuer, thisUpdate, nextUpdate?, revokedCertificates?, [0] crlExtensions?
  // The list, when present, is the SEQUENCE right after the last Time.
  const fields = children(crlDer, tbs);
  const isTime = (tag: number): boolean => tag === Tag.UTC_TIME || tag === Tag.GENERALIZED_TIME;
  let lastTime = -1;
  fields.forEach((f, i) => {
    if (isTime(f.tag)) lastTime = i;
  });
  if (lastTime < 0) throw new DerError('CRL: no thisUpdate');
  const list = fields[lastTime + 1];
  const serials = new Set<string>();
  if (list?.tag !== Tag.SEQUENCE) return serials;
  for (const entry of children(crlDer, list)) {
    const [serial] = children(crlDer, entry);
    if (serial?.tag !== Tag.INTEGER) throw new DerError('CRL: entry without userCertificate');
    serials.add(normalizeSerialHex(toHex(content(crlDer, serial))));
  }
  return serials;
}
