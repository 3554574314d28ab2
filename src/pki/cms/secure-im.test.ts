/**
 * Secure IM codec behaviour: round trips for both profiles and both cert layouts, and one test per failure reason.
 * Interop with `openssl cms` lives in secure-im-interop.test.ts; fuzzing in secure-im-fuzz.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSecureIm as decodeWith, UNDECRYPTABLE_REASON } from './secure-im-decode.js';
import { encodeSecureIm as encodeWith, innerHeaders, OUTER_HEADERS } from './secure-im-encode.js';
import { nodeCmsCrypto } from './node-crypto.js';
import { minimalTrust } from './minimal-trust.js';
import { MemoryReplayCache } from './replay-cache.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extraIdentity, fixtures, opensslDecrypt, opensslMessage, type FixtureIdentity } from './fixtures.test-support.js';
import type { DecodeSecureImOptions, SecureImProfile } from './secure-im-types.js';

// The codec with the Node provider (aim-legacy included); crypto.ts's default is WebCrypto (modern only).
const encodeSecureIm = (o: Parameters<typeof encodeWith>[0]): Promise<Uint8Array> => encodeWith({ crypto: nodeCmsCrypto, ...o });
const decodeSecureIm = (b: Uint8Array, o: Parameters<typeof decodeWith>[1]): ReturnType<typeof decodeWith> => decodeWith(b, { crypto: nodeCmsCrypto, ...o });

const f = fixtures();
const alice = f.ids.alice!;
const bobSign = f.ids['bob-sign']!;
const bobEnc = f.ids['bob-enc']!;
const mallory = f.ids.mallory!;
const trust = minimalTrust([f.caCert]);
const TEXT = '<HTML><BODY>lunch at noon? — ☕</BODY></HTML>';

function send(profile: SecureImProfile, extra: Partial<Parameters<typeof encodeSecureIm>[0]> = {}, from: FixtureIdentity = alice): Promise<Uint8Array> {
  return encodeSecureIm({
    profile, text: TEXT,
    sender: { screenName: 'alice', signingKey: from.key, signingCert: from.certDer },
    recipient: { screenName: 'Bob Smith', cert: bobEnc.certDer },
    ...extra,
  });
}

/** Bob (numcerts 2) receiving from alice (numcerts 1). */
function bobOpts(over: Partial<DecodeSecureImOptions> = {}): DecodeSecureImOptions {
  return {
    recipientKeys: [{ cert: bobSign.certDer, key: bobSign.key }, { cert: bobEnc.certDer, key: bobEnc.key }],
    senderScreenName: 'alice', senderCerts: [alice.certDer], recipientScreenName: 'bobsmith', trust,
    replayCache: new MemoryReplayCache(), ...over,
  };
}

for (const profile of ['aim-legacy', 'modern'] as const) {
  test(`${profile}: round trip is verified and returns text, charset, signer`, async () => {
    const r = await decodeSecureIm(await send(profile), bobOpts());
    assert.equal(r.verdict, 'verified', r.reason);
    assert.equal(r.code, 'ok');
    assert.equal(r.profile, profile);
    assert.equal(r.text, TEXT);
    assert.equal(r.charset, profile === 'modern' ? 'utf-8' : 'unicode-2-0');
    assert.equal(r.signer?.screenName, 'alice');
    assert.equal(r.signer?.fingerprint, alice.cert.fingerprint256.replace(/:/g, '').toLowerCase());
    assert.equal(r.remote, 'ok');
    if (profile === 'modern') {
      assert.equal(r.weak, undefined);
      assert.equal(r.bound, true);
      assert.equal(r.replayChecked, true);
      assert.match(r.messageId ?? '', /^[0-9a-f]{32}$/);
    } else {
      assert.equal(r.weak, true, 'MD5 is reported weak');
      assert.equal(r.bound, false);
    }
  });

  test(`${profile}: ascii and latin-1 text pick the narrow charsets`, async () => {
    for (const [text, cs] of [['hi', 'us-ascii'], ['héllo', 'iso-8859-1']] as const) {
      const r = await decodeSecureIm(await send(profile, { text }), bobOpts());
      assert.equal(r.text, text);
      assert.equal(r.charset, cs);
    }
  });

  test(`${profile}: tampered ciphertext fails as tampered with the uniform remote outcome`, async () => {
    const m = Buffer.from(await send(profile));
    m[m.length - 40]! ^= 0x01;
    const r = await decodeSecureIm(m, bobOpts());
    assert.equal(r.verdict, 'failed');
    assert.equal(r.code, 'tampered');
    assert.equal(r.remote, 'undecryptable');
    assert.equal(r.text, undefined);
  });

  test(`${profile}: a tampered wrapped key and tampered content give one identical result (no padding oracle)`, async () => {
    const original = await send(profile);
    const badKey = Buffer.from(original);
    // The encryptedKey is the 256-byte OCTET STRING: find its header 04 82 01 00 and flip a byte inside.
    const at = badKey.indexOf(Buffer.from([0x04, 0x82, 0x01, 0x00]));
    assert.ok(at > 0);
    badKey[at + 4 + 100]! ^= 0x40;
    const badContent = Buffer.from(original);
    badContent[badContent.length - 40]! ^= 0x01;
    const k = await decodeSecureIm(badKey, bobOpts());
    const c = await decodeSecureIm(badContent, bobOpts());
    assert.deepEqual(k, c, 'every field, step and reason included, is the same');
    assert.deepEqual(k, { verdict: 'failed', code: 'tampered', reason: UNDECRYPTABLE_REASON, remote: 'undecryptable', step: 'decrypt', profile });
    // Implicit rejection is deterministic: the same bad key gives the same outcome again.
    assert.deepEqual(await decodeSecureIm(badKey, bobOpts()), k);
  });

  test(`${profile}: wrong recipient key`, async () => {
    const r = await decodeSecureIm(await send(profile), bobOpts({ recipientKeys: [{ cert: mallory.certDer, key: mallory.key }] }));
    assert.equal(r.verdict, 'failed');
    assert.equal(r.code, 'wrong-recipient');
  });

  test(`${profile}: truncated input is malformed at every cut`, async () => {
    const m = await send(profile);
    for (const cut of [0, 1, 2, 10, 50, 300, m.length - 200, m.length - 1]) {
      const r = await decodeSecureIm(m.subarray(0, cut), bobOpts());
      assert.equal(r.verdict, 'failed');
      assert.equal(r.code, 'malformed', `cut at ${cut}`);
    }
  });

  test(`${profile}: signer is not the sending screen name`, async () => {
    // mallory signs with her own key and certificate; the server says the message is from alice.
    const m = await send(profile, { sender: { screenName: 'alice', signingKey: mallory.key, signingCert: mallory.certDer } });
    const withCerts = await decodeSecureIm(m, bobOpts());
    // aim-legacy: the signer lookup happens before the signature verifies, on unauthenticated CBC plaintext, so it
    // is the one decryption failure; modern content is authenticated and keeps the specific code.
    assert.equal(withCerts.code, profile === 'modern' ? 'signer-mismatch' : 'tampered');
    const embeddedOnly = await decodeSecureIm(m, bobOpts({ senderCerts: [] }));
    assert.equal(embeddedOnly.code, 'signer-mismatch');
    assert.match(embeddedOnly.reason, /mallory/);
  });

  test(`${profile}: swapped signer (alice's certificate, mallory's key) is a bad signature`, async () => {
    const m = await send(profile, { sender: { screenName: 'alice', signingKey: mallory.key, signingCert: alice.certDer } });
    const r = await decodeSecureIm(m, bobOpts());
    assert.equal(r.code, 'tampered');
    assert.equal(r.step, profile === 'modern' ? 'signature' : 'decrypt');
  });

  test(`${profile}: untrusted signer is verified-but-untrusted with the verifier's reason`, async () => {
    const rogue = f.ids['rogue-alice']!; // CN=alice from another CA
    const m = await send(profile, {}, rogue);
    const r = await decodeSecureIm(m, bobOpts({ senderCerts: [rogue.certDer] }));
    assert.equal(r.verdict, 'untrusted');
    assert.equal(r.code, 'unknown-issuer');
    assert.equal(r.text, TEXT);
  });
}

test('numcerts 2: bob signs with his signing key, alice (numcerts 1) reads it; wrapping used the common cert', async () => {
  const m = await encodeSecureIm({
    profile: 'modern', text: 'hi alice',
    sender: { screenName: 'Bob Smith', signingKey: bobSign.key, signingCert: bobSign.certDer },
    recipient: { screenName: 'alice', cert: alice.certDer },
  });
  const r = await decodeSecureIm(m, {
    recipientKeys: [{ cert: alice.certDer, key: alice.key }], senderScreenName: 'bobsmith',
    senderCerts: [bobEnc.certDer, bobSign.certDer], recipientScreenName: 'alice', trust,
  });
  assert.equal(r.verdict, 'verified', r.reason);
  assert.equal(r.signer?.screenName, 'Bob Smith');
  assert.equal(r.replayChecked, false, 'no replay cache given');
});

test('modern includeSelf: the sender\'s own encryption key can read its sent message', async () => {
  const m = await send('modern', { includeSelf: true, sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer, encryptionCert: alice.certDer } });
  const asBob = await decodeSecureIm(m, bobOpts());
  assert.equal(asBob.verdict, 'verified');
  const asAlice = await decodeSecureIm(m, {
    recipientKeys: [{ cert: alice.certDer, key: alice.key }], senderScreenName: 'alice', senderCerts: [alice.certDer],
    recipientScreenName: 'Bob Smith', trust,
  });
  assert.equal(asAlice.verdict, 'verified', asAlice.reason);
  await assert.rejects(send('aim-legacy', { includeSelf: true }), RangeError);
});

test('replayed modern message id', async () => {
  const m = await send('modern');
  const cache = new MemoryReplayCache();
  assert.equal((await decodeSecureIm(m, bobOpts({ replayCache: cache }))).verdict, 'verified');
  const again = await decodeSecureIm(m, bobOpts({ replayCache: cache }));
  assert.equal(again.verdict, 'failed');
  assert.equal(again.code, 'replayed');
  const old = await send('modern', { now: new Date(Date.now() - 30 * 24 * 3600_000) });
  assert.equal((await decodeSecureIm(old, bobOpts())).code, 'replayed');
});

test('forwarded: a message alice signed for bob, re-enveloped by bob to mallory, is refused by mallory', async () => {
  const m = await send('modern');
  const plain = opensslDecrypt(m, bobEnc); // bob is honest-but-curious: he holds the plaintext SignedData
  const signed = plain.subarray(plain.indexOf('\r\n\r\n') + 4);
  // Re-envelope with openssl to mallory (modern construction).
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  writeFileSync(join(f.dir, 'fwd.outer'), Buffer.concat([OUTER_HEADERS, signed]));
  f.openssl(['cms', '-encrypt', '-binary', '-in', 'fwd.outer', '-outform', 'DER', '-out', 'fwd.env', '-aes-256-gcm',
    '-recip', mallory.certPath, '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256']);
  const fwd = (await import('node:fs')).readFileSync(join(f.dir, 'fwd.env'));
  const r = await decodeSecureIm(fwd, {
    recipientKeys: [{ cert: mallory.certDer, key: mallory.key }], senderScreenName: 'alice', senderCerts: [alice.certDer],
    recipientScreenName: 'mallory', trust,
  });
  assert.equal(r.verdict, 'failed');
  assert.equal(r.code, 'forwarded');
});

test('policy: MD5 inside a modern envelope is an unsupported downgrade', async () => {
  const m = opensslMessage({
    signer: alice, recipient: bobEnc, inner: Buffer.concat([innerHeaders('us-ascii'), Buffer.from('x')]), md: 'md5',
    outerHeaders: OUTER_HEADERS, encryptArgs: ['-aes-256-gcm'],
    recipArgs: ['-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256'],
  });
  const r = await decodeSecureIm(m, bobOpts());
  assert.equal(r.code, 'unsupported-algorithm');
  assert.match(r.reason, /md5/);
});

test('policy: PKCS#1 v1.5 key transport in a modern envelope, 3DES content, and legacy under requireModern are unsupported', async () => {
  const inner = Buffer.concat([innerHeaders('us-ascii'), Buffer.from('x')]);
  const v15 = opensslMessage({ signer: alice, recipient: bobEnc, inner, md: 'sha256', outerHeaders: OUTER_HEADERS, encryptArgs: ['-aes-256-gcm'] });
  assert.equal((await decodeSecureIm(v15, bobOpts())).code, 'unsupported-algorithm');
  const des = opensslMessage({ signer: alice, recipient: bobEnc, inner, md: 'sha256', outerHeaders: OUTER_HEADERS, encryptArgs: ['-des3'] });
  assert.equal((await decodeSecureIm(des, bobOpts())).code, 'unsupported-algorithm');
  const legacy = await decodeSecureIm(await send('aim-legacy'), bobOpts({ requireModern: true }));
  assert.equal(legacy.code, 'unsupported-algorithm');
  assert.match(legacy.reason, /downgrade/);
});

test('a trust callback that throws yields untrusted, not a crash', async () => {
  const r = await decodeSecureIm(await send('modern'), bobOpts({ trust: async () => { throw new Error('verifier offline'); } }));
  assert.equal(r.verdict, 'untrusted');
  assert.equal(r.code, 'trust-error');
});

test('inputs that are not CMS at all are malformed; oversize input is refused before parsing', async () => {
  for (const b of [new Uint8Array(0), Uint8Array.of(0x30), Buffer.from('hello'), Uint8Array.of(0x30, 0x80, 0x30, 0x80)]) {
    assert.equal((await decodeSecureIm(b, bobOpts())).code, 'malformed');
  }
  assert.equal((await decodeSecureIm(new Uint8Array(70_000), bobOpts())).code, 'malformed');
});

test('aim-legacy CBC padding oracle: bad padding and good padding with a broken signature are indistinguishable', async () => {
  // Vaudenay's attack flips bytes of the next-to-last ciphertext block C[n-1] to steer the last plaintext block.
  // The encryptedContent is the message's last element, so C[n-1] is bytes -32..-16.
  const m = Buffer.from(await send('aim-legacy', { text: 'x'.repeat(40) }));
  const badPad = Buffer.from(m);
  badPad[badPad.length - 17]! ^= 0x5a; // last plaintext byte = the pad length
  const goodPad = Buffer.from(m);
  goodPad[goodPad.length - 32]! ^= 0x01; // first byte of the last block: signature bytes, padding untouched
  // openssl (the independent reference) shows the padding really differs: it refuses one, decrypts the other.
  assert.throws(() => opensslDecrypt(badPad, bobEnc));
  const plain = opensslDecrypt(goodPad, bobEnc);
  assert.ok(plain.length > 0);
  const a = await decodeSecureIm(badPad, bobOpts());
  const b = await decodeSecureIm(goodPad, bobOpts());
  assert.deepEqual(a, b);
  assert.equal(a.code, 'tampered');
  assert.equal(a.step, 'decrypt');
  // A ciphertext cut by one block (lengths fixed up so it still parses) is the same result again.
  const lenAt = encryptedContentHeader(m);
  const truncated = Buffer.from(m.subarray(0, m.length - 16));
  truncated.writeUInt16BE(truncated.readUInt16BE(lenAt + 2) - 16, lenAt + 2);
  fixOuterLengths(truncated, 16);
  const t = await decodeSecureIm(truncated, bobOpts());
  assert.deepEqual(t, a);
});

/**
 * Where the encryptedContent's header (`80 82 LL LL`, [0] IMPLICIT with a two-byte length) starts: the first such
 * header whose length runs exactly to the end of the message, as the last element's does. (The last `80 82` in the
 * message is not it whenever the random ciphertext happens to hold those two bytes.)
 */
function encryptedContentHeader(b: Buffer): number {
  for (let p = 0; p + 4 <= b.length; p++) {
    if (b[p] === 0x80 && b[p + 1] === 0x82 && p + 4 + b.readUInt16BE(p + 2) === b.length) return p;
  }
  throw new Error('no encryptedContent header');
}

/** Shrinks the definite long-form lengths of the outer SEQUENCEs/[0]s enclosing the content by `by` bytes. */
function fixOuterLengths(b: Buffer, by: number): void {
  // ContentInfo SEQUENCE, [0], EnvelopedData SEQUENCE, EncryptedContentInfo SEQUENCE: walk from the start.
  let o = 0;
  const shrink = (at: number): number => {
    assert.equal(b[at + 1], 0x82, 'long-form two-byte length expected');
    b.writeUInt16BE(b.readUInt16BE(at + 2) - by, at + 2);
    return at + 4;
  };
  o = shrink(o); // ContentInfo
  o += 11; // OID envelopedData (06 09 ...)
  o = shrink(o); // [0]
  shrink(o); // EnvelopedData
  const eci = b.indexOf(Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01])); // id-data
  assert.ok(eci > 4);
  const eciStart = b[eci - 4] === 0x30 ? eci - 4 : eci - 3;
  if (b[eciStart + 1] === 0x82) shrink(eciStart);
  else b[eciStart + 1]! -= by;
}

test('aim-legacy to a buddy with separate certificates: signing certificate first, encryption second (openssl reads both)', async () => {
  const carolSign = extraIdentity('carol-sign', 'carol', 2048, 'sign');
  const carolEnc = extraIdentity('carol-enc', 'carol', 2048, 'encrypt');
  const m = await encodeSecureIm({
    profile: 'aim-legacy', text: 'to a classic client',
    sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
    recipient: { screenName: 'carol', cert: carolEnc.certDer, signingCert: carolSign.certDer },
  });
  // openssl's own parser shows the order: RecipientInfo 1 names the signing certificate, 2 the encryption one.
  writeFileSync(join(f.dir, 'two-ri.der'), m);
  const printed = f.openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'two-ri.der']).toString();
  const serials = [...printed.matchAll(/serialNumber: (?:0x)?([0-9A-Fa-f]+)/g)].map((x) => x[1]!.toLowerCase());
  const serialOf = (id: FixtureIdentity): string => id.cert.serialNumber.toLowerCase().replace(/^0+/, '');
  assert.deepEqual(serials.map((x) => x.replace(/^0+/, '')), [serialOf(carolSign), serialOf(carolEnc)]);
  // What joustsim does (signing key, first RecipientInfo) and what certim does (encryption key) both decrypt.
  for (const key of [carolSign, carolEnc]) {
    const plain = opensslDecrypt(m, key);
    assert.ok(plain.subarray(0, OUTER_HEADERS.length).equals(OUTER_HEADERS));
  }
  // certim as carol, with her signing key listed FIRST, still decrypts with the encryption key only.
  const r = await decodeSecureIm(m, {
    recipientKeys: [{ cert: carolSign.certDer, key: carolSign.key }, { cert: carolEnc.certDer, key: carolEnc.key }],
    senderScreenName: 'alice', senderCerts: [alice.certDer], recipientScreenName: 'carol', trust,
  });
  assert.equal(r.verdict, 'verified', r.reason);
  assert.equal(r.text, 'to a classic client');
  // Same certificate for both roles (numcerts 1): one RecipientInfo. Modern ignores signingCert.
  const one = await encodeSecureIm({ profile: 'aim-legacy', text: 'x', sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
    recipient: { screenName: 'Bob Smith', cert: bobEnc.certDer, signingCert: bobEnc.certDer } });
  const modern = await encodeSecureIm({ profile: 'modern', text: 'x', sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
    recipient: { screenName: 'carol', cert: carolEnc.certDer, signingCert: carolSign.certDer } });
  for (const [name, msg, n] of [['numcerts 1', one, 1], ['modern', modern, 1]] as const) {
    writeFileSync(join(f.dir, 'ri-count.der'), msg);
    const p = f.openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'ri-count.der']).toString();
    assert.equal(p.match(/d\.ktri:/g)?.length, n, name);
  }
});

test('certim never decrypts with a signing-only key, even when a RecipientInfo names it', async () => {
  const carolSign = extraIdentity('carol-sign', 'carol', 2048, 'sign');
  // What a classic client sends: enveloped to the buddy's signing certificate only (docs/protocol.md §6.2).
  const m = await encodeSecureIm({
    profile: 'aim-legacy', text: 'joustsim style',
    sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
    recipient: { screenName: 'carol', cert: carolSign.certDer },
  });
  assert.ok(opensslDecrypt(m, carolSign).length > 0, 'the message itself is fine: openssl decrypts it with that key');
  const r = await decodeSecureIm(m, {
    recipientKeys: [{ cert: carolSign.certDer, key: carolSign.key }],
    senderScreenName: 'alice', senderCerts: [alice.certDer], recipientScreenName: 'carol', trust,
  });
  assert.equal(r.verdict, 'failed');
  assert.equal(r.code, 'wrong-recipient');
  assert.match(r.reason, /signing key/);
});
