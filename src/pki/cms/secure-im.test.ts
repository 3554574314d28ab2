/**
 * Secure IM codec behaviour: round trips for both profiles and both cert layouts, and one test per failure reason.
 * Interop with `openssl cms` lives in secure-im-interop.test.ts; fuzzing in secure-im-fuzz.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSecureIm } from './secure-im-decode.js';
import { encodeSecureIm, innerHeaders, OUTER_HEADERS } from './secure-im-encode.js';
import { minimalTrust } from './minimal-trust.js';
import { MemoryReplayCache } from './replay-cache.js';
import { fixtures, opensslDecrypt, opensslMessage, type FixtureIdentity } from './fixtures.test-support.js';
import type { DecodeSecureImOptions, SecureImProfile } from './secure-im-types.js';

const f = fixtures();
const alice = f.ids.alice!;
const bobSign = f.ids['bob-sign']!;
const bobEnc = f.ids['bob-enc']!;
const mallory = f.ids.mallory!;
const trust = minimalTrust([f.caCert]);
const TEXT = '<HTML><BODY>lunch at noon? — ☕</BODY></HTML>';

function send(profile: SecureImProfile, extra: Partial<Parameters<typeof encodeSecureIm>[0]> = {}, from: FixtureIdentity = alice): Uint8Array {
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
    const r = await decodeSecureIm(send(profile), bobOpts());
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
      const r = await decodeSecureIm(send(profile, { text }), bobOpts());
      assert.equal(r.text, text);
      assert.equal(r.charset, cs);
    }
  });

  test(`${profile}: tampered ciphertext fails as tampered with the uniform remote outcome`, async () => {
    const m = Buffer.from(send(profile));
    m[m.length - 40]! ^= 0x01;
    const r = await decodeSecureIm(m, bobOpts());
    assert.equal(r.verdict, 'failed');
    assert.equal(r.code, 'tampered');
    assert.equal(r.remote, 'undecryptable');
    assert.equal(r.text, undefined);
  });

  test(`${profile}: tampered wrapped key fails exactly like tampered content (only the local step differs)`, async () => {
    const m = Buffer.from(send(profile));
    // The encryptedKey is the 256-byte OCTET STRING: find its header 04 82 01 00 and flip a byte inside.
    const at = m.indexOf(Buffer.from([0x04, 0x82, 0x01, 0x00]));
    assert.ok(at > 0);
    m[at + 4 + 100]! ^= 0x40;
    const r = await decodeSecureIm(m, bobOpts());
    assert.equal(r.verdict, 'failed');
    assert.equal(r.code, 'tampered');
    assert.equal(r.remote, 'undecryptable');
    assert.equal(r.step, 'key-unwrap');
    assert.equal(r.reason, 'the message could not be decrypted');
  });

  test(`${profile}: wrong recipient key`, async () => {
    const r = await decodeSecureIm(send(profile), bobOpts({ recipientKeys: [{ cert: mallory.certDer, key: mallory.key }] }));
    assert.equal(r.verdict, 'failed');
    assert.equal(r.code, 'wrong-recipient');
  });

  test(`${profile}: truncated input is malformed at every cut`, async () => {
    const m = send(profile);
    for (const cut of [0, 1, 2, 10, 50, 300, m.length - 200, m.length - 1]) {
      const r = await decodeSecureIm(m.subarray(0, cut), bobOpts());
      assert.equal(r.verdict, 'failed');
      assert.equal(r.code, 'malformed', `cut at ${cut}`);
    }
  });

  test(`${profile}: signer is not the sending screen name`, async () => {
    // mallory signs with her own key and certificate; the server says the message is from alice.
    const m = send(profile, { sender: { screenName: 'alice', signingKey: mallory.key, signingCert: mallory.certDer } });
    const withCerts = await decodeSecureIm(m, bobOpts());
    assert.equal(withCerts.code, 'signer-mismatch');
    const embeddedOnly = await decodeSecureIm(m, bobOpts({ senderCerts: [] }));
    assert.equal(embeddedOnly.code, 'signer-mismatch');
    assert.match(embeddedOnly.reason, /mallory/);
  });

  test(`${profile}: swapped signer (alice's certificate, mallory's key) is a bad signature`, async () => {
    const m = send(profile, { sender: { screenName: 'alice', signingKey: mallory.key, signingCert: alice.certDer } });
    const r = await decodeSecureIm(m, bobOpts());
    assert.equal(r.code, 'tampered');
    assert.equal(r.step, 'signature');
  });

  test(`${profile}: untrusted signer is verified-but-untrusted with the verifier's reason`, async () => {
    const rogue = f.ids['rogue-alice']!; // CN=alice from another CA
    const m = send(profile, {}, rogue);
    const r = await decodeSecureIm(m, bobOpts({ senderCerts: [rogue.certDer] }));
    assert.equal(r.verdict, 'untrusted');
    assert.equal(r.code, 'unknown-issuer');
    assert.equal(r.text, TEXT);
  });
}

test('numcerts 2: bob signs with his signing key, alice (numcerts 1) reads it; wrapping used the common cert', async () => {
  const m = encodeSecureIm({
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
  const m = send('modern', { includeSelf: true, sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer, encryptionCert: alice.certDer } });
  const asBob = await decodeSecureIm(m, bobOpts());
  assert.equal(asBob.verdict, 'verified');
  const asAlice = await decodeSecureIm(m, {
    recipientKeys: [{ cert: alice.certDer, key: alice.key }], senderScreenName: 'alice', senderCerts: [alice.certDer],
    recipientScreenName: 'Bob Smith', trust,
  });
  assert.equal(asAlice.verdict, 'verified', asAlice.reason);
  assert.throws(() => send('aim-legacy', { includeSelf: true }), RangeError);
});

test('replayed modern message id', async () => {
  const m = send('modern');
  const cache = new MemoryReplayCache();
  assert.equal((await decodeSecureIm(m, bobOpts({ replayCache: cache }))).verdict, 'verified');
  const again = await decodeSecureIm(m, bobOpts({ replayCache: cache }));
  assert.equal(again.verdict, 'failed');
  assert.equal(again.code, 'replayed');
  const old = send('modern', { now: new Date(Date.now() - 30 * 24 * 3600_000) });
  assert.equal((await decodeSecureIm(old, bobOpts())).code, 'replayed');
});

test('forwarded: a message alice signed for bob, re-enveloped by bob to mallory, is refused by mallory', async () => {
  const m = send('modern');
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
  const legacy = await decodeSecureIm(send('aim-legacy'), bobOpts({ requireModern: true }));
  assert.equal(legacy.code, 'unsupported-algorithm');
  assert.match(legacy.reason, /downgrade/);
});

test('a trust callback that throws yields untrusted, not a crash', async () => {
  const r = await decodeSecureIm(send('modern'), bobOpts({ trust: async () => { throw new Error('verifier offline'); } }));
  assert.equal(r.verdict, 'untrusted');
  assert.equal(r.code, 'trust-error');
});

test('inputs that are not CMS at all are malformed; oversize input is refused before parsing', async () => {
  for (const b of [new Uint8Array(0), Uint8Array.of(0x30), Buffer.from('hello'), Uint8Array.of(0x30, 0x80, 0x30, 0x80)]) {
    assert.equal((await decodeSecureIm(b, bobOpts())).code, 'malformed');
  }
  assert.equal((await decodeSecureIm(new Uint8Array(70_000), bobOpts())).code, 'malformed');
});
