/**
 * The revocation hook (src/server/admin/cert-withdrawal.ts) on a real OSCAR server: once a published certificate
 * is revoked, the owner's stored cert-info block is cleared, their watchers get a 03/0B arrival without TLV 0x001B
 * (docs/protocol.md §4.2), and a 02/15 certificate query no longer returns the block. A serial that is not in the
 * block changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateRsaKeyPair } from '../src/pki/keys.js';
import { OID } from '../src/pki/oids.js';
import { makeTestCa, pemOf } from '../src/pki/test-ca.test-support.js';
import { pkiCertificateChecker } from '../src/server/certificate-checker.js';
import { onCertificateRevoked } from '../src/server/admin/cert-withdrawal.js';
import { recordingLogger, type LoggedEvent } from '../src/server/log.js';
import { encodeCertificateInfo } from '../src/wire/cert-info.js';
import { decodeUserInfoList } from '../src/wire/families/buddy.js';
import { InfoQueryFlag, decodeUserInfoReply, encodeSetInfo, encodeUserInfoQuery2 } from '../src/wire/families/locate.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { signOn } from './support/oscar-test-client.js';

function arrivalCertHash(body: Uint8Array): Uint8Array | undefined {
  return decodeUserInfoList(body)[0]!.certInfoHash;
}

test('revoking a published certificate withdraws the block and re-announces presence without 0x001B', { timeout: 120_000 }, async () => {
  const ca = await makeTestCa('withdrawal');
  const serverKeys = await generateRsaKeyPair(2048);
  const tlsCert = ca.issue({ publicKey: serverKeys.publicKey, cn: 'localhost', dns: ['localhost'], keyUsage: ['digitalSignature', 'keyEncipherment'], eku: [OID.serverAuth] });
  const events: LoggedEvent[] = [];
  await withOscarFixture({
    users: [['alice', 'a-pass', false], ['bob', 'b-pass', false]],
    tls: { key: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: pemOf(tlsCert) + pemOf(ca.issuing) },
    certificates: pkiCertificateChecker({ trustAnchors: [ca.root], intermediates: [ca.issuing], isRevoked: () => undefined }),
    engine: { log: recordingLogger(events) },
  }, async (fx) => {
    const ep = { port: fx.tlsPort, tlsCa: pemOf(ca.root) };
    const alice = await signOn(ep, 'alice', 'a-pass', 'tls-password', { buddies: ['bob'] });
    const bob = await signOn(ep, 'bob', 'b-pass', 'tls-password', { buddies: ['alice'] });
    await alice.conn.expectSnac(0x0003, 0x000b);

    const keys = await generateRsaKeyPair(2048);
    const cert = ca.issue({ publicKey: keys.publicKey, cn: 'bob', keyUsage: ['digitalSignature', 'keyEncipherment'], eku: [OID.emailProtection] });
    bob.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ certInfo: encodeCertificateInfo({ certA: cert.der }) }));
    await alice.conn.expectSnacWhere(0x0003, 0x000b, (s) => arrivalCertHash(s.body) !== undefined);
    assert.ok((await fx.store.userInfo.get('bob')).certBlock, 'block stored');

    // A serial that is not in Bob's block: nothing happens.
    assert.equal(await onCertificateRevoked(fx.server.engine, 'bob', '0badbeef'), false);
    assert.equal(await alice.conn.noSnac(0x0003, 0x000b, 300), true, 'no presence change for an unrelated serial');

    // Bob's own certificate: withdrawn, and Alice hears it at once.
    assert.equal(await onCertificateRevoked(fx.server.engine, 'Bob', cert.serial), true);
    const update = await alice.conn.expectSnac(0x0003, 0x000b);
    assert.equal(arrivalCertHash(update.body), undefined, 'arrival without the certificate hash');
    assert.equal((await fx.store.userInfo.get('bob')).certBlock, null, 'stored block cleared');
    alice.conn.sendSnac(0x0002, 0x0015, encodeUserInfoQuery2({ flags: InfoQueryFlag.CERTIFICATES, screenName: 'bob' }));
    const reply = decodeUserInfoReply((await alice.conn.expectSnac(0x0002, 0x0006)).body);
    assert.equal(reply.tlvs.bytes(0x0006), undefined, '02/15 serves no block any more');
    assert.equal(reply.user.certInfoHash, undefined);

    const withdrawn = events.filter((e) => e.event === 'cert.withdrawn');
    assert.deepEqual(withdrawn.map((e) => e.fields), [{ screenName: 'Bob', serial: cert.serial.replace(/^(00)+(?=..)/, ''), online: true }]);
    alice.conn.close();
    bob.conn.close();
  });
});
