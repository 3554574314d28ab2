/**
 * Secure rooms against `openssl cms` (OpenSSL 3.0), the independent reference, both ways (docs/protocol.md §7.2,
 * §7.3, §16): room messages through `-EncryptedData_decrypt` / `-EncryptedData_encrypt` with the room key, their
 * inner SignedData and the key block through `-verify` / `-sign`, the wrapped room key through `pkeyutl`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { children, der, parseAsn1, rawOf, readOctets, readOid, readSmallInt } from '../asn1/der.js';
import { ByteReader, ByteWriter } from '../../wire/bytes.js';
import { MiniRoomInfo, writeMiniRoomInfo } from '../../wire/families/chat-nav.js';
import { prepareCertificate } from './cms-certificate.js';
import { fixtures } from './fixtures.test-support.js';
import { minimalTrust } from './minimal-trust.js';
import { OID } from './oids.js';
import { innerHeaders, OUTER_HEADERS } from './secure-im-encode.js';
import { decodeRoomKeyBlock, decryptRoomMessage, encodeRoomKeyBlock, encryptRoomMessage, ROOM_CIPHER_OID } from './secure-room.js';

const f = fixtures();
const alice = f.ids.alice!;
const bob = f.ids['bob-enc']!;
const trust = minimalTrust([f.caCert]);
const room: MiniRoomInfo = { exchange: 4, cookie: Buffer.from('!aol://2719:10-4-secret%20plans'), instance: 0 };
const signer = { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer };
let seq = 0;
const file = (name: string, bytes: Uint8Array): string => {
  const p = join(f.dir, `room-${process.pid}-${seq++}-${name}`);
  writeFileSync(p, bytes);
  return p;
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const verifyWithOpenssl = (sd: Uint8Array): Buffer =>
  f.openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', file('sd.der', sd), '-CAfile', f.caCertPath, '-purpose', 'smimesign']);

for (const profile of ['aim', 'certim'] as const) {
  test(`${profile} room message: openssl -EncryptedData_decrypt with the room key, then -verify against the CA`, async () => {
    const key = randomBytes(32);
    const text = `<HTML><BODY>${profile} room to openssl</BODY></HTML>`;
    const body = await encryptRoomMessage({ profile, key, signer, text, binding: { roomName: 'secret plans', epoch: 3 } });
    const plain = f.openssl(['cms', '-EncryptedData_decrypt', '-binary', '-inform', 'DER', '-in', file('msg.der', body), '-secretkey', hex(key)]);
    assert.ok(plain.subarray(0, OUTER_HEADERS.length).equals(OUTER_HEADERS), 'outer header block');
    const content = verifyWithOpenssl(plain.subarray(OUTER_HEADERS.length));
    assert.deepEqual(content, Buffer.concat([innerHeaders('us-ascii'), Buffer.from(text)]));
    // A wrong key makes openssl fail: the check above is not vacuous.
    assert.throws(() => f.openssl(['cms', '-EncryptedData_decrypt', '-binary', '-inform', 'DER', '-in', file('msg2.der', body), '-secretkey', hex(randomBytes(32))]));
    // Layout: ContentInfo(encryptedData), EncryptedData v0 (aim) / v2 with the epoch unprotected (certim).
    const [oid, wrapped] = children(parseAsn1(body, { ber: true }));
    assert.equal(readOid(oid!), OID.encryptedData);
    const ed = children(children(wrapped!)[0]!);
    assert.equal(readSmallInt(ed[0]!), profile === 'aim' ? 0 : 2);
    assert.equal(ed.length, profile === 'aim' ? 2 : 3);
  });
}

test('openssl-made room message (sign -md md5, EncryptedData_encrypt -aes-256-cbc) decrypts and verifies as AIM format', async () => {
  const key = randomBytes(32);
  const text = '<HTML><BODY>from openssl</BODY></HTML>';
  const inner = file('inner', Buffer.concat([innerHeaders('us-ascii'), Buffer.from(text)]));
  const sd = f.openssl(['cms', '-sign', '-binary', '-nodetach', '-in', inner, '-signer', alice.certPath, '-inkey', alice.keyPath, '-md', 'md5', '-outform', 'DER']);
  const outer = file('outer', Buffer.concat([OUTER_HEADERS, sd]));
  const body = f.openssl(['cms', '-EncryptedData_encrypt', '-binary', '-in', outer, '-aes-256-cbc', '-secretkey', hex(key), '-outform', 'DER']);
  const r = await decryptRoomMessage(body, {
    keyFor: (e) => (e === undefined ? key : undefined), senderScreenName: 'alice', senderCerts: [alice.certDer], trust,
    roomName: 'secret plans', requireCertim: false,
  });
  assert.equal(r.verdict, 'verified', r.reason);
  assert.equal(r.text, text);
  assert.equal(r.profile, 'aim');
  assert.equal(r.bound, false, 'openssl adds no room binding');
  // A certim-mode room refuses the same AIM-format message (downgrade).
  const r2 = await decryptRoomMessage(body, {
    keyFor: () => key, senderScreenName: 'alice', senderCerts: [alice.certDer], trust, roomName: 'secret plans', requireCertim: true,
  });
  assert.equal(r2.code, 'downgrade');
});

for (const profile of ['aim', 'certim'] as const) {
  test(`${profile} key block: openssl -verify gives room info || u16 L || key data; the wrapped key opens with pkeyutl`, async () => {
    const key = randomBytes(32);
    const block = await encodeRoomKeyBlock({
      profile, room, key, signer, recipient: { screenName: 'Bob Smith', cert: bob.certDer },
      binding: { roomName: 'secret plans', epoch: 5, keyholders: ['alice', 'Bob Smith'] },
    });
    const content = verifyWithOpenssl(block);
    const r = new ByteReader(content);
    const mri = MiniRoomInfo.read(r);
    assert.equal(mri.exchange, 4);
    assert.deepEqual(Buffer.from(mri.cookie), Buffer.from(room.cookie));
    const keyData = r.bytes(r.u16());
    assert.ok(r.done, 'nothing after the key data');
    const [ktri, cipher] = children(parseAsn1(keyData));
    assert.equal(readOid(cipher!), ROOM_CIPHER_OID);
    const [version, rid, alg, ek] = children(ktri!);
    assert.equal(readSmallInt(version!), 0);
    assert.deepEqual(Buffer.from(rawOf(rid!)), Buffer.from(prepareCertificate(bob.certDer).issuerAndSerial), 'IssuerAndSerialNumber of the invitee');
    assert.equal(readOid(children(alg!)[0]!), profile === 'aim' ? OID.rsaEncryption : OID.rsaesOaep);
    const pk = profile === 'aim' ? [] : ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256'];
    const unwrapped = f.openssl(['pkeyutl', '-decrypt', '-inkey', bob.keyPath, '-in', file('ek', readOctets(ek!)), ...pk]);
    assert.deepEqual(unwrapped, key);
  });
}

test('openssl-made AIM key block (pkeyutl -encrypt, cms -sign -md md5) opens to the same key', async () => {
  const key = randomBytes(32);
  const ek = f.openssl(['pkeyutl', '-encrypt', '-certin', '-inkey', bob.certPath, '-in', file('key', key)]);
  const ktri = der.seq(der.int(0), prepareCertificate(bob.certDer).issuerAndSerial, der.seq(der.oid(OID.rsaEncryption), der.null()), der.octets(ek));
  const keyData = der.seq(ktri, der.oid(ROOM_CIPHER_OID));
  const w = new ByteWriter(256);
  writeMiniRoomInfo(w, room);
  w.u16(keyData.length).bytes(keyData);
  const content = file('content', w.finish());
  const sd = f.openssl(['cms', '-sign', '-binary', '-nodetach', '-in', content, '-signer', alice.certPath, '-inkey', alice.keyPath, '-md', 'md5', '-outform', 'DER', '-nocerts']);
  const r = await decodeRoomKeyBlock(sd, {
    recipientKeys: [{ cert: bob.certDer, key: bob.key }], recipientScreenName: 'Bob Smith', senderScreenName: 'alice',
    senderCerts: [alice.certDer], trust,
  });
  assert.equal(r.verdict, 'verified', r.reason);
  assert.equal(r.profile, 'aim');
  assert.deepEqual(Buffer.from(r.key!), key);
  assert.deepEqual(Buffer.from(r.room!.cookie), Buffer.from(room.cookie));
});
