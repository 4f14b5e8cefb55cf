// Apply handlers for the cluster map: cluster, settings, AZs, nodes, profiles, join tokens.
// Each checks every precondition before its first write (a rejection must change nothing).
import { cidrsOverlap, parseCidr, type CidrBlock } from '../net/ip.ts';
import type { ClusterSettings, EventOf } from './events.ts';
import { reject, type ApplyMeta, type ApplyResult } from './outcome.ts';
import { raiseMapVersion } from './map-version.ts';
import type { AzPhase, AzRecord, NodeRecord } from './records.ts';
import { certKey, serialKey } from './tables.ts';
import type { StateTxn } from './txn.ts';

async function requireCluster(tx: StateTxn): Promise<void> {
  if ((await tx.getMeta('cluster')) === undefined) reject('ERR_EVENT_REJECTED', 'the cluster has not been created');
}

export async function applyClusterCreated(tx: StateTxn, ev: EventOf<'ClusterCreated'>, meta: ApplyMeta): Promise<ApplyResult> {
  if ((await tx.getMeta('cluster')) !== undefined) reject('ERR_ALREADY_EXISTS', 'the cluster already exists');
  if (await tx.has('cas', ev.rootIssuerId)) reject('ERR_ALREADY_EXISTS', `CA ${ev.rootIssuerId} already exists`);
  tx.putMeta('cluster', { clusterId: ev.clusterId, rootIssuerId: ev.rootIssuerId, createdAt: ev.createdAt });
  tx.putMeta('settings', copySettings(ev.settings));
  tx.put('cas', ev.rootIssuerId, {
    issuerId: ev.rootIssuerId,
    parentIssuerId: null,
    role: 'root',
    az: null,
    nodeId: null,
    certDer: ev.rootCertDer,
    wrappedKey: ev.wrappedRootKey ?? null,
    serialHex: ev.rootSerialHex,
    notAfter: ev.rootNotAfter,
    installedAt: ev.createdAt,
    revokedAt: null,
    index: meta.index,
  });
  // A self-signed root is filed under itself (RFC 5280 §6.1: its issuer is its subject).
  tx.put('certs', certKey(ev.rootIssuerId, ev.rootSerialHex), {
    kind: 'ca',
    issuerId: ev.rootIssuerId,
    serialHex: ev.rootSerialHex,
    certDer: ev.rootCertDer,
    notAfter: ev.rootNotAfter,
    caIssuerId: ev.rootIssuerId,
    role: 'root',
    issuedAt: ev.createdAt,
    index: meta.index,
  });
  tx.put('serials', serialKey(ev.rootSerialHex, ev.rootIssuerId), { issuerId: ev.rootIssuerId, serialHex: ev.rootSerialHex, pruned: false });
  await raiseMapVersion(tx);
  return { type: 'ClusterCreated' };
}

export async function applyClusterSettingsSet(tx: StateTxn, ev: EventOf<'ClusterSettingsSet'>): Promise<ApplyResult> {
  await requireCluster(tx);
  tx.putMeta('settings', copySettings(ev.settings));
  return { type: 'ClusterSettingsSet' };
}

/** Subnets route requests by REMOTE_ADDR (docs/spec.md §2.2.2, §4.1), so no address may belong to two AZs. */
async function checkSubnetsDisjoint(tx: StateTxn, az: { name: string; subnets: string[] }): Promise<void> {
  const blocks = (subnets: string[]): CidrBlock[] => subnets.map((s) => parseCidr(s) ?? reject('ERR_EVENT_REJECTED', `bad CIDR ${s}`));
  const mine = blocks(az.subnets);
  for (let i = 0; i < mine.length; i++) {
    for (let j = i + 1; j < mine.length; j++) {
      if (cidrsOverlap(mine[i]!, mine[j]!)) reject('ERR_EVENT_REJECTED', `subnets ${az.subnets[i]} and ${az.subnets[j]} overlap`);
    }
  }
  for (const [, other] of await tx.range('azs', {})) {
    const theirs = blocks(other.subnets);
    for (const [i, a] of mine.entries()) {
      if (theirs.some((b) => cidrsOverlap(a, b))) {
        reject('ERR_EVENT_REJECTED', `subnet ${az.subnets[i]} overlaps a subnet of AZ ${other.name}`);
      }
    }
  }
}

export async function applyAzAdded(tx: StateTxn, ev: EventOf<'AzAdded'>): Promise<ApplyResult> {
  await requireCluster(tx);
  if (await tx.has('azs', ev.az.name)) reject('ERR_ALREADY_EXISTS', `AZ ${ev.az.name} already exists`);
  await checkSubnetsDisjoint(tx, ev.az);
  tx.put('azs', ev.az.name, azRecord(ev.az, ev.founderNodeId ?? null, ev.at, 'active'));
  await raiseMapVersion(tx);
  return { type: 'AzAdded' };
}

/** An admin's AZ, ahead of its nodes: no founder, no seat (events.ts AzDeclaredEvent). */
export async function applyAzDeclared(tx: StateTxn, ev: EventOf<'AzDeclared'>): Promise<ApplyResult> {
  await requireCluster(tx);
  if (await tx.has('azs', ev.az.name)) reject('ERR_ALREADY_EXISTS', `AZ ${ev.az.name} already exists`);
  await checkSubnetsDisjoint(tx, ev.az);
  for (const [, other] of await tx.range('azs', {})) {
    if (other.localVip === ev.az.localVip) reject('ERR_EVENT_REJECTED', `local VIP ${ev.az.localVip} is AZ ${other.name}'s`);
  }
  tx.put('azs', ev.az.name, azRecord(ev.az, null, ev.at, 'declared'));
  await raiseMapVersion(tx);
  return { type: 'AzDeclared' };
}

/** Exactly one founder per declared AZ: the first `AzFounded` in the global log wins. */
export async function applyAzFounded(tx: StateTxn, ev: EventOf<'AzFounded'>): Promise<ApplyResult> {
  const az = await tx.get('azs', ev.name);
  if (az === undefined) return reject('ERR_AZ_UNKNOWN', `AZ ${ev.name} is unknown`);
  if (az.phase === 'removing') reject('ERR_AZ_REMOVING', `AZ ${ev.name} is being removed`);
  if (az.phase !== 'declared') reject('ERR_ALREADY_EXISTS', `AZ ${ev.name} was founded already (by ${az.founderNodeId ?? 'the cluster founder'})`);
  tx.put('azs', ev.name, { ...az, founderNodeId: ev.founderNodeId, phase: 'active' });
  return { type: 'AzFounded' };
}

/** From any phase; repeating it changes nothing (a retried removal resumes). */
export async function applyAzRemovalStarted(tx: StateTxn, ev: EventOf<'AzRemovalStarted'>): Promise<ApplyResult> {
  const az = await tx.get('azs', ev.name);
  if (az === undefined) return reject('ERR_AZ_UNKNOWN', `AZ ${ev.name} is unknown`);
  if (az.phase !== 'removing') tx.put('azs', ev.name, { ...az, phase: 'removing' });
  return { type: 'AzRemovalStarted' };
}

export async function applyAzRemoved(tx: StateTxn, ev: EventOf<'AzRemoved'>): Promise<ApplyResult> {
  if (!(await tx.has('azs', ev.name))) reject('ERR_AZ_UNKNOWN', `AZ ${ev.name} is unknown`);
  const nodes = await tx.range('nodes', {});
  const remaining = nodes.filter(([, n]) => n.az === ev.name).length;
  if (remaining > 0) reject('ERR_EVENT_REJECTED', `AZ ${ev.name} still has ${remaining} registered nodes`);
  tx.del('azs', ev.name);
  await raiseMapVersion(tx);
  return { type: 'AzRemoved' };
}

/**
 * A founded AZ declared again (events.ts AzRefoundedEvent): every node of it withdrawn first, so
 * the next founder starts the only local group acting for its seat.
 */
export async function applyAzRefounded(tx: StateTxn, ev: EventOf<'AzRefounded'>): Promise<ApplyResult> {
  const az = await tx.get('azs', ev.name);
  if (az === undefined) return reject('ERR_AZ_UNKNOWN', `AZ ${ev.name} is unknown`);
  if (az.phase === 'removing') reject('ERR_AZ_REMOVING', `AZ ${ev.name} is being removed`);
  if (az.phase !== 'active') reject('ERR_EVENT_REJECTED', `AZ ${ev.name} is ${az.phase}: only a founded AZ is re-founded`);
  const remaining = (await tx.range('nodes', {})).filter(([, n]) => n.az === ev.name).length;
  if (remaining > 0) reject('ERR_EVENT_REJECTED', `AZ ${ev.name} still has ${remaining} registered nodes`);
  tx.put('azs', ev.name, { ...az, founderNodeId: null, phase: 'declared' });
  return { type: 'AzRefounded' };
}

function azRecord(az: { name: string; subnets: string[]; localVip: string }, founderNodeId: string | null, at: number, phase: AzPhase): AzRecord {
  return { name: az.name, subnets: az.subnets, localVip: az.localVip, founderNodeId, addedAt: at, phase };
}

export async function applyNodeRegistered(tx: StateTxn, ev: EventOf<'NodeRegistered'>): Promise<ApplyResult> {
  if (await tx.has('nodes', ev.nodeId)) reject('ERR_ALREADY_EXISTS', `node ${ev.nodeId} is already registered`);
  const az = await tx.get('azs', ev.az);
  if (az === undefined) return reject('ERR_AZ_UNKNOWN', `AZ ${ev.az} is unknown`);
  if (az.phase === 'removing') reject('ERR_AZ_REMOVING', `AZ ${ev.az} is being removed`);
  const ica = await tx.get('cas', ev.icaIssuerId);
  if (ica === undefined || ica.role !== 'node' || ica.nodeId !== ev.nodeId || ica.az !== ev.az) {
    reject('ERR_ISSUER_UNKNOWN', `no node CA ${ev.icaIssuerId} for node ${ev.nodeId} in AZ ${ev.az}`);
  }
  const record: NodeRecord = {
    nodeId: ev.nodeId,
    az: ev.az,
    addresses: { api: ev.addresses.api, raft: ev.addresses.raft },
    tlsCertDer: ev.tlsCertDer,
    icaIssuerId: ev.icaIssuerId,
    registeredAt: ev.at,
  };
  tx.put('nodes', ev.nodeId, record);
  await raiseMapVersion(tx);
  return { type: 'NodeRegistered' };
}

/**
 * A registered node's renewed credentials: the node CA must be one of its own, unrevoked; the
 * TLS certificate changes the node's pin in the cluster map (map-version.ts).
 */
export async function applyNodeRenewed(tx: StateTxn, ev: EventOf<'NodeRenewed'>): Promise<ApplyResult> {
  const node = await tx.get('nodes', ev.nodeId);
  if (node === undefined) return reject('ERR_NODE_UNKNOWN', `node ${ev.nodeId} is not registered`);
  const ica = await tx.get('cas', ev.icaIssuerId);
  if (ica === undefined || ica.role !== 'node' || ica.nodeId !== ev.nodeId) {
    reject('ERR_ISSUER_UNKNOWN', `no node CA ${ev.icaIssuerId} for node ${ev.nodeId}`);
  }
  if (ica.revokedAt !== null) reject('ERR_NODE_REVOKED', `node CA ${ev.icaIssuerId} is revoked`);
  tx.put('nodes', ev.nodeId, { ...node, tlsCertDer: ev.tlsCertDer, icaIssuerId: ev.icaIssuerId });
  await raiseMapVersion(tx);
  return { type: 'NodeRenewed' };
}

export async function applyNodeRemoved(tx: StateTxn, ev: EventOf<'NodeRemoved'>): Promise<ApplyResult> {
  if (!(await tx.has('nodes', ev.nodeId))) reject('ERR_NODE_UNKNOWN', `node ${ev.nodeId} is not registered`);
  tx.del('nodes', ev.nodeId);
  await raiseMapVersion(tx);
  return { type: 'NodeRemoved' };
}

/**
 * Marks a registered node inactive or active again (node/aging/). The marking leader's times are
 * taken as they are (apply reads no clock); a mark that changes nothing is accepted and changes
 * nothing, so a retried proposal is harmless. The node's status is a cluster map input.
 */
export async function applyNodeActivityMarked(tx: StateTxn, ev: EventOf<'NodeActivityMarked'>): Promise<ApplyResult> {
  const node = await tx.get('nodes', ev.nodeId);
  if (node === undefined) return reject('ERR_NODE_UNKNOWN', `node ${ev.nodeId} is not registered`);
  if (ev.lastSeenAt > ev.at) reject('ERR_EVENT_REJECTED', 'a node cannot be last seen after it is marked');
  const { inactiveSince, ...active } = node;
  if ((inactiveSince !== undefined) === (ev.activity === 'inactive')) return { type: 'NodeActivityMarked' };
  tx.put('nodes', ev.nodeId, ev.activity === 'inactive' ? { ...active, inactiveSince: ev.lastSeenAt } : active);
  await raiseMapVersion(tx);
  return { type: 'NodeActivityMarked' };
}

export async function applyProfileSet(tx: StateTxn, ev: EventOf<'ProfileSet'>): Promise<ApplyResult> {
  await requireCluster(tx);
  tx.put('profiles', ev.name, { name: ev.name, profile: ev.profile });
  return { type: 'ProfileSet' };
}

export async function applyProfileRemoved(tx: StateTxn, ev: EventOf<'ProfileRemoved'>): Promise<ApplyResult> {
  if (!(await tx.has('profiles', ev.name))) reject('ERR_PROFILE_UNKNOWN', `profile ${ev.name} is unknown`);
  tx.del('profiles', ev.name);
  return { type: 'ProfileRemoved' };
}

export async function applyJoinTokenIssued(tx: StateTxn, ev: EventOf<'JoinTokenIssued'>): Promise<ApplyResult> {
  await requireCluster(tx);
  if (await tx.has('tokens', ev.tokenId)) reject('ERR_ALREADY_EXISTS', `join token ${ev.tokenId} already exists`);
  if (ev.expiresAt <= ev.at) reject('ERR_EVENT_REJECTED', 'a join token must expire after it is issued');
  tx.put('tokens', ev.tokenId, { tokenId: ev.tokenId, az: ev.az, expiresAt: ev.expiresAt, issuedAt: ev.at, usedAt: null, usedBy: null });
  return { type: 'JoinTokenIssued' };
}

/** Single use is enforced here, through the log, so two nodes racing with one token cannot both win. */
export async function applyJoinTokenUsed(tx: StateTxn, ev: EventOf<'JoinTokenUsed'>): Promise<ApplyResult> {
  // A token minted outside the log is first seen here; one issued through the log keeps its record.
  const token = (await tx.get('tokens', ev.tokenId)) ?? {
    tokenId: ev.tokenId,
    az: ev.az,
    expiresAt: ev.expiresAt,
    issuedAt: null,
    usedAt: null,
    usedBy: null,
  };
  if (token.usedAt !== null) reject('ERR_AUTH_TOKEN_USED', `join token ${ev.tokenId} was already used`);
  if (ev.at >= token.expiresAt) reject('ERR_AUTH_TOKEN_EXPIRED', `join token ${ev.tokenId} has expired`);
  if (token.az !== ev.az) reject('ERR_WRONG_AZ', `join token ${ev.tokenId} is for another AZ`);
  tx.put('tokens', ev.tokenId, { ...token, usedAt: ev.at, usedBy: ev.nodeId });
  return { type: 'JoinTokenUsed' };
}

/** The settings as the state keeps them: a copy, with allowed names only when the event has them. */
function copySettings(settings: ClusterSettings): ClusterSettings {
  const { allowedNames } = settings;
  return {
    idempotencyWindowMs: settings.idempotencyWindowMs,
    ...(allowedNames === undefined ? {} : { allowedNames: { dnsDomains: [...allowedNames.dnsDomains], ipCidrs: [...allowedNames.ipCidrs] } }),
  };
}
