// Rules that span fields, run after every field parsed.
import { cidrsOverlap, parseCidr, type CidrBlock } from '@adrestia/pki-core/support';
import type { ConfigFile } from './schema.ts';
import type { Issue } from './spec.ts';

export function crossFieldIssues(c: ConfigFile): Issue[] {
  const issues: Issue[] = [];
  // Raft §5.2/§9.3: broadcast time ≪ election timeout, else followers time out between heartbeats.
  if (c.raft.electionTicks < 2 * c.raft.heartbeatTicks) {
    issues.push({ path: 'raft.electionTicks', message: 'must be at least twice raft.heartbeatTicks' });
  }
  if (c.timeouts.headersMs > c.timeouts.requestMs) {
    issues.push({ path: 'timeouts.headersMs', message: 'must not exceed timeouts.requestMs' });
  }
  if (c.nodeRemoveAfterSeconds <= c.nodeInactiveAfterSeconds) {
    issues.push({ path: 'nodeRemoveAfterSeconds', message: 'must be greater than nodeInactiveAfterSeconds' });
  }
  if (c.vip.mode === 'exec' && c.vip.command === undefined) {
    issues.push({ path: 'vip.command', message: 'required when vip.mode is exec' });
  }
  if (c.advertiseAddress === undefined && isWildcard(c.raft.host)) {
    issues.push({ path: 'advertiseAddress', message: 'required when raft.host is a wildcard address' });
  }
  if (c.azs !== undefined) issues.push(...azIssues(c.azs, c.az));
  issues.push(...acmeDirectoryIssues(c.acme.directories));
  return issues;
}

/** Path segments of the ACME resources (packages/server/src/acme/acme-urls.ts): no directory may take one. */
const ACME_RESOURCE_SEGMENTS = new Set(['directory', 'new-nonce', 'new-account', 'new-order', 'acct', 'order', 'authz', 'chall', 'cert', 'revoke-cert', 'key-change', 'renewal-info']);

function acmeDirectoryIssues(directories: ConfigFile['acme']['directories']): Issue[] {
  const issues: Issue[] = [];
  const names = new Map<string, number>();
  directories.forEach((d, i) => {
    if (ACME_RESOURCE_SEGMENTS.has(d.name)) issues.push({ path: `acme.directories[${i}].name`, message: `${d.name} is the path of an ACME resource` });
    if (names.has(d.name)) issues.push({ path: `acme.directories[${i}].name`, message: `duplicate directory name (also acme.directories[${names.get(d.name)}])` });
    names.set(d.name, i);
  });
  return issues;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/**
 * docs/spec.md §4.1 routes a client to its AZ by REMOTE_ADDR (§2.2.2): every subnet must belong to
 * exactly one AZ, so overlapping subnets across AZs are refused, as are duplicate names and local
 * VIPs.
 */
function azIssues(azs: NonNullable<ConfigFile['azs']>, ownAz: string): Issue[] {
  const issues: Issue[] = [];
  const names = new Map<string, number>();
  const vips = new Map<string, number>();
  azs.forEach((az, i) => {
    if (names.has(az.name)) issues.push({ path: `azs[${i}].name`, message: `duplicate AZ name (also azs[${names.get(az.name)}])` });
    names.set(az.name, i);
    if (vips.has(az.localVip)) issues.push({ path: `azs[${i}].localVip`, message: `duplicate local VIP (also azs[${vips.get(az.localVip)}])` });
    vips.set(az.localVip, i);
  });
  if (!names.has(ownAz)) issues.push({ path: 'az', message: `not one of the AZs listed in azs` });
  const subnets = azs.flatMap((az, i) => az.subnets.map((s, j) => ({ az: i, path: `azs[${i}].subnets[${j}]`, block: parsedCidr(s) })));
  for (let x = 0; x < subnets.length; x++) {
    for (let y = x + 1; y < subnets.length; y++) {
      const a = subnets[x]!;
      const b = subnets[y]!;
      if (a.az !== b.az && cidrsOverlap(a.block, b.block)) issues.push({ path: b.path, message: `overlaps ${a.path} of another AZ` });
    }
  }
  return issues;
}

/** A subnet the `cidr()` spec already accepted (cross-field checks run only on a parsed file). */
function parsedCidr(text: string): CidrBlock {
  const block = parseCidr(text);
  if (block === undefined) throw new Error(`config checks: subnet ${JSON.stringify(text)} passed the cidr() spec but does not parse`);
  return block;
}
