// `adrestia-pki cluster …`: the cluster map and the admin operations (seed 001) over HTTPS with
// the admin token — `map`, `remove-node ID`, `set-profile NAME FILE`, `remove-profile NAME`,
// `token --az AZ [--ttl S] [--node ID]`, `az add NAME --subnets CIDR[,CIDR…] --vip IP`,
// `az remove NAME`. Trust is pinned to the cluster root (--ca), as for `issue`.
import { readFile } from 'node:fs/promises';
import { jsonOf } from '../peer/http-request.ts';
import { parseArgs } from './args.ts';
import { fail, need, tlsOptions } from './client-commands.ts';
import { call } from './cluster-call.ts';
import { UsageError } from './serve-command.ts';

const SUBCOMMANDS: readonly string[] = ['map', 'remove-node', 'set-profile', 'remove-profile', 'token', 'az'];
const AZ_ACTIONS: readonly string[] = ['add', 'remove'];

export async function clusterCommand(argv: string[]): Promise<number> {
  const { options, positional } = parseArgs(argv);
  const [sub, ...args] = positional;
  if (sub === undefined || !SUBCOMMANDS.includes(sub)) throw new UsageError(`cluster: one of ${SUBCOMMANDS.join(', ')}`);
  const url = need(options, 'url');
  const tls = await tlsOptions(options);
  const arg = (i: number, what: string): string => {
    const v = args[i];
    if (v === undefined) throw new UsageError(`cluster ${sub}: ${what} is required`);
    return v;
  };
  switch (sub) {
    case 'map': {
      const r = await call(`${url}/api/v1/clusterMap?since=0`, { ...tls, method: 'GET' });
      if (r.status !== 200) return fail(r);
      process.stdout.write(`${JSON.stringify(jsonOf(r), null, 2)}\n`);
      return 0;
    }
    case 'remove-node': {
      const r = await call(`${url}/api/v1/nodes/${encodeURIComponent(arg(0, 'ID'))}`, { ...tls, method: 'DELETE' });
      if (r.status !== 200) return fail(r);
      const done = jsonOf(r) as { nodeId: string; revoked: { serialHex: string }[] };
      process.stdout.write(`removed ${done.nodeId}; revoked ${done.revoked.map((c) => c.serialHex).join(', ') || 'nothing more'}\n`);
      return 0;
    }
    case 'set-profile': {
      const name = arg(0, 'NAME');
      const body = await readFile(arg(1, 'FILE'));
      const r = await call(`${url}/api/v1/profiles/${encodeURIComponent(name)}`, { ...tls, method: 'PUT', body });
      if (r.status !== 200) return fail(r);
      process.stdout.write(`profile ${name} set\n`);
      return 0;
    }
    case 'remove-profile': {
      const name = arg(0, 'NAME');
      const r = await call(`${url}/api/v1/profiles/${encodeURIComponent(name)}`, { ...tls, method: 'DELETE' });
      if (r.status !== 200) return fail(r);
      process.stdout.write(`profile ${name} removed\n`);
      return 0;
    }
    case 'token':
      return joinToken(url, tls, options);
    case 'az':
      return azCommand(url, tls, options, args);
    default:
      throw new UsageError(`cluster: unknown subcommand ${JSON.stringify(sub)}`);
  }
}

/** Prints only the token on stdout, so `… cluster token --az az2 > token-file` works. */
async function joinToken(url: string, tls: Awaited<ReturnType<typeof tlsOptions>>, options: Map<string, string>): Promise<number> {
  const ttl = options.get('ttl');
  const ttlSeconds = ttl === undefined ? undefined : Number(ttl);
  if (ttlSeconds !== undefined && !Number.isSafeInteger(ttlSeconds)) throw new UsageError('--ttl: whole seconds');
  const node = options.get('node');
  const body = JSON.stringify({ az: need(options, 'az'), ...(ttlSeconds === undefined ? {} : { ttlSeconds }), ...(node === undefined ? {} : { nodeId: node }) });
  const r = await call(`${url}/api/v1/join-tokens`, { ...tls, method: 'POST', body: Buffer.from(body) });
  if (r.status !== 201) return fail(r);
  const issued = jsonOf(r) as { token: string; expiresAt: string };
  process.stdout.write(`${issued.token}\n`);
  process.stderr.write(`join token for AZ ${need(options, 'az')}, valid until ${issued.expiresAt}\n`);
  return 0;
}

/** `az add NAME --subnets A,B --vip IP` declares an AZ; `az remove NAME` decommissions one. */
async function azCommand(url: string, tls: Awaited<ReturnType<typeof tlsOptions>>, options: Map<string, string>, args: string[]): Promise<number> {
  const [action, name] = args;
  if (action === undefined || !AZ_ACTIONS.includes(action)) throw new UsageError(`cluster az: one of ${AZ_ACTIONS.join(', ')}`);
  if (name === undefined) throw new UsageError(`cluster az ${action}: NAME is required`);
  const path = `${url}/api/v1/azs/${encodeURIComponent(name)}`;
  if (action === 'add') {
    const subnets = need(options, 'subnets').split(',').map((s) => s.trim()).filter((s) => s !== '');
    const body = JSON.stringify({ subnets, localVip: need(options, 'vip') });
    const r = await call(path, { ...tls, method: 'PUT', body: Buffer.from(body) });
    if (r.status !== 201 && r.status !== 200) return fail(r);
    const az = jsonOf(r) as { name: string; subnets: string[]; localVip: string };
    process.stdout.write(`AZ ${az.name} declared (subnets ${az.subnets.join(', ')}, local VIP ${az.localVip}); its first node founds it\n`);
    return 0;
  }
  const r = await call(path, { ...tls, method: 'DELETE' });
  if (r.status !== 200) return fail(r);
  const done = jsonOf(r) as { name: string; nodes: { nodeId: string }[]; revoked: { serialHex: string }[] };
  const nodes = done.nodes.map((n) => n.nodeId).join(', ') || 'none left';
  process.stdout.write(`AZ ${done.name} removed; nodes withdrawn: ${nodes}; AZ ICA revoked: ${done.revoked.map((c) => c.serialHex).join(', ') || 'already'}\n`);
  return 0;
}
