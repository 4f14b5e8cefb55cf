// The generation and ETag of the cluster map a node serves (docs/spec.md §7.2, docs/architecture.md
// §8), and the "no change" rule of `clusterMap?since=`.
//
// The rule to keep: one generation for one content. Two nodes serving the same map serve the same
// generation, whatever AZ they are in and however often they restarted, and two different maps
// never pass for each other, so a poller that moves between nodes (behind a VIP, across a
// failover) is told "no change" only when its map is the one the answering node would send.
//
// Why a counter kept by each node cannot give that: the map mixes two kinds of content.
//   1. Replicated content: the cluster id, AZs, nodes and their addresses, the root and AZ ICA
//      certificates, withdrawn nodes. Every node derives it from the global log, so all nodes
//      agree on it once they have applied the same prefix — but they apply it at different times.
//   2. This node's view: memberships from its own local configuration, health from its own checks,
//      the leaders it knows. Nothing replicates it; two nodes of one AZ often agree, nodes of
//      different AZs seldom do.
// A per-node counter ("+1 whenever my content changes") numbers the same content differently on
// every node, and different contents alike: two `az add`s left one node at 3 and another at 2
// with other content, and a poller's `since=2` through the VIP got a false "no change".
//
// So the identity of each part is derived from what every node can compute alike:
//   - the replicated part by its version: `mapVersion` (state/map-version.ts), a counter the state
//     machine raises in the same batch as each event that changes the map's replicated inputs.
//     Equal versions mean equal replicated inputs on every node of every AZ; it survives
//     restarts and snapshots because it is state.
//   - the whole content by its SHA-256 over canonical JSON (keys sorted; the builder in
//     cluster-map.ts keeps every list sorted), which covers this node's view too: nodes with the
//     same view get the same hash, and any change of view changes it.
// The generation folds both into one safe integer, so `generation` stays a number field:
//     generation = (mapVersion + 1) · 2^21 + (the first 21 bits of the content hash)
// (`+ 1` keeps it ≥ 2^21, so `since=0`, "I have no map", never matches). Its high part orders the
// replicated part (a newer version has a larger generation) and is exact; its low part catches
// view changes (leaders, health, roles) for pollers that send only the number, but 21 bits can
// collide: two views at one version share a generation with probability 2^-21. The ETag is the
// authority: `"<generation>.<64 hex digits of the content SHA-256>"`, computable by any client
// from a map it holds. `since=<ETag>` answers "no change" only for exactly that content;
// `since=<generation>` only for that generation (exact for the replicated part).
import { createHash } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { MAP_VERSION_MAX } from '../state/map-version.ts';
import type { ClusterMap } from './cluster-map.ts';

/** How many low bits of a generation come from the content hash. */
export const GENERATION_HASH_BITS = 21;
const HASH_SPAN = 2 ** GENERATION_HASH_BITS;
const GENERATION_DIGITS_MAX = 16;
const ETAG = new RegExp(`^(\\d{1,${GENERATION_DIGITS_MAX}})\\.([0-9a-f]{64})$`);

/** What a poller holds: a generation number (0 for none), or an ETag as served (quotes optional). */
export type ClusterMapSince = number | string;

export type ClusterMapDiff =
  | { unchanged: true; generation: number; etag: string }
  | { unchanged: false; map: ClusterMap; etag: string };

/** The map as a node serves it: its content with the generation set, and the ETag naming both. */
export interface ServedClusterMap {
  readonly map: ClusterMap;
  /** `<generation>.<content SHA-256 hex>`, without the quotes HTTP puts around it. */
  readonly etag: string;
}

/** JSON with object keys sorted, so equal plain data gives equal text. */
function canonicalJson(value: unknown): string {
  if (value === undefined || typeof value === 'function' || typeof value === 'bigint') {
    throw new TypeError(`canonicalJson: ${typeof value} is not JSON data`);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const r = value as Record<string, unknown>;
    return `{${Object.keys(r).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(r[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 (lowercase hex) of the map's content: everything but the generation. */
export function mapContentSha256(map: ClusterMap): string {
  const { generation: _generation, ...content } = map;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

export function generationOf(mapVersion: number, contentSha256: string): number {
  if (!Number.isSafeInteger(mapVersion) || mapVersion < 0 || mapVersion > MAP_VERSION_MAX) {
    throw new TypeError(`mapVersion must be an integer in 0..${MAP_VERSION_MAX}`);
  }
  if (!/^[0-9a-f]{64}$/.test(contentSha256)) throw new TypeError('contentSha256 must be 64 lowercase hex digits');
  const low = Number.parseInt(contentSha256.slice(0, 6), 16) >>> (24 - GENERATION_HASH_BITS);
  const generation = (mapVersion + 1) * HASH_SPAN + low;
  if (!Number.isSafeInteger(generation)) throw new Error(`assertion failed: generation ${generation} is not a safe integer`);
  return generation;
}

/** The ETag of a map: from its generation and content, so a client can compute it from what it holds. */
export function clusterMapEtag(map: ClusterMap): string {
  return `${map.generation}.${mapContentSha256(map)}`;
}

/** The map `content` (its generation ignored) at replicated version `mapVersion`. */
export function servedMap(content: ClusterMap, mapVersion: number): ServedClusterMap {
  const sha256 = mapContentSha256(content);
  const generation = generationOf(mapVersion, sha256);
  return { map: { ...content, generation }, etag: `${generation}.${sha256}` };
}

/** Reads the `since` query parameter: digits (a generation), or an ETag with or without its quotes. */
export function parseClusterMapSince(text: string): ClusterMapSince {
  if (new RegExp(`^\\d{1,${GENERATION_DIGITS_MAX}}$`).test(text) && Number(text) <= Number.MAX_SAFE_INTEGER) return Number(text);
  const unquoted = text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
  const m = ETAG.exec(unquoted);
  if (m !== null && Number(m[1]) <= Number.MAX_SAFE_INTEGER) return unquoted;
  throw new PkiError('ERR_INPUT_INVALID', 'since: a generation number, or an ETag "<generation>.<64 hex digits>"', { field: 'since' });
}

/**
 * "No change" when the poller holds this map: the same ETag (the same content, byte for byte of
 * its canonical JSON), or the same generation (the same replicated part, and a view whose hash
 * agrees in its low 21 bits). Anything else gets the whole map.
 */
export function diffSince(served: ServedClusterMap, since: ClusterMapSince): ClusterMapDiff {
  const held = typeof since === 'number' ? since === served.map.generation : since === served.etag;
  if (held) return { unchanged: true, generation: served.map.generation, etag: served.etag };
  return { unchanged: false, map: served.map, etag: served.etag };
}
