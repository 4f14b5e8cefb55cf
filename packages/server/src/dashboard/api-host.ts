// The host part of a node's `api` address (`host:port`, or `[v6]:port`), to dial it on another port.
export function apiHost(api: string): string {
  const colon = api.lastIndexOf(':');
  const host = colon < 0 ? api : api.slice(0, colon);
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
