// One request of a client command (the commands in this folder) to the cluster, following the
// 307 redirects with which a node hands the request on to the node that serves it: https to https
// only, each hop verified as a node of this cluster (peer/http-request.ts httpCallFollowing).
import { httpCallFollowing, type HttpCallOptions, type HttpCallResult } from '../peer/http-request.ts';
import { need, UsageError } from './args.ts';

const RESPONSE_BYTES_MAX = 4 * 1024 * 1024;
const TIMEOUT_MS = 30_000;
const REDIRECTS_MAX = 3;

/** GET/POST following 307s (method and body kept, RFC 9110 §15.4.8). */
export async function call(url: string, o: Omit<HttpCallOptions, 'timeoutMs' | 'maxResponseBytes'>): Promise<HttpCallResult> {
  return httpCallFollowing(url, { ...o, timeoutMs: TIMEOUT_MS, maxResponseBytes: RESPONSE_BYTES_MAX }, REDIRECTS_MAX);
}

/** `--url`, which must be https: the token and client keys are never sent in clear. */
export function httpsUrl(options: ReadonlyMap<string, string>): string {
  const url = need(options, 'url');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url: ${JSON.stringify(url)} is not a URL (e.g. https://127.1.0.1:8443)`);
  }
  if (parsed.protocol !== 'https:') throw new UsageError(`--url must be https:// (credentials are never sent over plain HTTP): ${url}`);
  return url.replace(/\/+$/, '');
}
