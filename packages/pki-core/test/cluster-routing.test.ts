import { expect } from 'chai';
import fc from 'fast-check';
import { isPkiError } from '../src/errors.ts';
import {
  decideRoute,
  parseRoutingTable,
  type KnownLeaders,
  type Receiver,
  type RequestClass,
  type RouteDecision,
  type RoutingTable,
} from '../src/cluster/routing.ts';

function expectInvalid(fn: () => unknown, field: string): void {
  try {
    fn();
  } catch (e) {
    expect(isPkiError(e, 'ERR_INPUT_INVALID'), String(e)).to.equal(true);
    expect((e as { field?: string }).field).to.equal(field);
    return;
  }
  expect.fail('expected ERR_INPUT_INVALID');
}

describe('routing table subnets and client addresses (net/ip.ts rules)', () => {
  it('refuses a subnet with host bits set, naming its field', () => {
    const azs = [{ name: 'az-a', subnets: ['10.1.1.0/24', '10.1.2.7/24'], localVip: '10.1.1.10', founded: true }];
    expectInvalid(() => parseRoutingTable({ globalVip: '10.0.0.1', azs }), 'azs[0].subnets[1]');
  });

  it('keeps an IPv4-mapped subnet IPv6, as the state machine does: it overlaps no IPv4 subnet', () => {
    const table = parseRoutingTable({
      globalVip: '10.0.0.1',
      azs: [
        { name: 'az-a', subnets: ['10.1.1.0/24'], localVip: '10.1.1.10', founded: true },
        { name: 'az-b', subnets: ['::ffff:10.1.1.0/120'], localVip: '10.1.1.11', founded: true },
      ],
    });
    expect(table.azs[1]!.subnets[0]!.family).to.equal(6);
  });

  it('refuses a client address that is not an IP address, or carries a zone id', () => {
    const table = parseRoutingTable({ globalVip: '10.0.0.1', azs: [{ name: 'az-a', subnets: ['fe80::/64'], localVip: 'fe80::10', founded: true }] });
    const receiver: Receiver = { nodeId: 'a1', az: 'az-a', isGlobalLeader: true, isLocalLeader: true };
    const leaders: KnownLeaders = { globalLeader: 'a1', localLeaders: { 'az-a': 'a1' } };
    for (const clientAddress of ['fe80::1%eth0', 'example.com', ' 10.1.1.1']) {
      expectInvalid(() => decideRoute({ clientAddress, requestClass: 'status' }, { table, receiver, leaders }), 'clientAddress');
    }
    expect(decideRoute({ clientAddress: 'fe80::1', requestClass: 'status' }, { table, receiver, leaders })).to.deep.equal({ kind: 'answer' });
  });
});

// docs/spec.md §4: AZs on 10.1.1.0/24, 10.2.1.0/24 and 10.3.1.0/24, local leaders on .10, the
// global leader on 10.2.1.10 (so it is also AZ b's local leader).
const GLOBAL_VIP = '10.0.0.1';
const table: RoutingTable = parseRoutingTable({
  globalVip: GLOBAL_VIP,
  azs: [
    { name: 'az-a', subnets: ['10.1.1.0/24'], localVip: '10.1.1.10', founded: true },
    { name: 'az-b', subnets: ['10.2.1.0/24', 'fd00:2::/64'], localVip: '10.2.1.10', founded: true },
    { name: 'az-c', subnets: ['10.3.1.0/24'], localVip: '10.3.1.10', founded: true },
    { name: 'az-d', subnets: ['10.4.1.0/24'], localVip: '10.4.1.10', founded: false },
  ],
});
const leaders: KnownLeaders = {
  globalLeader: 'b1',
  localLeaders: { 'az-a': 'a1', 'az-b': 'b1', 'az-c': 'c1' },
};
const globalLeaderB1: Receiver = { nodeId: 'b1', az: 'az-b', isGlobalLeader: true, isLocalLeader: true };
const localLeaderA1: Receiver = { nodeId: 'a1', az: 'az-a', isGlobalLeader: false, isLocalLeader: true };
const followerA2: Receiver = { nodeId: 'a2', az: 'az-a', isGlobalLeader: false, isLocalLeader: false };

function route(
  clientAddress: string,
  requestClass: RequestClass,
  receiver: Receiver,
  known: KnownLeaders = leaders,
): RouteDecision {
  return decideRoute({ clientAddress, requestClass }, { table, receiver, leaders: known });
}

const answer: RouteDecision = { kind: 'answer' };
const toVip = (location: string, az: string | null): RouteDecision => ({ kind: 'redirect', status: 307, location, az });

describe('docs/spec.md §4 request routing by REMOTE_ADDR', () => {
  it('10.3: the global leader redirects a client of AZ a to AZ a local leader instead of answering', () => {
    for (const cls of ['status', 'publicRead', 'issue', 'register', 'revoke', 'admin'] as const) {
      expect(route('10.1.1.100', cls, globalLeaderB1), cls).to.deep.equal(toVip('10.1.1.10', 'az-a'));
    }
  });

  it('10.4: a new AZ on 10.3.1.0/24 has its clients shed to its own local VIP', () => {
    expect(route('10.3.1.100', 'issue', globalLeaderB1)).to.deep.equal(toVip('10.3.1.10', 'az-c'));
  });

  it('10.6: a local leader of another AZ redirects to the client AZ local VIP', () => {
    expect(route('10.3.1.100', 'status', localLeaderA1)).to.deep.equal(toVip('10.3.1.10', 'az-c'));
    expect(route('::ffff:10.3.1.100', 'issue', followerA2)).to.deep.equal(toVip('10.3.1.10', 'az-c'));
  });

  it('10.5: with no local leader in the client AZ, nobody else answers: refuse, retryable', () => {
    const noLeaderC: KnownLeaders = { globalLeader: 'b1', localLeaders: { 'az-a': 'a1', 'az-b': 'b1' } };
    for (const receiver of [globalLeaderB1, localLeaderA1, followerA2]) {
      expect(route('10.3.1.100', 'issue', receiver, noLeaderC)).to.deep.include({
        kind: 'refuse',
        code: 'ERR_NO_LOCAL_QUORUM',
        retryable: true,
      });
    }
  });

  it('answers its own AZ: the global leader for AZ b clients, over IPv4 and IPv6', () => {
    for (const cls of ['status', 'publicRead', 'issue', 'register', 'revoke', 'admin'] as const) {
      expect(route('10.2.1.77', cls, globalLeaderB1), cls).to.deep.equal(answer);
      expect(route('fd00:2::99', cls, globalLeaderB1), cls).to.deep.equal(answer);
    }
  });

  it('in its own AZ, a local leader answers issuance and registration and forwards revocation and admin to the global leader', () => {
    expect(route('10.1.1.100', 'issue', localLeaderA1)).to.deep.equal(answer);
    expect(route('10.1.1.100', 'register', localLeaderA1)).to.deep.equal(answer);
    expect(route('10.1.1.100', 'status', localLeaderA1)).to.deep.equal(answer);
    const toGlobal: RouteDecision = { kind: 'forward', to: 'b1', target: 'globalLeader' };
    expect(route('10.1.1.100', 'revoke', localLeaderA1)).to.deep.equal(toGlobal);
    expect(route('10.1.1.100', 'admin', localLeaderA1)).to.deep.equal(toGlobal);
  });

  it('a follower answers public reads and forwards writes to the leader that must act', () => {
    expect(route('10.1.1.100', 'publicRead', followerA2)).to.deep.equal(answer);
    expect(route('10.1.1.100', 'issue', followerA2)).to.deep.equal({ kind: 'forward', to: 'a1', target: 'localLeader' });
    expect(route('10.1.1.100', 'revoke', followerA2)).to.deep.equal({ kind: 'forward', to: 'b1', target: 'globalLeader' });
  });

  it('refuses, retryable, when the leader that must act is unknown or the role is changing hands', () => {
    const none: KnownLeaders = { globalLeader: null, localLeaders: {} };
    expect(route('10.1.1.100', 'issue', followerA2, none)).to.deep.include({ code: 'ERR_NO_LOCAL_QUORUM', retryable: true });
    expect(route('10.1.1.100', 'revoke', followerA2, none)).to.deep.include({ code: 'ERR_NO_GLOBAL_QUORUM', retryable: true });
    const staleSelf: KnownLeaders = { globalLeader: 'b1', localLeaders: { 'az-a': 'a2' } };
    expect(route('10.1.1.100', 'issue', followerA2, staleSelf)).to.deep.include({ kind: 'refuse', retryable: true });
  });

  it('docs/spec.md §4: a client in no AZ is served by the AZ it reached, as a client of that AZ; registration is refused', () => {
    // Before, 127.0.0.1 or a workstation outside every subnet got ERR_AZ_UNKNOWN for status and issuance.
    for (const receiver of [globalLeaderB1, localLeaderA1, followerA2]) {
      for (const cls of ['status', 'publicRead', 'issue', 'revoke', 'admin'] as const) {
        expect(route('192.0.2.5', cls, receiver), `${cls} at ${receiver.nodeId}`).to.deep.equal(route(receiver.az === 'az-a' ? '10.1.1.77' : '10.2.1.77', cls, receiver));
      }
      expect(route('192.0.2.5', 'register', receiver)).to.deep.include({ code: 'ERR_AZ_UNKNOWN', retryable: false });
    }
    expect(route('192.0.2.5', 'issue', followerA2)).to.deep.equal({ kind: 'forward', to: 'a1', target: 'localLeader' });
    expect(route('192.0.2.5', 'status', followerA2)).to.deep.equal(answer);
  });

  it('docs/spec.md §3.3.3: a discovering node naming an AZ that is unknown or not founded gets ERR_AZ_UNKNOWN for status, whatever its address', () => {
    for (const receiver of [globalLeaderB1, localLeaderA1, followerA2]) {
      for (const [address, az] of [['192.0.2.5', 'az-new'], ['10.4.1.20', 'az-d'], ['192.0.2.5', 'az-d']] as const) {
        expect(decideRoute({ clientAddress: address, requestClass: 'status', claimedAz: az }, { table, receiver, leaders })).to.deep.include({ code: 'ERR_AZ_UNKNOWN', retryable: false });
      }
      // A founded AZ: routed as usual by the address.
      expect(decideRoute({ clientAddress: '10.1.1.5', requestClass: 'status', claimedAz: 'az-a' }, { table, receiver, leaders })).to.deep.equal(route('10.1.1.5', 'status', receiver));
    }
  });

  it('a client of a declared AZ not founded yet: status ERR_AZ_UNKNOWN (its first node founds it), public reads served', () => {
    expect(route('10.4.1.20', 'status', globalLeaderB1)).to.deep.include({ code: 'ERR_AZ_UNKNOWN', retryable: false });
    expect(route('10.4.1.20', 'publicRead', globalLeaderB1)).to.deep.equal(answer);
  });

  it('a node never answers a write for a client of another AZ (property over addresses and roles)', () => {
    const receivers = [globalLeaderB1, localLeaderA1, followerA2];
    const classes = ['status', 'publicRead', 'issue', 'register', 'revoke', 'admin'] as const;
    fc.assert(
      fc.property(fc.nat(0xff), fc.nat(2), fc.nat(5), fc.nat(2), (host, azIdx, clsIdx, rIdx) => {
        const receiver = receivers[rIdx]!;
        const clientAz = ['az-a', 'az-b', 'az-c'][azIdx]!;
        const decision = route(`10.${azIdx + 1}.1.${host}`, classes[clsIdx]!, receiver);
        if (clientAz !== receiver.az) expect(decision.kind).to.equal('redirect');
        if (decision.kind === 'forward') expect(decision.to).to.not.equal(receiver.nodeId);
      }),
      { numRuns: 300 },
    );
  });
});

describe('AZ routing table validation', () => {
  it('refuses overlapping subnets of two AZs, naming the field', () => {
    expectInvalid(
      () =>
        parseRoutingTable({
          globalVip: GLOBAL_VIP,
          azs: [
            { name: 'a', subnets: ['10.0.0.0/8'], localVip: '10.0.0.10', founded: true },
            { name: 'b', subnets: ['192.168.0.0/16', '10.2.0.0/16'], localVip: '10.2.0.10', founded: true },
          ],
        }),
      'azs[1].subnets',
    );
  });

  it('refuses duplicate names, empty subnets and bad subnets, naming the field', () => {
    const az = (name: string, subnets: string[]) => ({ name, subnets, localVip: '10.9.9.9', founded: true });
    expectInvalid(() => parseRoutingTable({ globalVip: GLOBAL_VIP, azs: [az('a', ['10.1.0.0/16']), az('a', ['10.2.0.0/16'])] }), 'azs[1].name');
    expectInvalid(() => parseRoutingTable({ globalVip: GLOBAL_VIP, azs: [az('a', [])] }), 'azs[0].subnets');
    expectInvalid(() => parseRoutingTable({ globalVip: GLOBAL_VIP, azs: [az('a', ['10.1.0.0/16', 'nope/8'])] }), 'azs[0].subnets[1]');
    expectInvalid(() => parseRoutingTable({ globalVip: '', azs: [] }), 'globalVip');
  });
});
