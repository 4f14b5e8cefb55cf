// Request routing by client address (docs/spec.md §4), as a pure decision: the server supplies
// REMOTE_ADDR, the AZ table, who it is and which leaders it knows, and carries out the result.
//
// The rules, in order:
//  1. The client's AZ is the AZ whose subnet contains its address (subnets of different AZs may
//     not overlap, so there is at most one).
//  2. A node never acts for a client of another AZ (docs/spec.md §4.3): it redirects (307, method and
//     body kept) to that AZ's local VIP, or, when that AZ has no known local leader, refuses with
//     a retryable ERR_NO_LOCAL_QUORUM: the client retries until its own AZ elects one.
//  3. Inside the client's AZ: status and public reads are answered by any node (public,
//     replicated data; the cluster map carries its generation). Issuance and registration are
//     AZ-local-log operations: the local leader answers, other nodes forward to it. Revocation
//     and admin operations are global-log operations (a revocation is acknowledged only after its
//     global commit): the global leader answers, other nodes forward to it.
//  4. A client in no AZ (its address in no AZ's subnets: a workstation, 127.0.0.1, an ACME client
//     elsewhere) is served by the AZ it reached, as if it were a client of that AZ: no AZ answers
//     for a client *of another AZ*, and such a client belongs to none. Registration is refused
//     (ERR_AZ_UNKNOWN): a node must sit in its AZ's subnets.
//  5. A client of an AZ that has no local group yet (declared, not founded): `status` is refused
//     with ERR_AZ_UNKNOWN (HTTP 404), which is exactly the start-up signal "found the AZ"
//     (docs/spec.md §3.3.3). Public reads, revocation and admin are served by the global leader
//     (other nodes redirect to the global VIP). Issuance and registration are refused with
//     ERR_AZ_UNKNOWN: both are bound to an AZ and no AZ may answer for another.
//  6. A discovering node names its AZ (`claimedAz`): when that AZ is unknown or not founded, its
//     `status` is ERR_AZ_UNKNOWN whatever its address, so a node of a new AZ, whose subnets the
//     cluster does not know yet, is told to found it rather than served as a client in no AZ.
import type { NodeId } from '@adrestia/consensus';
import { PkiError, type PkiErrorCode } from '../errors.ts';
import { AZ_NAME } from './cluster-map.ts';
import { cidrContains, cidrsOverlap, formatCidr, parseCidr, parseIpAddress, unmapIpv4, type CidrBlock, type IpAddress } from '../net/ip.ts';

export type RequestClass = 'status' | 'publicRead' | 'issue' | 'register' | 'revoke' | 'admin';

export interface AzRouteInput {
  name: string;
  subnets: readonly string[];
  localVip: string;
  /** True once the AZ's local group exists (its first node founded it). */
  founded: boolean;
}

interface AzRoute {
  readonly name: string;
  readonly subnets: readonly CidrBlock[];
  readonly localVip: string;
  readonly founded: boolean;
}

export interface RoutingTable {
  readonly azs: readonly AzRoute[];
  readonly globalVip: string;
}

/** The node that received the request. The global leader is always also a local leader. */
export interface Receiver {
  nodeId: NodeId;
  az: string;
  isGlobalLeader: boolean;
  isLocalLeader: boolean;
}

/** Leaders as the receiving node currently knows them (from its groups and the cluster map). */
export interface KnownLeaders {
  globalLeader: NodeId | null;
  /** AZ name → that AZ's local leader. */
  localLeaders: Readonly<Record<string, NodeId>>;
}

export type RouteDecision =
  | { kind: 'answer' }
  /** 307 Temporary Redirect to `location` (a VIP); `az` is null for the global VIP. */
  | { kind: 'redirect'; status: 307; location: string; az: string | null }
  | { kind: 'forward'; to: NodeId; target: 'globalLeader' | 'localLeader' }
  | { kind: 'refuse'; code: PkiErrorCode; retryable: boolean; reason: string };

export interface RouteRequest {
  clientAddress: string;
  requestClass: RequestClass;
  /** A discovering node's own AZ (rule 6): its `status` depends on that AZ being founded. */
  claimedAz?: string;
}

export interface RouteContext {
  table: RoutingTable;
  receiver: Receiver;
  leaders: KnownLeaders;
}

function invalid(field: string, message: string): PkiError {
  return new PkiError('ERR_INPUT_INVALID', `${field}: ${message}`, { field });
}

/** Validates an AZ table; errors name the field (`azs[1].subnets[0]`). */
export function parseRoutingTable(input: { azs: readonly AzRouteInput[]; globalVip: string }): RoutingTable {
  if (input.globalVip.trim() === '') throw invalid('globalVip', 'must not be empty');
  const azs: AzRoute[] = [];
  const names = new Set<string>();
  input.azs.forEach((az, i) => {
    if (!AZ_NAME.test(az.name)) {
      throw invalid(`azs[${i}].name`, `invalid AZ name ${JSON.stringify(az.name)}`);
    }
    if (names.has(az.name)) throw invalid(`azs[${i}].name`, `duplicate AZ name ${az.name}`);
    names.add(az.name);
    if (az.localVip.trim() === '') throw invalid(`azs[${i}].localVip`, 'must not be empty');
    if (az.subnets.length === 0) throw invalid(`azs[${i}].subnets`, 'an AZ needs at least one subnet');
    const subnets = az.subnets.map((s, j) => parseSubnet(s, `azs[${i}].subnets[${j}]`));
    azs.push({ name: az.name, subnets, localVip: az.localVip, founded: az.founded });
  });
  assertNoOverlap(azs);
  return { azs, globalVip: input.globalVip };
}

function parseSubnet(text: string, field: string): CidrBlock {
  const block = parseCidr(text);
  if (block === undefined) throw invalid(field, `${JSON.stringify(text)} is not a CIDR block with its host bits zero`);
  return block;
}

/** The client's address; an IPv4 peer of a dual-stack listener (`::ffff:a.b.c.d`) as IPv4. */
function parseClientAddress(text: string): IpAddress {
  const address = parseIpAddress(text);
  if (address === undefined) throw invalid('clientAddress', `not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
  return unmapIpv4(address);
}

// Overlapping subnets of two AZs would make a client's AZ ambiguous, and two AZs could then both
// claim it (docs/spec.md §4.3); refuse the table instead of picking one.
function assertNoOverlap(azs: readonly AzRoute[]): void {
  for (let i = 0; i < azs.length; i++) {
    for (let j = i + 1; j < azs.length; j++) {
      for (const a of azs[i]!.subnets) {
        for (const b of azs[j]!.subnets) {
          if (!cidrsOverlap(a, b)) continue;
          throw invalid(
            `azs[${j}].subnets`,
            `${formatCidr(b)} of AZ ${azs[j]!.name} overlaps ${formatCidr(a)} of AZ ${azs[i]!.name}`,
          );
        }
      }
    }
  }
}

/** The AZ whose subnets contain the address, or null. */
function azOfAddress(table: RoutingTable, address: IpAddress): AzRoute | null {
  return table.azs.find((az) => az.subnets.some((s) => cidrContains(s, address))) ?? null;
}

function localLeaderOf(leaders: KnownLeaders, az: string): NodeId | null {
  return Object.hasOwn(leaders.localLeaders, az) ? (leaders.localLeaders[az] ?? null) : null;
}

export function decideRoute(request: RouteRequest, context: RouteContext): RouteDecision {
  const { table, receiver } = context;
  const ownAz = table.azs.find((az) => az.name === receiver.az);
  if (ownAz === undefined) throw new Error(`routing: receiver's AZ ${receiver.az} is not in the table`);
  if (receiver.isGlobalLeader && !receiver.isLocalLeader) {
    throw new Error('routing: a global leader is always its AZ local leader');
  }
  if (request.claimedAz !== undefined && request.requestClass === 'status') {
    const claimed = table.azs.find((az) => az.name === request.claimedAz);
    if (claimed === undefined || !claimed.founded) return refuse('ERR_AZ_UNKNOWN', false, `AZ ${request.claimedAz} is not founded`);
  }
  const clientAz = azOfAddress(table, parseClientAddress(request.clientAddress));
  if (clientAz === null) {
    if (request.requestClass === 'register') return refuse('ERR_AZ_UNKNOWN', false, "the node is in no AZ's subnets");
    return routeInOwnAz(request.requestClass, context);
  }
  if (!clientAz.founded) return routeWithoutLocalGroup(request.requestClass, context);
  if (clientAz.name !== receiver.az) return routeToOtherAz(clientAz, context.leaders);
  return routeInOwnAz(request.requestClass, context);
}

function routeToOtherAz(clientAz: AzRoute, leaders: KnownLeaders): RouteDecision {
  if (localLeaderOf(leaders, clientAz.name) === null) {
    return refuse('ERR_NO_LOCAL_QUORUM', true, `AZ ${clientAz.name} has no local leader now; retry`);
  }
  return { kind: 'redirect', status: 307, location: clientAz.localVip, az: clientAz.name };
}

function routeInOwnAz(requestClass: RequestClass, context: RouteContext): RouteDecision {
  const { receiver, leaders } = context;
  switch (requestClass) {
    case 'status':
    case 'publicRead':
      return { kind: 'answer' };
    case 'issue':
    case 'register':
      if (receiver.isLocalLeader) return { kind: 'answer' };
      return forwardTo(localLeaderOf(leaders, receiver.az), 'localLeader', receiver);
    case 'revoke':
    case 'admin':
      if (receiver.isGlobalLeader) return { kind: 'answer' };
      return forwardTo(leaders.globalLeader, 'globalLeader', receiver);
  }
}

function routeWithoutLocalGroup(requestClass: RequestClass, context: RouteContext): RouteDecision {
  const { receiver, leaders, table } = context;
  switch (requestClass) {
    case 'status':
      return refuse('ERR_AZ_UNKNOWN', false, "the client's AZ is not founded");
    case 'issue':
    case 'register':
      return refuse('ERR_AZ_UNKNOWN', false, "the client's AZ is not founded; no AZ answers for another");
    case 'publicRead':
    case 'revoke':
    case 'admin':
      if (receiver.isGlobalLeader) return { kind: 'answer' };
      if (leaders.globalLeader === null) {
        return refuse('ERR_NO_GLOBAL_QUORUM', true, 'no global leader now; retry');
      }
      return { kind: 'redirect', status: 307, location: table.globalVip, az: null };
  }
}

function forwardTo(
  to: NodeId | null,
  target: 'globalLeader' | 'localLeader',
  receiver: Receiver,
): RouteDecision {
  const code = target === 'globalLeader' ? 'ERR_NO_GLOBAL_QUORUM' : 'ERR_NO_LOCAL_QUORUM';
  if (to === null) return refuse(code, true, `no ${target} now; retry`);
  // Our own view says we lead while our role says we do not: the role is changing hands.
  // Forwarding to ourselves would loop, so ask the client to retry.
  if (to === receiver.nodeId) return refuse(code, true, `${target} role is changing; retry`);
  return { kind: 'forward', to, target };
}

function refuse(code: PkiErrorCode, retryable: boolean, reason: string): RouteDecision {
  return { kind: 'refuse', code, retryable, reason };
}
