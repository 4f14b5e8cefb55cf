// Requests are routed by REMOTE_ADDR (the client's IP; pki-core cluster/routing.ts). A dual-stack
// listener reports IPv4 clients as IPv4-mapped IPv6 (`::ffff:10.1.1.100`, RFC 4291 §2.5.5.2);
// subnet matching and the audit text (`admin@10.1.1.100`) use the plain IPv4 form, so it is
// normalized here once.
import { formatIpAddress, parseIpAddress, unmapIpv4 } from '@adrestia/pki-core/support';

/** The socket's remote address with IPv4-mapped IPv6 turned into IPv4; '' when unknown. */
export function normalizeRemoteAddr(address: string | undefined): string {
  if (address === undefined) return '';
  const ip = parseIpAddress(address);
  if (ip !== undefined && ip.family === 6) {
    const unmapped = unmapIpv4(ip);
    if (unmapped.family === 4) return formatIpAddress(unmapped);
  }
  return address.toLowerCase();
}
