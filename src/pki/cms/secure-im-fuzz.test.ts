/**
 * Fuzzes the decoder with >= 10,000 mutated messages per run (three base messages: certim legacy, certim modern, and
 * an openssl BER-streamed legacy one). Every outcome must be a typed verdict — never a throw, never an internal
 * error — and anything still verified must carry the original text and signer (no forgery by mutation).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { decodeSecureIm as decodeWith } from './secure-im-decode.js';
import { buildSignedData, encodeSecureIm as encodeWith, envelopeLegacy, innerHeaders, OUTER_HEADERS } from './secure-im-encode.js';
import { nodeCmsCrypto } from './node-crypto.js';
import { encode } from './der-builder.js';
import { prepareCertificate } from './cms-certificate.js';
import { fixtures, opensslMessage, type FixtureIdentity } from './fixtures.test-support.js';
import type { DecodeSecureImOptions } from './secure-im-types.js';

// The codec with the Node provider (aim-legacy included); crypto.ts's default is WebCrypto (modern only).
const encodeSecureIm = (o: Parameters<typeof encodeWith>[0]): Promise<Uint8Array> => encodeWith({ crypto: nodeCmsCrypto, ...o });
const decodeSecureIm = (b: Uint8Array, o: Parameters<typeof decodeWith>[1]): ReturnType<typeof decodeWith> => decodeWith(b, { crypto: nodeCmsCrypto, ...o });

const ITERATIONS = 10_000;
const CODES = new Set(['malformed', 'unsupported-algorithm', 'wrong-recipient', 'tampered', 'signer-mismatch', 'replayed', 'forwarded']);

/** xorshift32: reproducible mutations from a printed seed. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s % n;
  };
}

function mutate(base: Uint8Array, r: (n: number) => number, other: Uint8Array): Uint8Array {
  const b = Buffer.from(base);
  // Bias half the mutations to the first 400 bytes, where the structure (tags, lengths, OIDs, rid) lives.
  const pos = (): number => (r(2) === 0 ? r(Math.min(400, b.length)) : r(b.length));
  switch (r(9)) {
    case 0: { const p = pos(); b[p]! ^= 1 << r(8); return b; }
    case 1: { const p = pos(); b[p] = r(256); return b; }
    case 2: return b.subarray(0, r(b.length));
    case 3: { const p = pos(); return Buffer.concat([b.subarray(0, p), Buffer.from([r(256), r(256), r(256)].slice(0, 1 + r(3))), b.subarray(p)]); }
    case 4: { const p = pos(); return Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + r(16))]); }
    case 5: { const p = pos(); const q = pos(); const [s, e] = p < q ? [p, q] : [q, p]; return Buffer.concat([b.subarray(0, e), b.subarray(s, e), b.subarray(e)]); }
    case 6: { // length tweaks: set a byte after a plausible tag to 0x80 / 0x84 / 0xff
      const p = pos(); b[p] = [0x80, 0x81, 0x84, 0xff, 0x00][r(5)]!; return b;
    }
    case 7: { const p = pos(); return Buffer.concat([b.subarray(0, p), other.subarray(p)]); }
    default: { for (let i = 0; i < 4; i++) b[pos()]! ^= 1 << r(8); return b; }
  }
}

/** Bob decoding from alice, trusting every certificate (the fuzz checks structure, not trust). */
function decodeOptions(alice: FixtureIdentity, bob: FixtureIdentity): DecodeSecureImOptions {
  return {
    recipientKeys: [{ cert: bob.certDer, key: bob.key }], senderScreenName: 'alice', senderCerts: [alice.certDer],
    recipientScreenName: 'Bob Smith', trust: async () => ({ ok: true }),
  };
}

/**
 * Decodes one mutated message and asserts the outcome is typed: a known failure code that reveals nothing remotely,
 * or, if still verified, the original text and signer (no forgery by mutation). Counts outcomes by code.
 */
async function decodeTyped(m: Uint8Array, opts: DecodeSecureImOptions, text: string, counts: Map<string, number>, where: string): Promise<void> {
  const res = await decodeSecureIm(m, opts);
  counts.set(res.code, (counts.get(res.code) ?? 0) + 1);
  const ok = !/internal error/.test(res.reason) && (res.verdict === 'failed'
    ? CODES.has(res.code) && res.remote === 'undecryptable' && res.text === undefined
    : res.text === text && res.signer?.screenName === 'alice');
  if (!ok) assert.fail(`${where}: ${res.verdict} ${res.code} ${res.reason}\nmessage (base64): ${Buffer.from(m).toString('base64')}`);
}

test(`decoder fuzz: ${ITERATIONS} mutated messages give only typed results`, async () => {
  const f = fixtures();
  const alice = f.ids.alice!;
  const bob = f.ids['bob-enc']!;
  const text = '<HTML><BODY>fuzz me</BODY></HTML>';
  const enc = (profile: 'aim-legacy' | 'modern'): Promise<Uint8Array> => encodeSecureIm({
    profile, text, sender: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
    recipient: { screenName: 'Bob Smith', cert: bob.certDer },
  });
  const bases = [
    await enc('aim-legacy'),
    await enc('modern'),
    opensslMessage({ signer: alice, recipient: bob, inner: Buffer.concat([innerHeaders('us-ascii'), Buffer.from(text)]), md: 'md5',
      outerHeaders: OUTER_HEADERS, encryptArgs: ['-aes128', '-keyid', '-stream'] }),
  ];
  const opts = decodeOptions(alice, bob);
  const seed = Number(process.env.CMS_FUZZ_SEED ?? randomInt(1, 2 ** 31));
  const r = rng(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < ITERATIONS; i++) {
    const which = i % bases.length;
    const m = mutate(bases[which]!, r, bases[(which + 1) % bases.length]!);
    await decodeTyped(m, opts, text, counts, `seed ${seed} iteration ${i}`);
  }
  // The mix must exercise the deep paths, not only the parser.
  assert.ok((counts.get('tampered') ?? 0) > 500, JSON.stringify([...counts]));
  assert.ok((counts.get('malformed') ?? 0) > 500, JSON.stringify([...counts]));
});

test('decoder fuzz: 3,000 validly encrypted envelopes around mutated SignedData give only typed results', async () => {
  // Anyone can encrypt to a public key, so the inner parser faces hostile structure directly: mutate the plaintext
  // (outer headers + SignedData), then envelope it properly.
  const f = fixtures();
  const alice = f.ids.alice!;
  const bob = f.ids['bob-enc']!;
  const text = '<HTML><BODY>inner fuzz</BODY></HTML>';
  const bobCert = prepareCertificate(bob.certDer);
  const plain = encode(OUTER_HEADERS, await buildSignedData({
    content: Buffer.concat([innerHeaders('us-ascii'), Buffer.from(text)]), digest: 'sha256',
    signer: prepareCertificate(alice.certDer), signingKey: alice.key, signingTime: new Date(), crypto: nodeCmsCrypto,
  }));
  const opts = decodeOptions(alice, bob);
  const seed = Number(process.env.CMS_FUZZ_SEED ?? randomInt(1, 2 ** 31));
  const r = rng(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const m = await envelopeLegacy([mutate(plain, r, plain)], bobCert, undefined, nodeCmsCrypto);
    await decodeTyped(m, opts, text, counts, `seed ${seed} iteration ${i}`);
  }
  assert.ok((counts.get('tampered') ?? 0) > 1000, JSON.stringify([...counts]));
});
