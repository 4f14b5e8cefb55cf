// 000_… routes requests by REMOTE_ADDR (the client's IP). A dual-stack listener reports IPv4
// clients as IPv4-mapped IPv6 (`::ffff:10.1.1.100`, RFC 4291 §2.5.5.2); subnet matching needs the
// plain IPv4 form, so it is normalized here once.
import { isIP } from 'node:net';

const MAPPED_V4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** The socket's remote address with IPv4-mapped IPv6 turned into IPv4; '' when unknown. */
export function normalizeRemoteAddr(address: string | undefined): string {
  if (address === undefined) return '';
  const mapped = MAPPED_V4.exec(address);
  if (mapped !== null && isIP(mapped[1] ?? '') === 4) return mapped[1] ?? '';
  return address.toLowerCase();
}
