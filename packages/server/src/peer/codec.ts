// Node-to-node PKI requests on the wire: plain MessagePack (msgpackr without records, so the
// bytes are standard and carry no schema of ours), size-limited, shape-checked on receipt
// before they reach PkiNode.handlePeer (which validates the events inside once more).
import { plainMessagePack } from '@adrestia/consensus';
import type { PeerRequest, PeerResponse } from '@adrestia/pki-core';
import { ServerError } from '../errors.ts';

export const PEER_MEDIA_TYPE = 'application/msgpack';
export const PEER_PATH = '/internal/v1/peer';
/** Two CSRs or one encoded event with room to spare; far above what a healthy peer sends. */
export const PEER_BODY_BYTES_MAX = 1024 * 1024;
/** An answer may be larger: a `stateSnapshot` carries one AZ's whole state (pki-core node/admin/backup.ts). */
export const PEER_RESPONSE_BYTES_MAX = 256 * 1024 * 1024;

const REQUEST_KINDS = new Set(['proposeLocal', 'proposeGlobal', 'foundAz', 'register', 'removeAz', 'refoundAz', 'revoke', 'renewNode', 'ping', 'ocspStatus', 'acmeNonce', 'stateSnapshot']);
const RESPONSE_KINDS = new Set(['outcome', 'ok', 'registered', 'pong', 'azRemoved', 'azRefounded', 'revoked', 'ocspStatus', 'stateSnapshot', 'error']);

export function encodePeer(value: PeerRequest | PeerResponse): Buffer {
  return plainMessagePack.pack(value);
}

function decode(bytes: Uint8Array, kinds: Set<string>, what: string, bytesMax: number): Record<string, unknown> {
  if (bytes.byteLength > bytesMax) throw new ServerError('ERR_BODY_TOO_LARGE', `${what} exceeds ${bytesMax} bytes`);
  let value: unknown;
  try {
    value = plainMessagePack.unpack(bytes);
  } catch {
    throw new ServerError('ERR_BAD_BODY', `${what} is not MessagePack`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ServerError('ERR_BAD_BODY', `${what} is not a map`);
  const kind = (value as Record<string, unknown>)['kind'];
  if (typeof kind !== 'string' || !kinds.has(kind)) throw new ServerError('ERR_BAD_BODY', `${what} has an unknown kind`);
  return value as Record<string, unknown>;
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isString = (v: unknown): v is string => typeof v === 'string' && v.length <= 1024;

/** A peer request, with the fields its kind needs checked for type. */
export function decodePeerRequest(bytes: Uint8Array): PeerRequest {
  const v = decode(bytes, REQUEST_KINDS, 'peer request', PEER_BODY_BYTES_MAX);
  const ok = (() => {
    switch (v['kind']) {
      case 'proposeLocal':
      case 'proposeGlobal':
        return isBytes(v['event']);
      case 'foundAz': {
        const az = v['az'] as Record<string, unknown> | null;
        const a = v['addresses'] as Record<string, unknown> | null;
        return (
          isString(v['nodeId']) && typeof az === 'object' && az !== null && isString(az['name']) && isString(az['localVip']) &&
          Array.isArray(az['subnets']) && az['subnets'].every(isString) && isBytes(v['icaCsrDer']) && isBytes(v['tlsCsrDer']) &&
          typeof a === 'object' && a !== null && isString(a['api']) && isString(a['raft']) &&
          (v['restoredCas'] === undefined || (Array.isArray(v['restoredCas']) && v['restoredCas'].every(isBytes)))
        );
      }
      case 'acmeNonce':
        return typeof v['counter'] === 'string' && /^[0-9]{1,20}$/.test(v['counter']);
      case 'removeAz':
        return isString(v['name']) && isString(v['requestedBy']);
      case 'refoundAz':
        return isString(v['name']) && isString(v['requestedBy']) && typeof v['force'] === 'boolean';
      case 'revoke':
        // The reason and serial are checked by the node that builds the revocation.
        return isString(v['serialHex']) && (v['issuerId'] === undefined || isString(v['issuerId'])) && isString(v['reason']) && isString(v['requestedBy']);
      case 'ocspStatus':
        // Serials are canonicalized by the answering node (node/ocsp/ocsp-status.ts).
        return isString(v['issuerId']) && Array.isArray(v['serialHexes']) && v['serialHexes'].length <= 64 && v['serialHexes'].every(isString);
      case 'renewNode':
        // At least one CSR; the asking node must be the node renewed (checked by the local leader against the mTLS peer).
        return isString(v['nodeId']) && (v['icaCsrDer'] === undefined || isBytes(v['icaCsrDer'])) && (v['tlsCsrDer'] === undefined || isBytes(v['tlsCsrDer'])) &&
          (v['icaCsrDer'] !== undefined || v['tlsCsrDer'] !== undefined);
      case 'register': {
        const a = v['addresses'] as Record<string, unknown> | null;
        return isString(v['nodeId']) && isString(v['az']) && isBytes(v['icaCsrDer']) && isBytes(v['tlsCsrDer']) && typeof a === 'object' && a !== null && isString(a['api']) && isString(a['raft']);
      }
      default:
        return true;
    }
  })();
  if (!ok) throw new ServerError('ERR_BAD_BODY', `peer request ${String(v['kind'])} is malformed`);
  return v as unknown as PeerRequest;
}

export function decodePeerResponse(bytes: Uint8Array): PeerResponse {
  return decode(bytes, RESPONSE_KINDS, 'peer response', PEER_RESPONSE_BYTES_MAX) as unknown as PeerResponse;
}
