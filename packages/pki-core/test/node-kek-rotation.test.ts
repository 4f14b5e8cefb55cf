// KEK rotation (node/kek/kek-rotation.ts, docs/architecture.md §19.2) on a two-AZ cluster whose
// nodes keep their PKI state in LevelDB and were given the next KEK ahead (PkiNodeOptions
// nextKek): one `CaKeyRewrapped` re-seals every root, AZ ICA, OCSP responder and ACME EAB key; afterwards
// the old KEK opens nothing in any replica's state and the new one opens everything; a wrong old
// KEK is refused with ERR_KEK_MISMATCH and changes nothing; joining, issuance in both AZs and AZ ICA
// renewal (the re-issue of a root rollover) keep working, the renewed keys sealed under the new KEK.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { generateCaKeyPair } from '../src/ca/keys.ts';
import { unwrapPrivateKey, wrapPrivateKey, type KeyWrapBinding } from '../src/ca/key-wrap.ts';
import { isPkiError } from '../src/errors.ts';
import { caKeyBinding } from '../src/node/ca/ca-common.ts';
import { AcmeEabSealer } from '../src/node/acme/acme-eab.ts';
import { KekRing } from '../src/node/kek/kek-ring.ts';
import { sealedKeysOpenedBy } from '../src/node/kek/kek-rotation.ts';
import { acmeEabKey } from '../src/state/acme-records.ts';
import { ocspKeyBinding } from '../src/node/ocsp/ocsp-provisioning.ts';
import type { PkiNode } from '../src/node/pki-node.ts';
import type { PkiStateQueries } from '../src/state/queries.ts';
import { PkiTestCluster, buildTwoAzCluster, eventually, issueVia } from './node-cluster-harness.ts';

/** node-cluster-harness.ts gives every node this KEK. */
const OLD_KEK = new Uint8Array(32).fill(7);
const NEW_KEK = new Uint8Array(randomBytes(32));
const HTTP_PORT = 8080;

/** Every key the state holds sealed, with the binding it was sealed under. */
async function sealedKeys(store: PkiStateQueries): Promise<{ name: string; wrapped: Uint8Array; binding: KeyWrapBinding }[]> {
  const cas = (await store.cas()).filter((ca) => ca.role !== 'node' && ca.wrappedKey !== null);
  const ocsp = await store.ocspResponderKeys();
  return [
    ...cas.map((ca) => ({ name: `${ca.role}:${ca.issuerId}`, wrapped: ca.wrappedKey!, binding: caKeyBinding(ca.role as 'root' | 'az', ca.issuerId) })),
    ...ocsp.map((k) => ({ name: `ocsp:${k.az}`, wrapped: k.wrappedKey, binding: ocspKeyBinding(k.az) })),
  ];
}

function opens(kek: Uint8Array, key: { wrapped: Uint8Array; binding: KeyWrapBinding }): boolean {
  try {
    unwrapPrivateKey(key.wrapped, kek, key.binding);
    return true;
  } catch (e) {
    if (isPkiError(e, 'ERR_KEY_UNWRAP')) return false;
    throw e;
  }
}

describe('PkiNode.rotateKek: every sealed key under the new KEK in one CaKeyRewrapped', function () {
  this.timeout(180_000);
  const c = new PkiTestCluster({ publicHttpPort: HTTP_PORT, nextKek: NEW_KEK }, { stateOnDisk: true });
  let leader: PkiNode;
  /** An ACME external account binding key made before the rotation (node/acme/acme-eab.ts). */
  let eab: { keyId: string; hmacKey: Uint8Array };
  const eabSealed = async (node: PkiNode): Promise<Uint8Array> => {
    const r = await node.app.store.getAcme(acmeEabKey(eab.keyId));
    if (r?.kind !== 'eab') throw new Error('the EAB key record is missing');
    return r.keySealed;
  };
  const eabOpens = (kek: Uint8Array, sealed: Uint8Array): boolean => {
    try {
      return Buffer.from(new AcmeEabSealer(kek).open(sealed)).equals(Buffer.from(eab.hmacKey));
    } catch {
      return false;
    }
  };

  before(async () => {
    await buildTwoAzCluster(c);
    // OCSP responder keys are sealed too: wait until both AZs have theirs.
    await eventually('both OCSP responder keys', async () => (await c.nodes.get('a1')!.app.store.ocspResponderKeys()).length === 2);
    leader = await eventually('a global leader', () => c.globalLeader());
    eab = await leader.acme.createEabKey();
    for (const node of c.live()) await eventually(`${node.nodeId} holds the EAB key`, async () => (await node.app.store.getAcme(acmeEabKey(eab.keyId))) !== undefined);
  });
  after(() => c.stop());

  it('a wrong old KEK is refused with ERR_KEK_MISMATCH and changes nothing', async () => {
    const before = (await sealedKeys(leader.app.store)).map((k) => [k.name, Buffer.from(k.wrapped).toString('hex')]);
    const wrong = await leader.rotateKek({ oldKek: new Uint8Array(randomBytes(32)), newKek: NEW_KEK }).then(() => null, (e: unknown) => e);
    expect(isPkiError(wrong, 'ERR_KEK_MISMATCH'), String(wrong)).to.equal(true);
    expect((wrong as Error).message).to.not.include(Buffer.from(NEW_KEK).toString('hex'));
    const same = await leader.rotateKek({ oldKek: OLD_KEK, newKek: OLD_KEK }).then(() => null, (e: unknown) => e);
    expect(isPkiError(same, 'ERR_INPUT_INVALID'), String(same)).to.equal(true);
    expect((await sealedKeys(leader.app.store)).map((k) => [k.name, Buffer.from(k.wrapped).toString('hex')])).to.deep.equal(before);
  });

  it('afterwards the old KEK opens nothing in any replica and the new one opens every key', async () => {
    const sealedBefore = await sealedKeys(leader.app.store);
    expect(sealedBefore.every((k) => opens(OLD_KEK, k))).to.equal(true);
    expect(sealedBefore.map((k) => k.name).filter((n) => n.startsWith('ocsp:'))).to.have.length(2);
    expect(eabOpens(OLD_KEK, await eabSealed(leader))).to.equal(true);
    const counted = await sealedKeysOpenedBy(leader.app.store, OLD_KEK);
    expect(counted).to.deep.equal({ opened: sealedBefore.length + 1, of: sealedBefore.length + 1 }, 'the CA and responder keys, and the EAB key');
    const rotated = await leader.rotateKek({ oldKek: OLD_KEK, newKek: NEW_KEK });
    expect(rotated.keys).to.have.length(sealedBefore.length + 1);
    expect(rotated.keys).to.deep.include({ kind: 'acmeEab', keyId: eab.keyId });
    for (const node of c.live()) {
      await eventually(`${node.nodeId} applied the rotation`, async () => (await sealedKeys(node.app.store)).every((k) => opens(NEW_KEK, k)));
      const keys = await sealedKeys(node.app.store);
      expect(keys.map((k) => k.name).sort(), node.nodeId).to.deep.equal(sealedBefore.map((k) => k.name).sort());
      expect(keys.filter((k) => opens(OLD_KEK, k)).map((k) => k.name), `${node.nodeId}: opened by the old KEK`).to.deep.equal([]);
      // The EAB key too: sealed again under the new KEK, the same HMAC key inside.
      const sealed = await eventually(`${node.nodeId} re-sealed the EAB key`, async () => {
        const s = await eabSealed(node);
        return eabOpens(NEW_KEK, s) ? s : null;
      });
      expect(eabOpens(OLD_KEK, sealed), `${node.nodeId}: the EAB key opened by the old KEK`).to.equal(false);
      expect(await sealedKeysOpenedBy(node.app.store, OLD_KEK), node.nodeId).to.deep.equal({ opened: 0, of: sealedBefore.length + 1 });
    }
    // A node that holds both KEKs still answers for the key, and an EAB key made now is under the new KEK.
    expect(Buffer.from((await leader.acme.eabKey(eab.keyId))!.hmacKey).equals(Buffer.from(eab.hmacKey))).to.equal(true);
    const later = await leader.acme.createEabKey();
    const laterRecord = await leader.app.store.getAcme(acmeEabKey(later.keyId));
    if (laterRecord?.kind !== 'eab') throw new Error('the new EAB key record is missing');
    expect(Buffer.from(new AcmeEabSealer(NEW_KEK).open(laterRecord.keySealed)).equals(Buffer.from(later.hmacKey))).to.equal(true);
    expect(() => new AcmeEabSealer(OLD_KEK).open(laterRecord.keySealed)).to.throw();
  });

  it('a node joins each AZ after the rotation: its local leader signs its certificates with the AZ ICA key, opened under the new KEK', async () => {
    for (const [id, az] of [['a4', 'az1'], ['b3', 'az2']] as const) {
      const local = await eventually(`${az} local leader`, () => c.localLeader(az));
      const joined = await c.start(id, az, { mode: 'join', localLeaderId: local.nodeId });
      await eventually(`${id} ready`, () => joined.status().ready);
    }
  });

  it('issuance in both AZs and AZ ICA renewal still work; renewed keys are sealed under the new KEK', async () => {
    for (const az of ['az1', 'az2']) {
      const local = await eventually(`${az} local leader`, () => c.localLeader(az));
      expect((await issueVia(local, c, `after-kek-${az}`)).certificatePem).to.match(/BEGIN CERTIFICATE/);
    }
    const rolled = await leader.rotateRoot();
    expect(rolled.azIcas.map((a) => a.az).sort()).to.deep.equal(['az1', 'az2']);
    const store = leader.app.store;
    for (const id of [rolled.rootIssuerId, ...rolled.azIcas.map((a) => a.issuerId)]) {
      const ca = (await store.getCa(id))!;
      const key = { wrapped: ca.wrappedKey!, binding: caKeyBinding(ca.role, ca.issuerId) };
      expect([opens(NEW_KEK, key), opens(OLD_KEK, key)], id).to.deep.equal([true, false]);
    }
    const b = await eventually('az2 local leader', () => c.localLeader('az2'));
    expect((await issueVia(b, c, 'after-renewal-az2')).chainPem).to.include('BEGIN CERTIFICATE');
  });
});

describe('KekRing: the KEKs a node holds around a rotation', () => {
  it('opens a key under either KEK and then wraps under the one that opened it; refuses with ERR_KEY_UNWRAP under neither', async () => {
    const binding = { purpose: 'azIntermediate', keyId: 'k1' };
    const key = (await generateCaKeyPair()).privateKey;
    const ring = new KekRing(OLD_KEK, NEW_KEK);
    expect(Buffer.from(ring.wrapKek()).equals(Buffer.from(OLD_KEK))).to.equal(true);
    ring.unwrap(wrapPrivateKey(key, NEW_KEK, binding), binding);
    expect(Buffer.from(ring.wrapKek()).equals(Buffer.from(NEW_KEK))).to.equal(true);
    const third = new Uint8Array(randomBytes(32));
    expect(() => ring.unwrap(wrapPrivateKey(key, third, binding), binding)).to.throw().that.satisfies((e: unknown) => isPkiError(e, 'ERR_KEY_UNWRAP'));
    expect(JSON.stringify(ring)).to.equal('{"keks":2}');
  });
});
