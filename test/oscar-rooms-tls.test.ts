/**
 * Rooms for certim clients (docs/protocol.md §3.7, §7): over TLS the `01/05` to ChatNav and Chat stays on the TLS
 * port, and a member's user-info block in `0E/03` and `0E/06` is the user's published block with the certificate
 * hash 0x001B (the MD5 of the uploaded block, §4.2), which secure-room members need to fetch each other's
 * certificates and check signatures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateRsaKeyPair } from '../src/pki/keys.js';
import { OID } from '../src/pki/oids.js';
import { makeTestCa, pemOf } from '../src/pki/test-ca.test-support.js';
import { pkiCertificateChecker } from '../src/server/certificate-checker.js';
import { encodeCertificateInfo } from '../src/wire/cert-info.js';
import { CHATNAV_FAMILY, CONTENT_TYPE_SECURE, encodeMiniRoomInfo } from '../src/wire/families/chat-nav.js';
import { CHAT_FAMILY, ChatSubtype, ChatTlv, decodeChatMsgToClient } from '../src/wire/families/chat.js';
import { decodeUserInfoList } from '../src/wire/families/buddy.js';
import { encodeSetInfo } from '../src/wire/families/locate.js';
import { ServiceTlv } from '../src/wire/families/oservice.js';
import { tlv } from '../src/wire/tlv.js';
import { decodeUserInfo } from '../src/wire/user-info.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { signOn } from './support/oscar-test-client.js';
import { createRoom, messageBlock, redeem, requestService, roomTlvs, sendRoomMessage } from './support/oscar-rooms.js';

test('over TLS: redirects stay on TLS; members carry their certificate hash in 0E/03 and 0E/06', async () => {
  const ca = await makeTestCa('rooms TLS');
  const serverKeys = await generateRsaKeyPair(2048);
  const tlsCert = ca.issue({ publicKey: serverKeys.publicKey, cn: 'localhost', dns: ['localhost'], keyUsage: ['digitalSignature', 'keyEncipherment'], eku: [OID.serverAuth] });
  await withOscarFixture({
    users: [['alice', 'a-pass', false], ['bob', 'b-pass', false]],
    tls: { key: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: pemOf(tlsCert) + pemOf(ca.issuing) },
    certificates: pkiCertificateChecker({ trustAnchors: [ca.root], intermediates: [ca.issuing], isRevoked: () => undefined }),
  }, async (fx) => {
    const ep = { port: fx.tlsPort, tlsCa: pemOf(ca.root) };
    const alice = await signOn(ep, 'alice', 'a-pass', 'tls-password', { multiConn: 1 });
    const bob = await signOn(ep, 'bob', 'b-pass', 'tls-password', { multiConn: 1 });
    const bobKeys = await generateRsaKeyPair(2048);
    const block = encodeCertificateInfo({ certA: ca.issue({ publicKey: bobKeys.publicKey, cn: 'bob', keyUsage: ['digitalSignature', 'keyEncipherment'], eku: [OID.emailProtection] }).der });
    bob.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ certInfo: block }));
    const q = bob.conn.sendSnac(0x0001, 0x000e);
    await bob.conn.expectSnacWhere(0x0001, 0x000f, (s) => s.requestId === q && decodeUserInfo(s.body).certInfoHash !== undefined);
    const hash = createHash('md5').update(block).digest();

    const navRedirect = await requestService(alice.conn, CHATNAV_FAMILY);
    assert.ok(typeof navRedirect !== 'number');
    assert.equal(navRedirect.address, `127.0.0.1:${fx.tlsPort}`, 'TLS stays TLS');
    const nav = await redeem(ep, navRedirect, CHATNAV_FAMILY);
    const room = await createRoom(nav, 4, roomTlvs('Sealed', CONTENT_TYPE_SECURE));
    assert.ok(typeof room !== 'number');
    const join = async (who: typeof alice) => {
      const r = await requestService(who.conn, CHAT_FAMILY, [tlv(ServiceTlv.ROOM, encodeMiniRoomInfo(room))]);
      assert.ok(typeof r !== 'number');
      assert.equal(r.address, `127.0.0.1:${fx.tlsPort}`);
      return redeem(ep, r, CHAT_FAMILY);
    };
    const aChat = await join(alice);
    await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    const bChat = await join(bob);
    const listed = decodeUserInfoList((await bChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body);
    assert.deepEqual(Buffer.from(listed.find((u) => u.screenName === 'bob')!.certInfoHash!), hash);
    const joined = decodeUserInfoList((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body);
    assert.deepEqual(Buffer.from(joined[0]!.certInfoHash!), hash, 'the joiner block carries 0x001B');
    sendRoomMessage(bChat, messageBlock(CONTENT_TYPE_SECURE, Uint8Array.of(1, 2, 3)));
    const m = decodeChatMsgToClient((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT)).body);
    assert.deepEqual(Buffer.from(decodeUserInfo(m.tlvs.bytes(ChatTlv.SENDER_INFO)!).certInfoHash!), hash, 'so does the sender block');
    for (const c of [aChat, bChat, nav, alice.conn, bob.conn]) c.close();
  });
});
