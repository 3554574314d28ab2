import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../../wire/bytes.js';
import { RendezvousBook } from './rendezvous-book.js';

const CAP = new Uint8Array(16);
const cookie = (n: number): Uint8Array => new ByteWriter(8).u32(0).u32(n).finish();
const rv = (c: Uint8Array, type = 0, port = 4000): Uint8Array =>
  new ByteWriter().u16(type).bytes(c).bytes(CAP).u16(0x0005).u16(2).u16(port).u16(0x0010).u16(0).finish();

test('remembers a proposal for its TTL, by cookie and direction; a cancel from either side forgets it', () => {
  let now = 1_000;
  const book = new RendezvousBook({ now: () => now }, { ttlMs: 60_000 });
  book.observe('alice', 'bob', rv(cookie(1)));
  const [r] = book.find(cookie(1), 'alice', 'bob');
  assert.deepEqual([r?.port, r?.viaProxy], [4000, true]);
  assert.equal(book.find(cookie(1), 'bob', 'alice').length, 0, 'direction matters');
  assert.equal(book.involving(cookie(1), 'bob').length, 1);
  now += 59_999;
  assert.equal(book.find(cookie(1), 'alice', 'bob').length, 1);
  now += 1;
  assert.equal(book.find(cookie(1), 'alice', 'bob').length, 0);
  assert.equal(book.size, 0);
  book.observe('alice', 'bob', rv(cookie(2)));
  book.observe('bob', 'alice', rv(cookie(2), 1));
  assert.equal(book.find(cookie(2), 'alice', 'bob').length, 0);
  book.observe('alice', 'bob', rv(cookie(3), 2));
  assert.equal(book.size, 0, 'accepts are not proposals');
  book.observe('alice', 'bob', new Uint8Array([0, 0, 1]));
  assert.equal(book.size, 0, 'a malformed block is ignored');
});

test('bounded per sender (oldest forgotten first) and per node', () => {
  const book = new RendezvousBook({ now: () => 0 }, { maxPerUser: 3, maxTotal: 5 });
  for (let i = 0; i < 10; i++) book.observe('mallory', 'bob', rv(cookie(i)));
  assert.equal(book.size, 3);
  assert.equal(book.find(cookie(6), 'mallory', 'bob').length, 0);
  assert.equal(book.find(cookie(9), 'mallory', 'bob').length, 1);
  for (let i = 0; i < 3; i++) book.observe(`u${i}`, 'bob', rv(cookie(100 + i)));
  assert.equal(book.size, 5);
  assert.equal(book.find(cookie(7), 'mallory', 'bob').length, 0, 'the oldest overall went first');
  assert.equal(book.find(cookie(102), 'u2', 'bob').length, 1);
});

test('many expired records are swept and the queue stays bounded', () => {
  let now = 0;
  const book = new RendezvousBook({ now: () => now }, { ttlMs: 10, maxPerUser: 1_000_000, maxTotal: 1_000_000 });
  for (let i = 0; i < 50_000; i++) {
    book.observe(`u${i % 100}`, 'bob', rv(cookie(i)));
    now += 1;
  }
  assert.ok(book.size <= 10);
  const queue = (book as unknown as { queue: unknown[] }).queue;
  assert.ok(queue.length < 3000, `queue of ${queue.length}`);
});
