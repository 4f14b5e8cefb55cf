// `adrestia-pki cluster …`: the cluster map and the admin operations (seed 001) over HTTPS with
// the admin token — `map`, `remove-node ID`, `set-profile NAME FILE`, `remove-profile NAME`,
// `token --az AZ [--ttl S] [--node ID]`. Trust is pinned to the cluster root (--ca), as for `issue`.
import { readFile } from 'node:fs/promises';
import { jsonOf } from '../peer/http-request.ts';
import { parseArgs } from './args.ts';
import { call, fail, need, tlsOptions } from './client-commands.ts';
import { UsageError } from './serve-command.ts';

const SUBCOMMANDS: readonly string[] = ['map', 'remove-node', 'set-profile', 'remove-profile', 'token'];

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
