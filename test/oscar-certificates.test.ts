/**
 * End to end: certim's TLS password login, and certificate-info publication (PROTOCOL §4.2, §6.1) checked by the
 * real PKI verifier — the buddy sees TLV 0x001B = MD5 of the exact uploaded bytes and fetches them with 02/15;
 * uploads with someone else's, a revoked or an expired certificate are refused and the old block stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateRsaKeyPair } from '../src/pki/keys.js';
import { OID } from '../src/pki/oids.js';
import { makeTestCa, pemOf } from '../src/pki/test-support.js';
import { pkiCertificateChecker } from '../src/server/certificate-checker.js';
import { ByteReader } from '../src/wire/bytes.js';
import { encodeCertificateInfo } from '../src/wire/cert-info.js';
import { decodeSnacError } from '../src/wire/snac.js';
import { readTlvRestList, tlv } from '../src/wire/tlv.js';
import { decodeUserInfo } from '../src/wire/user-info.js';
import { startOscarFixture } from './support/oscar-server-fixture.js';
import { signOn, type BosClient } from './support/oscar-test-client.js';

function setCertBody(block: Uint8Array): Uint8Array {
  return Uint8Array.from([0x00, 0x06, block.length >> 8, block.length & 0xff, ...block]);
}

function userInfoOf(body: Uint8Array) {
  const r = new ByteReader(body);
  const sn = r.string8();
  r.u16();
  const n = r.u16();
  const start = r.offset - 3 - sn.length - 2;
  for (let i = 0; i < n; i++) {
    r.u16();
    r.block16();
  }
  return { info: decodeUserInfo(body.subarray(start, r.offset)), rest: readTlvRestList(r) };
}

async function fetchCerts(c: BosClient, who: string): Promise<{ hash?: Uint8Array; block?: Uint8Array }> {
  const sn = Buffer.from(who);
  c.conn.sendSnac(0x0002, 0x0015, Uint8Array.from([0, 0, 0, 8, sn.length, ...sn]));
  const reply = await c.conn.expectSnac(0x0002, 0x0006);
  const { info, rest } = userInfoOf(reply.body);
  const out: { hash?: Uint8Array; block?: Uint8Array } = {};
  const h = info.certInfoHash;
  if (h) out.hash = h;
  const b = rest.bytes(0x0006);
  if (b) out.block = b;
  return out;
}

test('TLS login, certificate upload checked by the PKI verifier, 0x001B in arrivals, 02/15 fetch; bad certs refused', async () => {
  const ca = await makeTestCa('OSCAR e2e');
  const revoked = new Set<string>();
  const serverKeys = await generateRsaKeyPair(2048);
  const tlsCert = ca.issue({ publicKey: serverKeys.publicKey, cn: 'localhost', dns: ['localhost'], keyUsage: ['digitalSignature', 'keyEncipherment'], eku: [OID.serverAuth] });
  const fx = await startOscarFixture({
    tls: { key: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: pemOf(tlsCert) + pemOf(ca.issuing) },
    certificates: pkiCertificateChecker({ trustAnchors: [ca.root], intermediates: [ca.issuing], isRevoked: (serial) => (revoked.has(serial) ? { revokedAt: new Date(), reason: 'keyCompromise' } : undefined) }),
  });
  try {
    await fx.addUser('alice', 'a-pass', false);
    await fx.addUser('bob', 'b-pass', false);
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
    bob.conn.sendSnac(0x0002, 0x0004, setCertBody(good));
    const update = await alice.conn.expectSnacWhere(0x0003, 0x000b, (s) => userInfoOf(s.body).info.certInfoHash !== undefined);
    const md5 = new Uint8Array(createHash('md5').update(good).digest());
    assert.deepEqual(new Uint8Array(userInfoOf(update.body).info.certInfoHash!), md5);
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
      bob.conn.sendSnac(0x0002, 0x0004, setCertBody(encodeCertificateInfo({ certA: der })));
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
  } finally {
    await fx.stop();
  }
});

test('malformed cert-info blocks are refused with subcode 0x0001', async () => {
  const fx = await startOscarFixture();
  try {
    await fx.addUser('zed', 'pw');
    const z = await signOn({ port: fx.port }, 'zed', 'pw', 'md5-strong');
    z.conn.sendSnac(0x0002, 0x0004, setCertBody(Uint8Array.from([0, 4, 0, 2, 0, 9])));
    const err = decodeSnacError((await z.conn.expectSnac(0x0002, 0x0001)).body);
    assert.equal(err.code, 0x0d);
    assert.equal(err.tlvs.u16(0x0008), 0x0001);
    assert.equal((await fx.store.userInfo.get('zed')).certBlock, null);
    z.conn.sendSnac(0x0002, 0x0004, Uint8Array.from([...tlvBytes(0x0005, new Uint8Array(15))]));
    assert.equal(decodeSnacError((await z.conn.expectSnac(0x0002, 0x0001)).body).code, 0x0e);
    z.conn.close();
  } finally {
    await fx.stop();
  }
});

function tlvBytes(type: number, value: Uint8Array): Uint8Array {
  const t = tlv(type, value);
  return Uint8Array.from([t.type >> 8, t.type & 0xff, value.length >> 8, value.length & 0xff, ...value]);
}
