// `adrestia-pki cluster provisioner add|list|remove` and `adrestia-pki provisioner token` (their options: commands.ts): provisioners
// over the admin API (api/provisioner-routes.ts). `add` reads the provisioner's public key from a
// PEM file (SPKI; a private key file gives its public half, and only that is sent) or a JWK file,
// and builds the policy from the flags; the cluster checks both and names the field at fault.
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { jsonOf } from '../peer/http-request.ts';
import { signProvisionerToken } from '@adrestia/pki-core';
import { readPrivateKeyFile } from '@adrestia/pki-core/support';
import { requiredOption, UsageError, wholeNumber, type ParsedArgs } from './args.ts';
import { fail, lifetimeSeconds } from './client-commands.ts';
import { adminCall } from './cluster-command.ts';

const KEY_FILE_BYTES_MAX = 64 * 1024;
/** The longest a token may live: what the cluster accepts (pki-core provisioner-token.ts). */
const PROVISIONER_TOKEN_TTL_SECONDS_MAX = 600;

/** The public JWK in `file`: a JWK (JSON) or a PEM key; only public members are kept. */
async function publicJwkOf(file: string): Promise<JsonWebKey> {
  const text = await readFile(file, 'utf8').catch((e: unknown) => {
    throw new UsageError(`--key: cannot read ${file}: ${(e as Error).message}`);
  });
  if (text.length > KEY_FILE_BYTES_MAX) throw new UsageError(`--key: ${file} is larger than ${KEY_FILE_BYTES_MAX} bytes`);
  try {
    const key = text.trimStart().startsWith('{') ? createPublicKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' }) : createPublicKey(text);
    return key.export({ format: 'jwk' });
  } catch (e) {
    throw new UsageError(`--key: ${file} holds no PEM or JWK key: ${(e as Error).message}`);
  }
}

/** `--rate-limit BURST,N/s` or `BURST,N/h`: a bucket of BURST tokens refilled N a second or an hour. */
function rateRule(text: string, option: string): { burst: number; perSecond?: number; perHour?: number } {
  const m = /^(\d{1,16}),(\d{1,16})\/([sh])$/.exec(text);
  if (m === null) throw new UsageError(`--${option}: BURST,N/s or BURST,N/h (e.g. 20,5/s: at most 20 at once, 5 more each second), not ${JSON.stringify(text)}`);
  const burst = Number(m[1]);
  const rate = Number(m[2]);
  if (burst < 1 || rate < 1) throw new UsageError(`--${option}: BURST and N are whole numbers of 1 or more`);
  return m[3] === 's' ? { burst, perSecond: rate } : { burst, perHour: rate };
}

function rateLimitOf(args: ParsedArgs): { rateLimit?: Record<string, unknown> } {
  const perProvisioner = args.options.get('rate-limit');
  const perIdentity = args.options.get('identity-rate-limit');
  if (perProvisioner === undefined && perIdentity === undefined) return {};
  return {
    rateLimit: {
      ...(perProvisioner === undefined ? {} : { perProvisioner: rateRule(perProvisioner, 'rate-limit') }),
      ...(perIdentity === undefined ? {} : { perIdentity: rateRule(perIdentity, 'identity-rate-limit') }),
    },
  };
}

export async function addProvisioner(args: ParsedArgs): Promise<number> {
  const name = args.positionals[0] ?? '';
  const list = (option: string): string[] => args.lists.get(option) ?? [];
  const policy = {
    dnsSuffixes: list('dns'),
    ipCidrs: list('ip'),
    uriPrefixes: list('uri'),
    profiles: list('profile'),
    maxLifetimeSeconds: lifetimeSeconds(requiredOption(args, 'max-lifetime'), 'max-lifetime'),
    ...rateLimitOf(args),
  };
  if (policy.profiles.length === 0) throw new UsageError('--profile: name at least one profile the provisioner may issue under');
  const body = JSON.stringify({ publicKey: await publicJwkOf(requiredOption(args, 'key')), policy });
  const r = await adminCall(args, 'PUT', `/api/v1/provisioners/${encodeURIComponent(name)}`, Buffer.from(body));
  if (r.status !== 201) return fail(r);
  process.stdout.write(`provisioner ${name} added\n`);
  return 0;
}

export async function listProvisioners(args: ParsedArgs): Promise<number> {
  const r = await adminCall(args, 'GET', '/api/v1/provisioners');
  if (r.status !== 200) return fail(r);
  process.stdout.write(`${JSON.stringify(jsonOf(r), null, 2)}\n`);
  return 0;
}

export async function removeProvisioner(args: ParsedArgs): Promise<number> {
  const name = args.positionals[0] ?? '';
  const r = await adminCall(args, 'DELETE', `/api/v1/provisioners/${encodeURIComponent(name)}`);
  if (r.status !== 200) return fail(r);
  process.stdout.write(`provisioner ${name} removed\n`);
  return 0;
}

/**
 * `provisioner token`: a one-time token signed with the provisioner's private key (a file of mode
 * 0600 or 0400), for `issue --token -`. Only the token goes to stdout.
 */
export async function mintToken(args: ParsedArgs): Promise<number> {
  const privateKey = await readPrivateKeyFile(requiredOption(args, 'key'));
  const token = await signProvisionerToken({
    privateKey,
    provisioner: requiredOption(args, 'name'),
    audience: requiredOption(args, 'cluster-id'),
    subject: requiredOption(args, 'cn'),
    sans: args.lists.get('san') ?? [],
    nowSeconds: Math.floor(Date.now() / 1000),
    lifetimeSeconds: wholeNumber(requiredOption(args, 'ttl'), 'ttl', 1, PROVISIONER_TOKEN_TTL_SECONDS_MAX),
  });
  process.stdout.write(`${token}\n`);
  return 0;
}
