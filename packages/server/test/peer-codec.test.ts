// Node-to-node PKI requests on the wire (peer/codec.ts): what a peer sends is shape-checked on
// receipt, so a malformed or unknown request is refused before it reaches PkiNode.handlePeer.
import { expect } from 'chai';
import { plainMessagePack } from '@adrestia/consensus';
import type { PeerRequest } from '@adrestia/pki-core';
import { decodePeerRequest, decodePeerResponse, encodePeer, PEER_BODY_BYTES_MAX } from '../src/peer/codec.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'accepted';
}

describe('peer codec: node-to-node PKI requests', () => {
  it('a revocation handed to the issuing AZ round-trips, with or without its issuer', () => {
    const withIssuer: PeerRequest = { kind: 'revoke', serialHex: '0a1b2c', issuerId: 'ab12', reason: 'keyCompromise', requestedBy: 'client:x' };
    const bySerial: PeerRequest = { kind: 'revoke', serialHex: '0a1b2c', reason: 'superseded', requestedBy: 'client:x' };
    expect(decodePeerRequest(encodePeer(withIssuer))).to.deep.equal(withIssuer);
    expect(decodePeerRequest(encodePeer(bySerial))).to.deep.equal(bySerial);
    expect(decodePeerResponse(encodePeer({ kind: 'revoked', revokedAt: 1_790_000_000_000 }))).to.deep.equal({ kind: 'revoked', revokedAt: 1_790_000_000_000 });
  });

  it('a node renewal (node ICA and/or TLS CSR) round-trips; one with no CSR or a CSR that is not bytes is refused', () => {
    const both: PeerRequest = { kind: 'renewNode', nodeId: 'a1', icaCsrDer: new Uint8Array([1, 2]), tlsCsrDer: new Uint8Array([3]) };
    const tlsOnly: PeerRequest = { kind: 'renewNode', nodeId: 'a1', tlsCsrDer: new Uint8Array([3]) };
    expect(decodePeerRequest(encodePeer(both))).to.deep.equal({ ...both, icaCsrDer: Buffer.from([1, 2]), tlsCsrDer: Buffer.from([3]) });
    expect(decodePeerRequest(encodePeer(tlsOnly))).to.deep.equal({ ...tlsOnly, tlsCsrDer: Buffer.from([3]) });
    expect(codeOf(() => decodePeerRequest(plainMessagePack.pack({ kind: 'renewNode', nodeId: 'a1' })))).to.equal('ERR_BAD_BODY');
    expect(codeOf(() => decodePeerRequest(plainMessagePack.pack({ kind: 'renewNode', nodeId: 'a1', icaCsrDer: 'x' })))).to.equal('ERR_BAD_BODY');
  });

  it('refuses malformed requests with ERR_BAD_BODY and oversized ones with ERR_BODY_TOO_LARGE', () => {
    expect(codeOf(() => decodePeerRequest(plainMessagePack.pack({ kind: 'revoke', serialHex: 7, reason: 'keyCompromise', requestedBy: 'x' })))).to.equal('ERR_BAD_BODY');
    expect(codeOf(() => decodePeerRequest(plainMessagePack.pack({ kind: 'revoke', serialHex: '0a', issuerId: 5, reason: 'keyCompromise', requestedBy: 'x' })))).to.equal('ERR_BAD_BODY');
    expect(codeOf(() => decodePeerRequest(plainMessagePack.pack({ kind: 'launchMissiles' })))).to.equal('ERR_BAD_BODY');
    expect(codeOf(() => decodePeerRequest(Buffer.from([0xc1])))).to.equal('ERR_BAD_BODY');
    expect(codeOf(() => decodePeerRequest(new Uint8Array(PEER_BODY_BYTES_MAX + 1)))).to.equal('ERR_BODY_TOO_LARGE');
  });
});
