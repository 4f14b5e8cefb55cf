// A renewed node TLS certificate is admitted by a peer that has not applied the renewal yet
// (transport/peer-pins.ts): signed by an AZ ICA of the node's AZ, naming the node, beginning after
// the registered one. Certificates from OpenSSL (helpers/certs.ts): root → AZ ICAs → node TLS
// certificates, and a node ICA below one AZ ICA whose leaves name nodes without being theirs.
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { isServerError } from '../src/errors.ts';
import { PeerPins, type RenewalView } from '../src/transport/peer-pins.ts';
import { makeIntermediateCa, makeNodeCert, makeRootCa, makeTempDir, removeDir } from './helpers/certs.ts';

const sha = (cert: X509Certificate): string => createHash('sha256').update(cert.raw).digest('hex');
const leafOf = (pem: string): X509Certificate => new X509Certificate(pem);

describe('peer pins: a renewed node TLS certificate before its NodeRenewed is applied here', function () {
  this.timeout(20_000);
  const dir = makeTempDir('adrestia-pins-renewal-');
  const self = randomUUID();
  const peer = randomUUID();
  const other = randomUUID();
  let registered: X509Certificate;
  let renewed: X509Certificate;
  let byNodeIca: X509Certificate;
  let byOtherAz: X509Certificate;
  let forOtherNode: X509Certificate;
  let view: (registeredNotBeforeMs: number) => RenewalView;

  before(function () {
    const root = makeRootCa(dir);
    const az1 = makeIntermediateCa(root, 'az1-ica');
    const az2 = makeIntermediateCa(root, 'az2-ica');
    const nodeIca = makeIntermediateCa(az1, 'node-ica');
    registered = leafOf(makeNodeCert(az1, peer).cert);
    renewed = leafOf(makeNodeCert(az1, peer, 'DNS:renewed.test').cert);
    byNodeIca = leafOf(makeNodeCert(nodeIca, peer).cert);
    byOtherAz = leafOf(makeNodeCert(az2, peer).cert);
    forOtherNode = leafOf(makeNodeCert(az1, other).cert);
    const azIcas = new Map([['az1', [new X509Certificate(az1.certPem)]], ['az2', [new X509Certificate(az2.certPem)]]]);
    view = (notBeforeMs) => ({ registered: new Map([[peer, { az: 'az1', notBeforeMs }], [other, { az: 'az1', notBeforeMs }]]), azIcas });
  });

  after(() => removeDir(dir));

  /** Pins naming `registered` for the peer, as if registered a minute before the renewal began. */
  const pinsWith = (registeredNotBeforeMs = Date.parse(renewed.validFrom) - 60_000, withdrawn: string[] = []): PeerPins => {
    const pins = new PeerPins(self);
    pins.update(new Map([[self, 'aa'], [peer, sha(registered)], [other, 'cc']]), new Set(withdrawn), view(registeredNotBeforeMs));
    return pins;
  };
  const refusedCode = (f: () => void): string | undefined => {
    try {
      f();
      return undefined;
    } catch (err) {
      return isServerError(err) ? err.code : 'not a ServerError';
    }
  };

  it('admits the successor signed by the AZ ICA of the node, on the mesh and the peer endpoint', function () {
    const pins = pinsWith();
    expect(refusedCode(() => pins.admitMeshPeer(peer, sha(renewed), renewed))).to.equal(undefined);
    expect(refusedCode(() => pins.requirePinned(peer, sha(renewed), renewed))).to.equal(undefined);
    expect(refusedCode(() => pins.requirePinned(peer, sha(registered), registered)), 'the registered one still').to.equal(undefined);
  });

  it('refuses it when only its digest is known (no certificate to check the signature of)', function () {
    expect(refusedCode(() => pinsWith().requirePinned(peer, sha(renewed)))).to.equal('ERR_TRANSPORT_PEER_REFUSED');
  });

  it('refuses a certificate that does not begin after the registered one (an older certificate of the node)', function () {
    const pins = pinsWith(Date.parse(renewed.validFrom));
    expect(refusedCode(() => pins.admitMeshPeer(peer, sha(renewed), renewed))).to.equal('ERR_TRANSPORT_PEER_REFUSED');
  });

  it('refuses a leaf of a node ICA and a certificate of another AZ ICA that name the node', function () {
    const pins = pinsWith(0);
    expect(refusedCode(() => pins.admitMeshPeer(peer, sha(byNodeIca), byNodeIca)), 'node ICA leaf').to.equal('ERR_TRANSPORT_PEER_REFUSED');
    expect(refusedCode(() => pins.admitMeshPeer(peer, sha(byOtherAz), byOtherAz)), 'other AZ').to.equal('ERR_TRANSPORT_PEER_REFUSED');
  });

  it("refuses another node's certificate presented for the peer, and any successor of a withdrawn node", function () {
    expect(refusedCode(() => pinsWith(0).admitMeshPeer(peer, sha(forOtherNode), forOtherNode))).to.equal('ERR_TRANSPORT_PEER_REFUSED');
    expect(refusedCode(() => pinsWith(0, [peer]).admitMeshPeer(peer, sha(renewed), renewed))).to.equal('ERR_TRANSPORT_PEER_REFUSED');
  });
});
