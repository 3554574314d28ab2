/**
 * Interop with `openssl cms` (OpenSSL 3.0), the independent reference, in both directions, plus the golden legacy
 * vector shaped as docs/protocol.md §6.3 describes AIM 5.2's output (BER indefinite lengths, EnvelopedData version 2,
 * recipient by [0] SubjectKeyIdentifier, segmented encryptedContent, MD5 SignedData without certificates).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSecureIm as decodeWith } from './secure-im-decode.js';
import { encodeSecureIm as encodeWith, innerHeaders, OUTER_HEADERS } from './secure-im-encode.js';
import { nodeCmsCrypto } from './node-crypto.js';
import { minimalTrust } from './minimal-trust.js';
import { MemoryReplayCache } from './replay-cache.js';
import { fixtures, opensslDecrypt, opensslMessage, opensslVerify } from './fixtures.test-support.js';
import type { DecodeSecureImOptions } from './secure-im-types.js';

// The codec with the Node provider (aim-legacy included); crypto.ts's default is WebCrypto (modern only).
const encodeSecureIm = (o: Parameters<typeof encodeWith>[0]): Promise<Uint8Array> => encodeWith({ crypto: nodeCmsCrypto, ...o });
const decodeSecureIm = (b: Uint8Array, o: Parameters<typeof decodeWith>[1]): ReturnType<typeof decodeWith> => decodeWith(b, { crypto: nodeCmsCrypto, ...o });

const f = fixtures();
const alice = f.ids.alice!;
const bob = f.ids['bob-enc']!;
const trust = minimalTrust([f.caCert]);
const OAEP = ['-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256'];

const opts = (over: Partial<DecodeSecureImOptions> = {}): DecodeSecureImOptions => ({
  recipientKeys: [{ cert: bob.certDer, key: bob.key }], senderScreenName: 'alice', senderCerts: [alice.certDer],
  recipientScreenName: 'Bob Smith', trust, replayCache: new MemoryReplayCache(), ...over,
});

for (const profile of ['aim-legacy', 'modern'] as const) {
  test(`certim ${profile} -> openssl cms -decrypt, then -verify against the CA`, async () => {
    const text = `<HTML><BODY>${profile} to openssl</BODY></HTML>`;
    const m = await encodeSecureIm({
      profile, text, sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
      recipient: { screenName: 'Bob Smith', cert: bob.certDer },
    });
    const plain = opensslDecrypt(m, bob);
    assert.ok(plain.subarray(0, OUTER_HEADERS.length).equals(OUTER_HEADERS), 'outer header block');
    const content = opensslVerify(plain.subarray(OUTER_HEADERS.length));
    assert.deepEqual(content, Buffer.concat([innerHeaders('us-ascii'), Buffer.from(text)]));
    // and a wrong CA makes openssl refuse it: the check above is not vacuous
    writeFileSync(join(f.dir, `vac-${profile}.der`), plain.subarray(OUTER_HEADERS.length));
    assert.throws(() => f.openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', `vac-${profile}.der`, '-CAfile', join(f.dir, 'rogueca.pem')]));
  });
}

const inner = (text: string, cs = 'us-ascii'): Buffer => Buffer.concat([innerHeaders(cs), Buffer.from(text, 'latin1')]);

const cases: { name: string; profile: 'aim-legacy' | 'modern'; md: string; sign?: string[]; enc: string[]; recip?: string[]; over?: Partial<DecodeSecureImOptions> }[] = [
  { name: 'joscar shape: MD5, IssuerAndSerial, AES-128-CBC', profile: 'aim-legacy', md: 'md5', enc: ['-aes128'] },
  { name: 'SKI recipient (EnvelopedData v2)', profile: 'aim-legacy', md: 'md5', enc: ['-aes128', '-keyid'] },
  { name: 'no signed attributes', profile: 'aim-legacy', md: 'md5', sign: ['-noattr'], enc: ['-aes128'] },
  { name: 'no embedded cert, SHA-256, AES-256-CBC', profile: 'aim-legacy', md: 'sha256', sign: ['-nocerts'], enc: ['-aes256'] },
  { name: 'embedded cert only (no sender cert info)', profile: 'aim-legacy', md: 'md5', enc: ['-aes128'], over: { senderCerts: [] } },
  { name: 'AES-256-GCM AuthEnvelopedData, RSA-OAEP-SHA256', profile: 'modern', md: 'sha256', enc: ['-aes-256-gcm'], recip: OAEP },
  { name: 'AuthEnvelopedData, SKI, BER streaming', profile: 'modern', md: 'sha256', enc: ['-aes-256-gcm', '-keyid', '-stream'], recip: OAEP },
];
for (const c of cases) {
  test(`openssl cms -sign | -encrypt -> certim: ${c.name}`, async () => {
    const m = opensslMessage({
      signer: alice, recipient: bob, inner: inner(`hello from openssl: ${c.name}`), md: c.md, signArgs: c.sign,
      encryptArgs: c.enc, recipArgs: c.recip, outerHeaders: OUTER_HEADERS,
    });
    const r = await decodeSecureIm(m, opts(c.over));
    assert.equal(r.verdict, 'verified', `${r.code}: ${r.reason}`);
    assert.equal(r.profile, c.profile);
    assert.equal(r.text, `hello from openssl: ${c.name}`);
    assert.equal(r.weak, c.profile === 'aim-legacy' ? c.md === 'md5' : undefined);
    assert.equal(r.bound, false, 'openssl cannot add certim screen-name attributes');
  });
}

test('golden vector: AIM 5.2 legacy shape (BER indefinite, EnvelopedData v2, [0] SKI, segmented content, joscar header order)', async () => {
  // Signed content with joscar's header order (Content-Transfer-Encoding first) and ISO-8859-1 text.
  const joscarInner = Buffer.concat([
    Buffer.from('Content-Transfer-Encoding: binary\r\nContent-Type: text/x-aolrtf; charset=iso-8859-1\r\nContent-Language: en\r\n\r\n'),
    Buffer.from('<HTML><BODY BGCOLOR="#ffffff">caf\u00e9</BODY></HTML>', 'latin1'),
  ]);
  const m = opensslMessage({
    signer: alice, recipient: bob, inner: joscarInner, md: 'md5', signArgs: ['-nocerts'],
    encryptArgs: ['-aes128', '-keyid', '-stream'], outerHeaders: OUTER_HEADERS,
  });
  // Prove the vector really has the shape docs/protocol.md §6.3 describes before decoding it.
  writeFileSync(join(f.dir, 'golden.der'), m);
  const dump = f.openssl(['asn1parse', '-inform', 'DER', '-in', 'golden.der']).toString();
  const lines = dump.split('\n');
  assert.match(lines[0]!, /d=0 +hl=2 l=inf +cons: SEQUENCE/);
  assert.match(dump, /:pkcs7-envelopedData/);
  assert.match(lines[4]!, /d=3 .*INTEGER +:02/, 'EnvelopedData version 2');
  assert.match(dump, /d=5 +hl=2 l= *20 prim: +cont \[ 0 \]/, 'recipient identified by a 20-byte [0] subjectKeyIdentifier');
  assert.match(dump, /:aes-128-cbc/);
  assert.match(dump, /:rsaEncryption/);
  assert.match(dump, /d=4 +hl=2 l=inf +cons: +cont \[ 0 \]/, 'encryptedContent is a constructed indefinite-length [0]');
  const r = await decodeSecureIm(m, opts());
  assert.equal(r.verdict, 'verified', `${r.code}: ${r.reason}`);
  assert.equal(r.profile, 'aim-legacy');
  assert.equal(r.text, '<HTML><BODY BGCOLOR="#ffffff">café</BODY></HTML>');
  assert.equal(r.charset, 'iso-8859-1');
  assert.equal(r.weak, true);
});
