// The frame payload: plain MessagePack (msgpackr, useRecords: false) of `{ group, message }`.
// `group` names the Raft group ("local:<az>", "global") so both tiers share one connection;
// `message` is the group's own encoded message, kept opaque here and validated by its codec.
import { plainMessagePack } from '@adrestia/consensus';

/** Group names are short identifiers; anything longer is a malformed frame. */
const GROUP_NAME_MAX_CHARS = 128;

export interface Envelope {
  group: string;
  message: Uint8Array;
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return plainMessagePack.pack({ group: envelope.group, message: envelope.message });
}

/** The envelope, or undefined when the payload is not one (the caller closes the connection). */
export function decodeEnvelope(payload: Uint8Array): Envelope | undefined {
  let value: unknown;
  try {
    value = plainMessagePack.unpack(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { group, message } = value as Record<string, unknown>;
  if (typeof group !== 'string' || group.length === 0 || group.length > GROUP_NAME_MAX_CHARS) return undefined;
  if (!(message instanceof Uint8Array)) return undefined;
  return { group, message };
}
