import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bosService } from '../services/bos.js';
import { ByteReader, ByteWriter } from '../../wire/bytes.js';
import { fakeEngine, readySession } from '../testing/fakes.js';
import { feedbagFamily } from './feedbag.js';
import type { Reply } from './family.js';

function item(name: string, gid: number, iid: number, cls: number): Uint8Array {
  return new ByteWriter().string16(name).u16(gid).u16(iid).u16(cls).u16(0).finish();
}

test('13/04 splits a large feedbag across 13/06 SNACs with flag 0x0001 and last-modified only on the last', async () => {
  const { engine, state } = fakeEngine(['bob']);
  const { session } = readySession(engine, 'bob');
  state.feedbags.set('bob', Array.from({ length: 450 }, (_, i) => ({ name: `buddy${i}`, groupId: 1, itemId: i + 1, classId: 0, attributes: new Uint8Array(0) })));
  const replies = (await feedbagFamily.handlers[0x04]!({ engine, session, service: bosService }, new Uint8Array(0))) as Reply[];
  assert.deepEqual(replies.map((r) => r.flags ?? 0), [1, 1, 0]);
  let total = 0;
  for (const r of replies) {
    const rd = new ByteReader(r.body);
    rd.u8();
    total += rd.u16();
  }
  assert.equal(total, 450);
});

test('13/08 then 13/07: the session watches its feedbag buddies and gets their arrivals', async () => {
  const { engine } = fakeEngine(['bob', 'alice']);
  const bob = readySession(engine, 'bob');
  readySession(engine, 'alice');
  const ctx = { engine, session: bob.session, service: bosService };
  const [status] = (await feedbagFamily.handlers[0x08]!(ctx, Uint8Array.from([...item('Friends', 1, 0, 1), ...item('Alice', 1, 1, 0)]))) as Reply[];
  assert.deepEqual([...status!.body], [0, 0, 0, 0]);
  assert.equal(bob.link.of(3, 0x0b).length, 0, 'no presence before 13/07');
  await feedbagFamily.handlers[0x07]!(ctx, new Uint8Array(0));
  assert.equal(bob.link.of(3, 0x0b).length, 1);
  assert.equal(engine.registry.watchersOf('alice').has(bob.session), true);
});
