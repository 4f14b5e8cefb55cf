// The body of `POST /api/v1/azs` (the first node of a new AZ asks the global leader to add it):
// strict JSON, exact keys, bounded sizes.
import { PkiError } from '@adrestia/pki-core';

export const FOUND_AZ_BODY_VERSION = 1;
const SUBNETS_MAX = 64;

export interface FoundAzBody {
  version: typeof FOUND_AZ_BODY_VERSION;
  clusterId: string;
  nodeId: string;
  az: { name: string; subnets: string[]; localVip: string };
  /** The founder registers in the same request (it has no certificate to reach its seat yet). */
  addresses: { api: string; raft: string };
  /** Base64 DER CSRs of the founder's node ICA and TLS keys (generated on the node). */
  icaCsr: string;
  tlsCsr: string;
  /** A restore (pki-core node/founding/restore-plan.ts): the AZ's backed-up CA events, base64. */
  restoredCas?: string[];
}

const CSR_B64_CHARS_MAX = 16 * 1024;
/** A CA certificate event (certificate and wrapped key) in base64, with room to spare. */
const EVENT_B64_CHARS_MAX = 64 * 1024;
const RESTORED_CAS_MAX = 4096;

function base64Der(value: unknown, field: string, charsMax = CSR_B64_CHARS_MAX): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > charsMax || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    throw invalid(field, 'base64 DER');
  }
  return value;
}

function invalid(field: string, why: string): PkiError {
  return new PkiError('ERR_INPUT_INVALID', `${field}: ${why}`, { field });
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 128) throw invalid(field, 'a string of 1..128 characters');
  return value;
}

export function encodeFoundAzBody(body: FoundAzBody): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(body));
}

export function parseFoundAzBody(bytes: Uint8Array): FoundAzBody {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid('body', 'not UTF-8 JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('body', 'an object');
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !['version', 'clusterId', 'nodeId', 'az', 'addresses', 'icaCsr', 'tlsCsr', 'restoredCas'].includes(k));
  if (extra !== undefined) throw invalid(extra, 'unknown field');
  if (o['version'] !== FOUND_AZ_BODY_VERSION) throw invalid('version', `expected ${FOUND_AZ_BODY_VERSION}`);
  const az = o['az'];
  if (typeof az !== 'object' || az === null || Array.isArray(az)) throw invalid('az', 'an object');
  const a = az as Record<string, unknown>;
  const subnets = a['subnets'];
  if (!Array.isArray(subnets) || subnets.length === 0 || subnets.length > SUBNETS_MAX) throw invalid('az.subnets', `1..${SUBNETS_MAX} CIDRs`);
  const addresses = o['addresses'];
  if (typeof addresses !== 'object' || addresses === null || Array.isArray(addresses)) throw invalid('addresses', 'an object');
  const ad = addresses as Record<string, unknown>;
  const restored = o['restoredCas'];
  if (restored !== undefined && (!Array.isArray(restored) || restored.length > RESTORED_CAS_MAX)) throw invalid('restoredCas', `a list of at most ${RESTORED_CAS_MAX}`);
  return {
    ...(restored === undefined ? {} : { restoredCas: restored.map((e: unknown, i) => base64Der(e, `restoredCas[${i}]`, EVENT_B64_CHARS_MAX)) }),
    version: FOUND_AZ_BODY_VERSION,
    addresses: { api: text(ad['api'], 'addresses.api'), raft: text(ad['raft'], 'addresses.raft') },
    icaCsr: base64Der(o['icaCsr'], 'icaCsr'),
    tlsCsr: base64Der(o['tlsCsr'], 'tlsCsr'),
    clusterId: text(o['clusterId'], 'clusterId'),
    nodeId: text(o['nodeId'], 'nodeId'),
    az: { name: text(a['name'], 'az.name'), localVip: text(a['localVip'], 'az.localVip'), subnets: subnets.map((s, i) => text(s, `az.subnets[${i}]`)) },
  };
}
