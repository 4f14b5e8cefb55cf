// `adrestia-pki cluster …`: the cluster map and the admin operations over HTTPS with the admin
// token — `map`, `remove-node ID`, `set-profile NAME FILE`, `remove-profile NAME`,
// `token --az AZ [--ttl S] [--node ID]`, `az add NAME --subnets CIDR[,CIDR…] --vip IP`,
// `az remove NAME`, `az refound NAME [--force]` (their options: commands.ts); `rotate-root` and `rotate-kek` are ca-lifecycle-command.ts. Trust is pinned to the cluster root (--ca), as for `issue`.
import { readFile } from 'node:fs/promises';
import { jsonOf, type HttpCallOptions, type HttpCallResult } from '../peer/http-request.ts';
import { requiredOption, wholeNumber, type ParsedArgs } from './args.ts';
import { fail, tlsOptions } from './client-commands.ts';
import { call, httpsUrl } from './cluster-call.ts';

type Method = NonNullable<HttpCallOptions['method']>;

/** The admin request `method path` to the cluster `--url`, trusted and authenticated as `--ca`, `--token-file` say. */
export async function adminCall(args: ParsedArgs, method: Method, path: string, body?: Buffer): Promise<HttpCallResult> {
  const tls = await tlsOptions(args.options);
  return call(`${httpsUrl(args.options)}${path}`, { ...tls, method, ...(body === undefined ? {} : { body }) });
}

/** The positional argument `index`: commands.ts declares how many each subcommand takes. */
function positional(args: ParsedArgs, index: number): string {
  const v = args.positionals[index];
  if (v === undefined) throw new TypeError(`positional argument ${index} was not parsed`);
  return v;
}

export async function clusterMap(args: ParsedArgs): Promise<number> {
  const r = await adminCall(args, 'GET', '/api/v1/clusterMap?since=0');
  if (r.status !== 200) return fail(r);
  process.stdout.write(`${JSON.stringify(jsonOf(r), null, 2)}\n`);
  return 0;
}

export async function removeNode(args: ParsedArgs): Promise<number> {
  const r = await adminCall(args, 'DELETE', `/api/v1/nodes/${encodeURIComponent(positional(args, 0))}`);
  if (r.status !== 200) return fail(r);
  const done = jsonOf(r) as { nodeId: string; revoked: { serialHex: string }[] };
  process.stdout.write(`removed ${done.nodeId}; revoked ${done.revoked.map((c) => c.serialHex).join(', ') || 'nothing more'}\n`);
  return 0;
}

export async function setProfile(args: ParsedArgs): Promise<number> {
  const name = positional(args, 0);
  const body = await readFile(positional(args, 1));
  const r = await adminCall(args, 'PUT', `/api/v1/profiles/${encodeURIComponent(name)}`, body);
  if (r.status !== 200) return fail(r);
  process.stdout.write(`profile ${name} set\n`);
  return 0;
}

export async function removeProfile(args: ParsedArgs): Promise<number> {
  const name = positional(args, 0);
  const r = await adminCall(args, 'DELETE', `/api/v1/profiles/${encodeURIComponent(name)}`);
  if (r.status !== 200) return fail(r);
  process.stdout.write(`profile ${name} removed\n`);
  return 0;
}

/** Prints only the token on stdout, so `… cluster token --az az2 > token-file` works. */
export async function joinToken(args: ParsedArgs): Promise<number> {
  const az = requiredOption(args, 'az');
  const ttl = args.options.get('ttl');
  // The range is the cluster's to judge (packages/server/src/api/admin-routes.ts).
  const ttlSeconds = ttl === undefined ? undefined : wholeNumber(ttl, 'ttl', 0);
  const node = args.options.get('node');
  const body = JSON.stringify({ az, ...(ttlSeconds === undefined ? {} : { ttlSeconds }), ...(node === undefined ? {} : { nodeId: node }) });
  const r = await adminCall(args, 'POST', '/api/v1/join-tokens', Buffer.from(body));
  if (r.status !== 201) return fail(r);
  const issued = jsonOf(r) as { token: string; expiresAt: string };
  process.stdout.write(`${issued.token}\n`);
  process.stderr.write(`join token for AZ ${az}, valid until ${issued.expiresAt}\n`);
  return 0;
}

/** `acme eab`: prints `keyId hmacKey` (base64url), what `lego --eab --kid --hmac` and `certbot --eab-kid --eab-hmac-key` take. */
export async function acmeEab(args: ParsedArgs): Promise<number> {
  const r = await adminCall(args, 'POST', '/api/v1/acme/eab-keys', Buffer.from('{}'));
  if (r.status !== 201) return fail(r);
  const issued = jsonOf(r) as { keyId: string; hmacKey: string };
  process.stdout.write(`${issued.keyId} ${issued.hmacKey}\n`);
  process.stderr.write('an ACME external account binding key: key id, then HMAC key; it binds one account\n');
  return 0;
}

/** `az add NAME --subnets A,B --vip IP` declares an AZ ahead of its nodes. */
export async function addAz(args: ParsedArgs): Promise<number> {
  const subnets = requiredOption(args, 'subnets').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const body = JSON.stringify({ subnets, localVip: requiredOption(args, 'vip') });
  const r = await adminCall(args, 'PUT', `/api/v1/azs/${encodeURIComponent(positional(args, 0))}`, Buffer.from(body));
  if (r.status !== 201 && r.status !== 200) return fail(r);
  const az = jsonOf(r) as { name: string; subnets: string[]; localVip: string };
  process.stdout.write(`AZ ${az.name} declared (subnets ${az.subnets.join(', ')}, local VIP ${az.localVip}); its first node founds it\n`);
  return 0;
}

/** `az refound NAME [--force]`: the AZ's next fresh node founds it again (pki-core node/admin/az-refound.ts). */
export async function refoundAz(args: ParsedArgs): Promise<number> {
  const body = Buffer.from(JSON.stringify({ force: args.switches.has('force') }));
  const r = await adminCall(args, 'POST', `/api/v1/azs/${encodeURIComponent(positional(args, 0))}/refound`, body);
  if (r.status !== 200) return fail(r);
  const done = jsonOf(r) as { name: string; nodes: { nodeId: string }[]; azIcaIssuerId: string | null; refounded: boolean };
  if (!done.refounded) {
    process.stdout.write(`AZ ${done.name} already waits for its first node, which founds it\n`);
    return 0;
  }
  const nodes = done.nodes.map((n) => n.nodeId).join(', ') || 'none left';
  process.stdout.write(`AZ ${done.name} re-founded; its seat left the global group; nodes withdrawn: ${nodes}; new AZ ICA ${done.azIcaIssuerId ?? '?'}; its next fresh node founds it\n`);
  return 0;
}

/** `az remove NAME` decommissions an AZ. */
export async function removeAz(args: ParsedArgs): Promise<number> {
  const r = await adminCall(args, 'DELETE', `/api/v1/azs/${encodeURIComponent(positional(args, 0))}`);
  if (r.status !== 200) return fail(r);
  const done = jsonOf(r) as { name: string; nodes: { nodeId: string }[]; revoked: { serialHex: string }[] };
  const nodes = done.nodes.map((n) => n.nodeId).join(', ') || 'none left';
  process.stdout.write(`AZ ${done.name} removed; nodes withdrawn: ${nodes}; AZ ICA revoked: ${done.revoked.map((c) => c.serialHex).join(', ') || 'already'}\n`);
  return 0;
}
