import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirectoryError, type Envelope, type SessionEntry } from './directory.js';
import {
  DeliveryBatchWriter, decodeDeliveryBatch, decodeDeliveryCounts, decodeDeliveryRequest, decodeUserRecord, encodeDeliveryCounts,
  encodeUserRecord, type DeliveryRequest,
} from './nats-codec.js';

/** One request's bytes, as the batch writer encodes it. */
function encodeDeliveryRequest(r: DeliveryRequest): Uint8Array {
  const w = new DeliveryBatchWriter();
  w.add(r);
  return decodeDeliveryBatch(w.finish())[0]!;
}

/** The batch layout, written out independently: u16 count, then per request u32 length + request. */
function encodeDeliveryBatch(requests: readonly Uint8Array[]): Uint8Array {
  const out = Buffer.alloc(2 + requests.reduce((n, r) => n + 4 + r.length, 0));
  out.writeUInt16BE(requests.length, 0);
  let o = 2;
  for (const r of requests) {
    out.writeUInt32BE(r.length, o);
    out.set(r, o + 4);
    o += 4 + r.length;
  }
  return new Uint8Array(out);
}

const envelopes: Envelope[] = [
  { delivery: { kind: 'snac', family: 4, subtype: 7, body: new Uint8Array([1, 2, 255]) } },
  {
    delivery: { kind: 'snac', family: 0x0e, subtype: 6, body: new Uint8Array(0), flags: 0x8000, requestId: 0x80000001 },
    from: 'alice', except: { node: 'n1', sessionId: 'a' }, capability: '0123456789abcdef0123456789abcdef', service: 'chat', includeNotReady: false,
  },
  { delivery: { kind: 'sign-off', reason: 1 }, includeNotReady: true, from: 'Ünïcode' },
];

test('delivery requests round-trip exactly (absent fields stay absent)', () => {
  for (const envelope of envelopes) {
    const back = decodeDeliveryRequest(encodeDeliveryRequest({ sessionIds: ['s1', 'x'], envelope }));
    assert.deepStrictEqual(back, { sessionIds: ['s1', 'x'], envelope });
    if (back.envelope.delivery.kind === 'snac') assert.equal(Object.getPrototypeOf(back.envelope.delivery.body), Uint8Array.prototype);
  }
  const batch = envelopes.map((envelope, i) => encodeDeliveryRequest({ sessionIds: [`s${i}`], envelope }));
  assert.deepStrictEqual(decodeDeliveryBatch(encodeDeliveryBatch(batch)).map((b) => decodeDeliveryRequest(b).envelope), envelopes);
  assert.deepEqual(decodeDeliveryCounts(encodeDeliveryCounts([7, 0, 2]), 3), [7, 0, 2]);
});

test('a batch written request by request is byte for byte the batch of the encoded requests; a request that cannot be encoded leaves it as it was', () => {
  const batch = new DeliveryBatchWriter();
  envelopes.forEach((envelope, i) => batch.add({ sessionIds: [`s${i}`, 'other'], envelope }));
  assert.throws(() => batch.add({ sessionIds: ['s9'], envelope: { delivery: { kind: 'snac', family: 0x10000, subtype: 1, body: new Uint8Array(3) } } }), RangeError);
  assert.throws(() => batch.add({ sessionIds: ['x'.repeat(0x10000)], envelope: envelopes[0]! }), RangeError);
  const expected = encodeDeliveryBatch(envelopes.map((envelope, i) => encodeDeliveryRequest({ sessionIds: [`s${i}`, 'other'], envelope })));
  const written = batch.finish();
  assert.equal(decodeDeliveryBatch(written).length, envelopes.length);
  assert.deepEqual([...written], [...expected]);
  assert.equal(batch.length, expected.length);
  const empty = new DeliveryBatchWriter();
  assert.deepEqual(decodeDeliveryBatch(empty.finish()), []);
});

test('malformed delivery requests and records are DIRECTORY_UNAVAILABLE, never another error', () => {
  const good = encodeDeliveryRequest({ sessionIds: ['s1'], envelope: envelopes[1]! });
  const bad = [new Uint8Array(0), Uint8Array.of(2, 0, 0, 0), good.subarray(0, 10), Uint8Array.of(1, 0, 0, 0, 9)];
  for (const b of bad) assert.throws(() => decodeDeliveryRequest(b), (e: unknown) => DirectoryError.is(e, 'DIRECTORY_UNAVAILABLE'));
  for (const b of ['', '{', '{"v":2}', '{"v":1,"sessions":[{}],"changes":[]}']) {
    assert.throws(() => decodeUserRecord(new TextEncoder().encode(b)), (e: unknown) => DirectoryError.is(e, 'DIRECTORY_UNAVAILABLE'));
  }
  assert.throws(() => decodeDeliveryCounts(new Uint8Array(3), 1), (e: unknown) => DirectoryError.is(e, 'DIRECTORY_UNAVAILABLE'));
  const b = encodeDeliveryBatch([good, good]);
  for (const cut of [b.subarray(0, 1), b.subarray(0, b.length - 1), Uint8Array.of(...b, 0)]) {
    assert.throws(() => decodeDeliveryBatch(cut), (e: unknown) => DirectoryError.is(e, 'DIRECTORY_UNAVAILABLE'));
  }
});

test('user records round-trip, presence bytes included', () => {
  const entry: SessionEntry = {
    address: { node: 'n1', sessionId: 'a' }, user: 'bob', service: 'bos', exclusive: true,
    presence: { screenName: 'Bob', info: new Uint8Array([0, 0x80, 0xff]), at: 1, signedOnAt: 2, idle: false, away: true, privacy: { mode: 3, permit: ['al'], deny: [], buddies: [], changedAt: 1_700_000_000_123 } },
  };
  const plain: SessionEntry = { address: { node: 'n2', sessionId: 'b' }, user: 'bob', service: 'chat', exclusive: false };
  const rec = { sessions: [entry, plain], changes: [{ entry: plain, removed: true, event: true, reason: 1 }, { entry, removed: false, event: true }] };
  assert.deepStrictEqual(decodeUserRecord(encodeUserRecord(rec)), rec);
});
