// @adrestia/pki-core/support: primitives the server shares with the replicated state machine, so
// both apply one rule — IP addresses and CIDR blocks as the state machine parses them (AZ subnets,
// routing by client address, VIPs and IP SANs), and the one atomic file write (keys, TLS files,
// node id, CLI outputs). Only what is used outside this package is listed here.

// IP addresses and CIDR blocks (net/ip.ts).
export { cidrsOverlap, formatIpAddress, parseCidr, parseIpAddress, unmapIpv4, type CidrBlock } from './net/ip.ts';
// Write a whole file or nothing: temp file, fsync, rename, fsync the directory (fs/atomic-file.ts).
export { writeFileAtomic } from './fs/atomic-file.ts';
// A private key file read only at mode 0400 or 0600 (ca/key-file.ts): provisioner keys of the CLI.
export { readPrivateKeyFile } from './ca/key-file.ts';
