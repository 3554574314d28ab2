/**
 * The modern profile on a provider that is WebCrypto and nothing else (`globalThis.crypto`, as a browser has it;
 * keys imported as non-extractable CryptoKeys from PKCS#8) against the Node provider (node-crypto.ts), both ways;
 * and what a WebCrypto-only client does with aim-legacy: refuses to send it and reports received ones as
 * `unsupported-algorithm` with the classic-client reason, never anything weaker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLASSIC_NEEDS_DESKTOP, importSecureImKey, webCmsCrypto, type CmsCrypto, type SecureImKey } from './crypto.js';
import { nodeCmsCrypto } from './node-crypto.js';
import { decodeSecureIm } from './secure-im-decode.js';
import { encodeSecureIm } from './secure-im-encode.js';
import { minimalTrust } from './minimal-trust.js';
import { MemoryReplayCache } from './replay-cache.js';
import { fixtures } from './fixtures.test-support.js';

const f = fixtures();
const alice = f.ids.alice!;
const bobEnc = f.ids['bob-enc']!;
const trust = minimalTrust([f.caCert]);
const TEXT = '<HTML><BODY>web ↔ node — ☕</BODY></HTML>';

// Pure WebCrypto: the platform object, with no node:crypto anywhere behind it.
const web: CmsCrypto = webCmsCrypto(globalThis.crypto);
const pkcs8 = (k: typeof alice.key): Uint8Array => new Uint8Array(k.export({ format: 'der', type: 'pkcs8' }));

const keys = async (side: 'web' | 'node'): Promise<{ crypto: CmsCrypto; alice: SecureImKey | object; bob: SecureImKey | object }> =>
  side === 'web'
    ? { crypto: web, alice: await importSecureImKey(web, pkcs8(alice.key)), bob: await importSecureImKey(web, pkcs8(bobEnc.key)) }
    : { crypto: nodeCmsCrypto, alice: alice.key, bob: bobEnc.key };

for (const [from, to] of [['web', 'node'], ['node', 'web'], ['web', 'web']] as const) {
  test(`modern profile: ${from} provider encodes, ${to} provider decodes (verified, replay-checked, bound)`, async () => {
    const s = await keys(from);
    const r = await keys(to);
    assert.equal(s.crypto.legacy, from === 'web' ? undefined : s.crypto.legacy, 'the WebCrypto provider has no legacy part');
    const m = await encodeSecureIm({
      crypto: s.crypto, profile: 'modern', text: TEXT,
      sender: { screenName: 'alice', signingKey: s.alice, signingCert: alice.certDer },
      recipient: { screenName: 'Bob Smith', cert: bobEnc.certDer },
    });
    const opts = {
      crypto: r.crypto, recipientKeys: [{ cert: bobEnc.certDer, key: r.bob }], senderScreenName: 'alice',
      senderCerts: [alice.certDer], recipientScreenName: 'bobsmith', trust, replayCache: new MemoryReplayCache(),
    };
    const res = await decodeSecureIm(m, opts);
    assert.equal(res.verdict, 'verified', res.reason);
    assert.equal(res.text, TEXT);
    assert.equal(res.profile, 'modern');
    assert.equal(res.bound, true);
    assert.equal(res.replayChecked, true);
    assert.equal((await decodeSecureIm(m, opts)).code, 'replayed', 'the same message twice is a replay');
    // One flipped ciphertext byte: the uniform decryption failure, on either provider.
    const bad = Uint8Array.from(m);
    bad[bad.length - 40]! ^= 1;
    const t = await decodeSecureIm(bad, { ...opts, replayCache: new MemoryReplayCache() });
    assert.deepEqual([t.verdict, t.code, t.step, t.remote], ['failed', 'tampered', 'decrypt', 'undecryptable']);
  });
}

test('the two providers fail a wrapped key that is not for us identically (implicit rejection, no oracle)', async () => {
  const m = await encodeSecureIm({
    crypto: nodeCmsCrypto, profile: 'modern', text: 'x',
    sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
    recipient: { screenName: 'Bob Smith', cert: bobEnc.certDer },
  });
  // Corrupt the RSA-OAEP encrypted key: the unwrap fails and a synthetic key goes on to fail GCM.
  const i = Buffer.from(m).indexOf(Buffer.from([0x04, 0x82, 0x01, 0x00])) + 4;
  assert.ok(i > 4);
  const bad = Uint8Array.from(m);
  bad[i + 10]! ^= 0xff;
  const results = [];
  for (const side of ['web', 'node'] as const) {
    const r = await keys(side);
    results.push(await decodeSecureIm(bad, {
      crypto: r.crypto, recipientKeys: [{ cert: bobEnc.certDer, key: r.bob }], senderScreenName: 'alice', recipientScreenName: 'bobsmith', trust,
    }));
  }
  assert.deepEqual(results[0], results[1]);
  assert.equal(results[0]!.step, 'decrypt');
});

test('WebCrypto-only: aim-legacy is refused to send and reported on receipt as a classic client, never weaker', async () => {
  const w = await keys('web');
  await assert.rejects(encodeSecureIm({
    crypto: web, profile: 'aim-legacy', text: 'x',
    sender: { screenName: 'alice', signingKey: w.alice, signingCert: alice.certDer },
    recipient: { screenName: 'Bob Smith', cert: bobEnc.certDer },
  }), (e: Error) => e instanceof RangeError && e.message.includes(CLASSIC_NEEDS_DESKTOP));
  const legacy = await encodeSecureIm({
    crypto: nodeCmsCrypto, profile: 'aim-legacy', text: 'x',
    sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
    recipient: { screenName: 'Bob Smith', cert: bobEnc.certDer },
  });
  const r = await decodeSecureIm(legacy, {
    crypto: web, recipientKeys: [{ cert: bobEnc.certDer, key: w.bob }], senderScreenName: 'alice', recipientScreenName: 'bobsmith', trust,
  });
  assert.deepEqual([r.verdict, r.code, r.reason, r.profile], ['failed', 'unsupported-algorithm', CLASSIC_NEEDS_DESKTOP, 'aim-legacy']);
  assert.equal(r.text, undefined);
});
