// One request of a client command (the commands in this folder) to the cluster, following the
// 307 redirects with which a node hands the request on to the node that serves it.
import { httpCall, type HttpCallOptions, type HttpCallResult } from '../peer/http-request.ts';

const RESPONSE_BYTES_MAX = 4 * 1024 * 1024;
const TIMEOUT_MS = 30_000;
const REDIRECTS_MAX = 3;

/** GET/POST following 307s (method and body kept, RFC 9110 §15.4.8). */
export async function call(url: string, o: Omit<HttpCallOptions, 'timeoutMs' | 'maxResponseBytes'>): Promise<HttpCallResult> {
  let target = url;
  for (let hop = 0; ; hop++) {
    const r = await httpCall(target, { ...o, timeoutMs: TIMEOUT_MS, maxResponseBytes: RESPONSE_BYTES_MAX });
    const location = r.headers.location;
    if (r.status !== 307 || location === undefined || hop >= REDIRECTS_MAX) return r;
    target = location;
  }
}
