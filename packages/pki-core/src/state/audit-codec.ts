// Strict decoder of AuditCheckpoint (audit-events.ts), for event-codec.ts's table.
import type { AuditCheckpointEvent } from './audit-events.ts';
import { FieldError, FieldReader, LIMITS } from './fields.ts';

const AUDIT_HEAD_BYTES = 32;
/** A node ICA and its AZ ICA; room for one more link should the hierarchy deepen. */
const CHECKPOINT_CHAIN_CERTS_MAX = 3;
/** An RSA-4096 signature is 512 bytes; ECDSA and Ed25519 ones are far smaller. */
const CHECKPOINT_SIGNATURE_BYTES_MAX = 1024;

function readDer(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.byteLength === 0 || v.byteLength > LIMITS.maxDerBytes) throw new FieldError(path, `expected 1..${LIMITS.maxDerBytes} bytes`);
  // Copy out of the decode buffer, as FieldReader.bytes does.
  return new Uint8Array(v);
}

export const AUDIT_READERS: { AuditCheckpoint: (r: FieldReader) => AuditCheckpointEvent } = {
  AuditCheckpoint: (r) => {
    const ev: AuditCheckpointEvent = {
      type: 'AuditCheckpoint',
      log: r.oneOf('log', ['global', 'local'] as const),
      az: r.id('az'),
      position: r.int('position', 1, Number.MAX_SAFE_INTEGER),
      head: r.bytes('head', AUDIT_HEAD_BYTES),
      signerNodeId: r.id('signerNodeId'),
      chainDer: r.list('chainDer', CHECKPOINT_CHAIN_CERTS_MAX, readDer),
      signature: r.bytes('signature', CHECKPOINT_SIGNATURE_BYTES_MAX),
      at: r.time('at'),
    };
    if (ev.head.byteLength !== AUDIT_HEAD_BYTES) throw new FieldError('head', `expected ${AUDIT_HEAD_BYTES} bytes`);
    if (ev.chainDer.length === 0) throw new FieldError('chainDer', "expected the signer's certificate first");
    return ev;
  },
};
