/**
 * Fuzz tests (framing half; structures are in fuzz.test.ts): every wire decoder gets at least 100,000 random and mutated inputs per run (seeded, so failures
 * reproduce) and must answer each with a value or a WireError whose offset lies inside the input — nothing
 * else thrown, no hang. Counts of each outcome are asserted so a decoder that rejects everything (or accepts
 * everything) is noticed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, WireError, fromHex, toHex } from './bytes.js';
import { FlapDeframer, decodeFlapHello, decodeFlapSignOff, encodeFlap, encodeFlapHello, encodeFlapSignOff, type FlapFrame } from './flap.js';
import { FUZZ_ITERATIONS, FUZZ_TEST_OPTIONS, Prng, expectMixed, fuzzDecoder, mutate, withoutStackTraces } from './fuzz-kit.test-support.js';
import { decodeSnac, decodeSnacError, encodeSnac, encodeSnacError } from './snac.js';
import { encodeTlvRestList, readTlvCountedBlock, readTlvLengthBlock, readTlvRestList, tlv, tlvU16, writeTlvCountedBlock, writeTlvLengthBlock } from './tlv.js';

const N = FUZZ_ITERATIONS;
const OPTS = FUZZ_TEST_OPTIONS;

const seedRng = new Prng(0xc0ffee);
const someTlvs = () => Array.from({ length: 1 + seedRng.int(5) }, () => tlv(seedRng.int(40), seedRng.bytes(seedRng.int(12))));

test('fuzz: FlapDeframer over mutated multi-frame streams in random chunkings', OPTS, () => withoutStackTraces(() => {
  const rng = new Prng(1);
  let ok = 0, rejected = 0;
  for (let i = 0; i < N; i++) {
    const frames: FlapFrame[] = Array.from({ length: 1 + rng.int(4) }, () => ({ channel: 1 + rng.int(5), sequence: rng.int(0x10000), payload: rng.bytes(rng.int(60)) }));
    let stream: Uint8Array = Buffer.concat(frames.map(encodeFlap));
    for (let k = rng.int(3); k > 0; k--) stream = mutate(rng, stream);
    const max = rng.chance(0.3) ? 6 + rng.int(80) : undefined;
    const d = new FlapDeframer({ maxFrameSize: max });
    const out: FlapFrame[] = [];
    try {
      for (let o = 0; o < stream.length;) {
        const n = 1 + rng.int(40);
        out.push(...d.push(stream.subarray(o, o + n)));
        o += n;
        if (d.buffered >= d.maxFrameSize) assert.fail('deframer buffered a whole frame');
      }
      ok++;
      // Whatever came out must be exactly the consumed prefix of the stream, re-encoded.
      const done = d.offset - d.buffered;
      if (Buffer.compare(Buffer.concat(out.map(encodeFlap)), stream.subarray(0, done)) !== 0) assert.fail(`frames differ from stream prefix: ${toHex(stream)}`);
    } catch (e) {
      if (!(e instanceof WireError)) throw new Error(`deframer threw ${String(e)} on ${toHex(stream)}`);
      assert.ok(e.offset >= 0 && e.offset <= stream.length, `offset ${e.offset} outside stream`);
      assert.ok(e.code === 'BAD_START_BYTE' || e.code === 'FRAME_TOO_LARGE', e.code);
      rejected++;
    }
  }
  assert.ok(ok > 0 && rejected > 0, `ok ${ok} rejected ${rejected}`);
}));

test('fuzz: FLAP hello and sign-off payloads', OPTS, () => {
  const seeds = [encodeFlapHello(), encodeFlapHello([tlv(6, seedRng.bytes(256))]), encodeFlapSignOff({ reason: 1, url: 'http://x' })];
  expectMixed('flap-ch1-ch4', fuzzDecoder('flap-ch1-ch4', (b) => {
    decodeFlapHello(b);
    const s = decodeFlapSignOff(b);
    return [s.reason, s.url];
  }, seeds, { iterations: N, seed: 2 }));
});

test('fuzz: SNAC header, version prefix and SNAC error', OPTS, () => {
  const seeds = [
    encodeSnac({ family: 4, subtype: 7, flags: 0, requestId: 1 }, seedRng.bytes(30)),
    encodeSnac({ family: 1, subtype: 3, flags: 0x8000, requestId: 0x80000001 }, seedRng.bytes(10), fromHex('000100020003')),
    encodeSnac({ family: 4, subtype: 1, flags: 0, requestId: 9 }, encodeSnacError(4, [tlvU16(8, 1)])),
  ];
  expectMixed('snac', fuzzDecoder('snac', (b) => {
    const s = decodeSnac(b);
    if (s.subtype === 1) {
      const e = decodeSnacError(s.body);
      return e.tlvs.u16(8);
    }
    return s;
  }, seeds, { iterations: N, seed: 3 }));
});

test('fuzz: TLV rest-list, counted block (exact and to-end) and length block', OPTS, () => {
  const seeds = [
    encodeTlvRestList(someTlvs()),
    writeTlvCountedBlock(new ByteWriter(), someTlvs()).bytes(seedRng.bytes(6)).finish(),
    writeTlvLengthBlock(new ByteWriter(), someTlvs()).bytes(seedRng.bytes(6)).finish(),
  ];
  expectMixed('tlv', fuzzDecoder('tlv', (b) => {
    let first: unknown;
    try { first = readTlvRestList(new ByteReader(b)).u16(1); } catch (e) { if (!WireError.is(e)) throw e; }
    try { readTlvCountedBlock(new ByteReader(b), 'to-end'); } catch (e) { if (!WireError.is(e)) throw e; }
    try { readTlvLengthBlock(new ByteReader(b)); } catch (e) { if (!WireError.is(e)) throw e; }
    const l = readTlvCountedBlock(new ByteReader(b), 'exact');
    return [first, l.u32(2), l.string(3), l.getAll(4).length];
  }, seeds, { iterations: N, seed: 4 }));
});
