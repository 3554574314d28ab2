import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bosService } from '../services/bos.js';
import { ByteReader } from '../../wire/bytes.js';
import { fakeEngine, readySession } from '../testing/fakes.js';
import { oserviceFamily } from './oservice.js';
import type { Reply } from './family.js';

async function call(subtype: number, body: Uint8Array, version?: number): Promise<Reply[]> {
  const { engine } = fakeEngine(['bob']);
  const { session } = readySession(engine, 'bob');
  const ctx = { engine, session, service: bosService };
  if (version !== undefined) await oserviceFamily.handlers[0x17]!(ctx, Uint8Array.from([0, 1, 0, version]));
  return ((await oserviceFamily.handlers[subtype]!(ctx, body)) ?? []) as Reply[];
}

const rateCases: Array<{ name: string; version?: number; recordSize: number }> = [
  { name: 'no 01/17 -> v1 records', recordSize: 30 },
  { name: 'OService 1 -> v1 records', version: 1, recordSize: 30 },
  { name: 'OService 4 -> v2 records', version: 4, recordSize: 35 },
];

for (const c of rateCases) {
  test(`01/06 -> 01/07: ${c.name}; every handled SNAC is in a class`, async () => {
    const [r] = await call(0x06, new Uint8Array(0), c.version);
    const rd = new ByteReader(r!.body);
    const n = rd.u16();
    assert.equal(n, 5);
    rd.skip(n * c.recordSize);
    const pairs = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const id = rd.u16();
      const count = rd.u16();
      for (let j = 0; j < count; j++) pairs.set((rd.u16() << 16) | rd.u16(), id);
    }
    rd.expectEnd();
    assert.equal(pairs.get((0x0004 << 16) | 0x0006), 3);
    assert.equal(pairs.get((0x0013 << 16) | 0x0008), 2);
    assert.equal(pairs.get((0x0001 << 16) | 0x0002), 1);
  });
}

test('01/22 cert BART IDs are echoed in 01/23 with code 0', async () => {
  const id = Uint8Array.from([0x04, 0x02, 0x01, 0x02, 0xaa, 0xbb]);
  const [r] = await call(0x22, id);
  assert.equal(r!.subtype, 0x23);
  assert.deepEqual([...r!.body], [...id, 0, ...id]);
});

test('01/17 answers with the families served', async () => {
  const [r] = await call(0x17, Uint8Array.from([0, 1, 0, 4, 0, 0x13, 0, 4]));
  const rd = new ByteReader(r!.body);
  const fams: number[] = [];
  while (!rd.done) {
    fams.push(rd.u16());
    rd.u16();
  }
  assert.deepEqual(fams, [1, 2, 3, 4, 9, 0x13]);
});

test('01/02 with a body we cannot parse still completes sign-on (COMPAT)', async () => {
  const { engine } = fakeEngine(['bob']);
  const { session } = readySession(engine, 'bob');
  session.ready = false;
  await oserviceFamily.handlers[0x02]!({ engine, session, service: bosService }, Uint8Array.from([0, 1, 0]));
  assert.equal(session.ready, true);
});
