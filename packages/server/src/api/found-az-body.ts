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
  const extra = Object.keys(o).find((k) => !['version', 'clusterId', 'nodeId', 'az'].includes(k));
  if (extra !== undefined) throw invalid(extra, 'unknown field');
  if (o['version'] !== FOUND_AZ_BODY_VERSION) throw invalid('version', `expected ${FOUND_AZ_BODY_VERSION}`);
  const az = o['az'];
  if (typeof az !== 'object' || az === null || Array.isArray(az)) throw invalid('az', 'an object');
  const a = az as Record<string, unknown>;
  const subnets = a['subnets'];
  if (!Array.isArray(subnets) || subnets.length === 0 || subnets.length > SUBNETS_MAX) throw invalid('az.subnets', `1..${SUBNETS_MAX} CIDRs`);
  return {
    version: FOUND_AZ_BODY_VERSION,
    clusterId: text(o['clusterId'], 'clusterId'),
    nodeId: text(o['nodeId'], 'nodeId'),
    az: { name: text(a['name'], 'az.name'), localVip: text(a['localVip'], 'az.localVip'), subnets: subnets.map((s, i) => text(s, `az.subnets[${i}]`)) },
  };
}
