// net/ip.ts: the one IP/CIDR parser used by the state machine, routing, IP SANs and the server's
// config. Its rules are the state machine's (they decide what every replica applies).
import { isIP } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { toHex } from '../src/ca/der.ts';
import {
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIpAddress,
  ipAddressFromOctets,
  ipAddressOctets,
  parseCidr,
  parseIpAddress,
  unmapIpv4,
  type CidrBlock,
  type IpAddress,
} from '../src/net/ip.ts';

function ip(text: string): IpAddress {
  const parsed = parseIpAddress(text);
  if (parsed === undefined) expect.fail(`${text} should parse`);
  return parsed;
}

function cidr(text: string): CidrBlock {
  const parsed = parseCidr(text);
  if (parsed === undefined) expect.fail(`${text} should parse`);
  return parsed;
}

function octetsHex(text: string): string {
  return toHex(ipAddressOctets(ip(text)));
}

describe('RFC 4291 §2.2 / dotted-quad address text', () => {
  it('parses IPv4 and the three IPv6 text forms', () => {
    expect(ip('10.1.1.100')).to.deep.equal({ family: 4, value: 0x0a010164n });
    expect(ip('2001:DB8:0:0:8:800:200C:417A')).to.deep.equal(ip('2001:db8::8:800:200c:417a'));
    expect(ip('::')).to.deep.equal({ family: 6, value: 0n });
    expect(ip('1:2:3:4:5:6:7::')).to.deep.equal({ family: 6, value: 0x0001_0002_0003_0004_0005_0006_0007_0000n });
    expect(ip('::13.1.68.3')).to.deep.equal({ family: 6, value: 0x0d01_4403n });
    expect(ip('1:2:3:4:5:6:10.1.1.100').value & 0xffff_ffffn).to.equal(0x0a010164n);
  });

  it('refuses zone ids, spaces, leading zeros and malformed text', () => {
    for (const text of [
      'fe80::1%eth0', // a zone names a local interface, not a host
      '10.1.1.1%eth0',
      ' 10.1.1.1',
      '10.1.1.1 ',
      '10.01.1.1', // leading zero: octal to some parsers
      '256.1.1.1',
      '10.1.1',
      '10.1.1.1.1',
      'fd00::1::',
      '1:2:3:4:5:6:7:8::', // `::` must stand for at least one group
      '1:2:3:4:5:6:7',
      '12345::',
      '::1.2.3.4:5', // the dotted quad only ends an address
      '::01.2.3.4',
      'example.com',
      '',
    ]) {
      expect(parseIpAddress(text), JSON.stringify(text)).to.equal(undefined);
    }
  });

  it('accepts exactly what node:net accepts, except zone ids (refused) and a dotted quad before `::` (kept: the state machine has always read it)', () => {
    // The state machine's rule decides what replicas apply, so this quirk stays: `1.2.3.4::`
    // reads as 102:304::.
    expect(ip('1.2.3.4::')).to.deep.equal({ family: 6, value: 0x0102_0304n << 96n });
    const atoms = ['0', '1', '00', '01', '255', '256', 'ffff', 'FFFF', 'abcd', '12345', '1.2.3.4', '01.2.3.4', ':', '::', '.', 'fe80', '%eth0'];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...atoms), fc.boolean()), { minLength: 1, maxLength: 10 }), (parts) => {
        const text = parts.map(([atom, colon]) => atom + (colon ? ':' : '')).join('');
        const quadBeforeDoubleColon = /(?:^|:)\d+\.\d+\.\d+\.\d+::/.test(text);
        if (text.includes('%') || quadBeforeDoubleColon) return;
        expect(parseIpAddress(text) !== undefined, JSON.stringify(text)).to.equal(isIP(text) !== 0);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps IPv4-mapped addresses IPv6; unmapIpv4 turns them into IPv4 (RFC 4291 §2.5.5.2)', () => {
    const mapped = ip('::ffff:10.1.1.100');
    expect(mapped.family).to.equal(6);
    expect(ip('::FFFF:0a01:0164')).to.deep.equal(mapped);
    expect(unmapIpv4(mapped)).to.deep.equal(ip('10.1.1.100'));
    expect(unmapIpv4(ip('::10.1.1.100')).family).to.equal(6); // IPv4-compatible is not mapped
    expect(unmapIpv4(ip('10.1.1.100'))).to.deep.equal(ip('10.1.1.100'));
  });
});

describe('RFC 5952 §4 address text', () => {
  it('formats lower case, longest zero run compressed (the first on a tie), no single-group `::`', () => {
    expect(formatIpAddress(ip('2001:DB8:0:0:1:0:0:1'))).to.equal('2001:db8::1:0:0:1');
    expect(formatIpAddress(ip('2001:db8:0:1:1:1:1:1'))).to.equal('2001:db8:0:1:1:1:1:1');
    expect(formatIpAddress(ip('::1'))).to.equal('::1');
    expect(formatIpAddress(ip('::'))).to.equal('::');
    expect(formatIpAddress(ip('fe80::'))).to.equal('fe80::');
    expect(formatIpAddress(ip('::ffff:192.0.2.1'))).to.equal('::ffff:c000:201');
    expect(formatIpAddress(ip('10.0.0.255'))).to.equal('10.0.0.255');
  });

  it('round-trips every IPv6 value, formatted as the WHATWG URL parser formats it (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.boolean(), (raw, sparse) => {
        // Sparse values exercise the zero-run compression.
        let value = raw;
        if (sparse) for (let g = 0n; g < 8n; g += 2n) value &= ~(0xffffn << (g * 16n));
        const text = formatIpAddress({ family: 6, value });
        expect(parseIpAddress(text)).to.deep.equal({ family: 6, value });
        expect(`[${text}]`).to.equal(new URL(`http://[${text}]/`).hostname);
      }),
      { numRuns: 500 },
    );
  });
});

describe('RFC 5280 §4.2.1.6 iPAddress octets', () => {
  it('encodes 4 or 16 network-order octets, embedded IPv4 included', () => {
    expect(octetsHex('127.1.0.10')).to.equal('7f01000a');
    expect(octetsHex('::1')).to.equal('00000000000000000000000000000001');
    expect(octetsHex('2001:db8::8:800:200c:417a')).to.equal('20010db80000000000080800200c417a');
    expect(octetsHex('::ffff:192.0.2.1')).to.equal('00000000000000000000ffffc0000201');
  });

  it('decodes only 4 or 16 octets', () => {
    expect(ipAddressFromOctets(Uint8Array.of(10, 1, 1, 100))).to.deep.equal(ip('10.1.1.100'));
    expect(ipAddressFromOctets(new Uint8Array(5))).to.equal(undefined);
    expect(ipAddressFromOctets(new Uint8Array(0))).to.equal(undefined);
  });

  it('round-trips any 4 or 16 octets (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), (octets) => {
        const address = ipAddressFromOctets(octets)!;
        expect(toHex(ipAddressOctets(address))).to.equal(toHex(octets));
        expect(parseIpAddress(formatIpAddress(address))).to.deep.equal(address);
      }),
      { numRuns: 300 },
    );
  });
});

describe('RFC 4632 §3.1 / RFC 4291 §2.3 CIDR blocks', () => {
  it('parses IPv4 and IPv6 blocks and formats them back', () => {
    expect(cidr('10.1.1.0/24')).to.deep.equal({ family: 4, base: 0x0a010100n, prefixBits: 24 });
    expect(formatCidr(cidr('FD00:1:2::/48'))).to.equal('fd00:1:2::/48');
    expect(formatCidr(cidr('0.0.0.0/0'))).to.equal('0.0.0.0/0');
    expect(formatCidr(cidr('10.1.1.7/32'))).to.equal('10.1.1.7/32');
  });

  it('refuses host bits set (IPv4 and IPv6), bad prefixes, zone ids and missing prefixes', () => {
    for (const text of ['10.1.1.7/24', 'fd00::1/64', '10.1.1.0/33', '::/129', '10.1.1.0/024', '10.1.1.0/2x', '10.1.1.0/', '10.1.1.0', 'fe80::%eth0/64', '10.01.1.0/24', '10.1.1.0/24 ', ' 10.1.1.0/24', '10.1.1.0/-1']) {
      expect(parseCidr(text), JSON.stringify(text)).to.equal(undefined);
    }
  });

  it('keeps an IPv4-mapped block IPv6: it holds no IPv4 address and overlaps no IPv4 block', () => {
    const mapped = cidr('::ffff:10.1.1.0/120');
    expect(mapped.family).to.equal(6);
    expect(cidrContains(mapped, ip('::ffff:10.1.1.5'))).to.equal(true);
    expect(cidrContains(mapped, ip('10.1.1.5'))).to.equal(false);
    expect(cidrsOverlap(mapped, cidr('10.1.1.0/24'))).to.equal(false);
  });

  it('holds the addresses inside only, of its own family', () => {
    const v4 = cidr('10.1.1.0/24');
    expect(cidrContains(v4, ip('10.1.1.100'))).to.equal(true);
    expect(cidrContains(v4, ip('10.1.1.255'))).to.equal(true);
    expect(cidrContains(v4, ip('10.1.2.0'))).to.equal(false);
    const v6 = cidr('fd00:1:2::/48');
    expect(cidrContains(v6, ip('fd00:1:2:ffff::1'))).to.equal(true);
    expect(cidrContains(v6, ip('fd00:1:3::1'))).to.equal(false);
    expect(cidrContains(v6, ip('10.1.1.1'))).to.equal(false);
    expect(cidrContains(cidr('::/0'), ip('10.1.1.1'))).to.equal(false);
    expect(cidrContains(cidr('0.0.0.0/0'), ip('203.0.113.9'))).to.equal(true);
  });

  it('overlaps exactly when one block holds the other', () => {
    expect(cidrsOverlap(cidr('10.0.0.0/8'), cidr('10.1.1.0/24'))).to.equal(true);
    expect(cidrsOverlap(cidr('10.1.1.0/24'), cidr('10.0.0.0/8'))).to.equal(true);
    expect(cidrsOverlap(cidr('10.1.1.0/24'), cidr('10.1.2.0/24'))).to.equal(false);
    expect(cidrsOverlap(cidr('fd00::/8'), cidr('fd00:1::/32'))).to.equal(true);
    expect(cidrsOverlap(cidr('0.0.0.0/0'), cidr('::/0'))).to.equal(false);
  });

  it('matches exactly the addresses that share the prefix bits (property)', () => {
    fc.assert(
      fc.property(fc.nat(0xffff_ffff), fc.nat(0xffff_ffff), fc.integer({ min: 0, max: 32 }), (net, addr, len) => {
        const mask = len === 0 ? 0 : (0xffff_ffff << (32 - len)) >>> 0;
        const network = (net & mask) >>> 0;
        const block = cidr(`${formatIpAddress({ family: 4, value: BigInt(network) })}/${len}`);
        const inside = ((addr & mask) >>> 0) === network;
        expect(cidrContains(block, { family: 4, value: BigInt(addr) })).to.equal(inside);
        const single = cidr(`${formatIpAddress({ family: 4, value: BigInt(addr) })}/32`);
        expect(cidrsOverlap(block, single)).to.equal(inside);
      }),
      { numRuns: 300 },
    );
  });
});
