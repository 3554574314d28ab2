/**
 * End to end: certim's TLS password login, and certificate-info publication (docs/protocol.md §4.2, §6.1) checked by the
 * real PKI verifier — the buddy sees TLV 0x001B = MD5 of the exact uploaded bytes and fetches them with 02/15;
 * uploads with someone else's, a revoked or an expired certificate are refused and the old block stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateRsaKeyPair } from '../src/pki/keys.js';
import { OID } from '../src/pki/oids.js';
import { makeTestCa, pemOf } from '../src/pki/test-ca.test-support.js';
import { pkiCertificateChecker } from '../src/server/certificate-checker.js';
import { encodeCertificateInfo } from '../src/wire/cert-info.js';
import { decodeSnacError } from '../src/wire/snac.js';
import { encodeTlvRestList, tlv } from '../src/wire/tlv.js';
import { decodeUserInfoList } from '../src/wire/families/buddy.js';
import { InfoQueryFlag, decodeUserInfoReply, encodeSetInfo, encodeUserInfoQuery2 } from '../src/wire/families/locate.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { signOn, type BosClient } from './support/oscar-test-client.js';

async function fetchCerts(c: BosClient, who: string): Promise<{ hash?: Uint8Array; block?: Uint8Array }> {
  c.conn.sendSnac(0x0002, 0x0015, encodeUserInfoQuery2({ flags: InfoQueryFlag.CERTIFICATES, screenName: who }));
  const reply = decodeUserInfoReply((await c.conn.expectSnac(0x0002, 0x0006)).body);
  const out: { hash?: Uint8Array; block?: Uint8Array } = {};
  const h = reply.user.certInfoHash;
  if (h) out.hash = h;
  const b = reply.tlvs.bytes(0x0006);
  if (b) out.block = b;
  return out;
}

/** The certificate-info hash (TLV 0x001B) in a 03/0B arrival. */
function arrivalCertHash(body: Uint8Array): Uint8Array | undefined {
  return decodeUserInfoList(body)[0]!.certInfoHash;
}

test('TLS login, certificate upload checked by the PKI verifier, 0x001B in arrivals, 02/15 fetch; bad certs refused', async () => {
  const ca = await makeTestCa('OSCAR e2e');
  const revoked = new Set<string>();
  const serverKeys = await generateRsaKeyPair(2048);
  const tlsCert = ca.issue({ publicKey: serverKeys.publicKey, cn: 'localhost', dns: ['localhost'], keyUsage: ['digitalSignature', 'keyEncipherment'], eku: [OID.serverAuth] });
  await withOscarFixture({
    users: [['alice', 'a-pass', false], ['bob', 'b-pass', false]],
    tls: { key: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: pemOf(tlsCert) + pemOf(ca.issuing) },
    certificates: pkiCertificateChecker({ trustAnchors: [ca.root], intermediates: [ca.issuing], isRevoked: (serial) => (revoked.has(serial) ? { revokedAt: new Date(), reason: 'keyCompromise' } : undefined) }),
  }, async (fx) => {
    const tlsEp = { port: fx.tlsPort, tlsCa: pemOf(ca.root) };
    const alice = await signOn(tlsEp, 'alice', 'a-pass', 'tls-password', { buddies: ['bob'] });
    const bob = await signOn(tlsEp, 'bob', 'b-pass', 'tls-password', { buddies: ['alice'] });
    await alice.conn.expectSnac(0x0003, 0x000b);
    await bob.conn.expectSnac(0x0003, 0x000b);

    const userKeys = await generateRsaKeyPair(2048);
    const leaf = (cn: string, extra: { notBefore?: Date; notAfter?: Date } = {}) =>
      ca.issue({ publicKey: userKeys.publicKey, cn, keyUsage: ['digitalSignature', 'keyEncipherment'], eku: [OID.emailProtection], ...extra });

    // A good common certificate: accepted, no error, and Alice's watcher gets an arrival with 0x001B.
    const good = encodeCertificateInfo({ certA: leaf('bob').der });
    bob.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ certInfo: good }));
    const update = await alice.conn.expectSnacWhere(0x0003, 0x000b, (s) => arrivalCertHash(s.body) !== undefined);
    const md5 = new Uint8Array(createHash('md5').update(good).digest());
    assert.deepEqual(new Uint8Array(arrivalCertHash(update.body)!), md5);
    const fetched = await fetchCerts(alice, 'bob');
    assert.deepEqual(new Uint8Array(fetched.block!), good);
    assert.deepEqual(new Uint8Array(fetched.hash!), md5);

    // Refused uploads: someone else's cert, an expired one, a revoked one. Each gets 02/01 code 0x0D.
    const day = 86_400_000;
    const revokedCert = leaf('bob');
    revoked.add(revokedCert.serial);
    const cases: Array<[string, Uint8Array, number]> = [
      ['someone else', leaf('alice').der, 0x0003],
      ['expired', leaf('bob', { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) }).der, 0x0004],
      ['revoked', revokedCert.der, 0x0005],
    ];
    for (const [label, der, sub] of cases) {
      bob.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ certInfo: encodeCertificateInfo({ certA: der }) }));
      const err = decodeSnacError((await bob.conn.expectSnac(0x0002, 0x0001)).body);
      assert.equal(err.code, 0x0d, label);
      assert.equal(err.tlvs.u16(0x0008), sub, label);
    }
    // The old block stays, and offline users' certificates can still be fetched.
    assert.deepEqual(new Uint8Array((await fetchCerts(alice, 'bob')).block!), good);
    bob.conn.close();
    await alice.conn.expectSnac(0x0003, 0x000c);
    const offline = await fetchCerts(alice, 'bob');
    assert.deepEqual(new Uint8Array(offline.block!), good);
    assert.deepEqual(new Uint8Array(offline.hash!), md5);
    alice.conn.close();
  });
});

test('malformed cert-info blocks are refused with subcode 0x0001', async () => {
  await withOscarFixture({ users: [['zed', 'pw']] }, async (fx, ep) => {
    const z = await signOn(ep, 'zed', 'pw', 'md5-strong');
    z.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ certInfo: Uint8Array.from([0, 4, 0, 2, 0, 9]) }));
    const err = decodeSnacError((await z.conn.expectSnac(0x0002, 0x0001)).body);
    assert.equal(err.code, 0x0d);
    assert.equal(err.tlvs.u16(0x0008), 0x0001);
    assert.equal((await fx.store.userInfo.get('zed')).certBlock, null);
    z.conn.sendSnac(0x0002, 0x0004, encodeTlvRestList([tlv(0x0005, new Uint8Array(15))]));
    assert.equal(decodeSnacError((await z.conn.expectSnac(0x0002, 0x0001)).body).code, 0x0e);
    z.conn.close();
  });
});
