/**
 * Over real sockets and the real store: a client cannot forge server-owned 04/07 fields (docs/protocol.md §3.4).
 * A hostile sender adds TLV 0x0016 ("stored offline at 1 Jan 2001") and 0x000B to its 04/06; the recipient's 04/07
 * carries neither when delivered live, and exactly the server's own 0x0016 when delivered from offline storage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tlv } from '../src/wire/tlv.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { imBody, parseIncomingIm, signOn } from './support/oscar-test-client.js';

const Y2001 = Uint8Array.of(0x3a, 0x4f, 0xbd, 0x80); // 2001-01-01T00:00:00Z as u32

test('forged 0x0016/0x000B never reach the recipient, live or from offline storage', async () => {
  await withOscarFixture({ users: [['mallory', 'm-pw'], ['bob', 'bob-pw']] }, async (fx, ep) => {
    const mallory = await signOn(ep, 'mallory', 'm-pw', 'md5-strong');
    const bob = await signOn(ep, 'bob', 'bob-pw', 'md5-strong');

    mallory.conn.sendSnac(0x0004, 0x0006, imBody('bob', 'live', [tlv(0x0016, Y2001), tlv(0x000b), tlv(0x0003)]));
    await mallory.conn.expectSnac(0x0004, 0x000c);
    const live = parseIncomingIm((await bob.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(Buffer.from(live.text!).toString(), 'live');
    assert.deepEqual(live.tlvs.items.map((t) => t.type), [0x0002]);

    bob.conn.close();
    await new Promise((r) => setTimeout(r, 50));
    const before = Math.floor(Date.now() / 1000);
    mallory.conn.sendSnac(0x0004, 0x0006, imBody('bob', 'stored', [tlv(0x0016, Y2001), tlv(0x000b), tlv(0x0003), tlv(0x0006)]));
    await mallory.conn.expectSnac(0x0004, 0x000c);
    assert.equal(await fx.store.offline.count('bob'), 1);

    const bob2 = await signOn(ep, 'bob', 'bob-pw', 'md5-strong');
    const stored = parseIncomingIm((await bob2.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(Buffer.from(stored.text!).toString(), 'stored');
    assert.deepEqual(stored.tlvs.items.map((t) => t.type), [0x0002, 0x0016], 'one 0x0016, appended by the server');
    const at = stored.tlvs.u32(0x0016)!;
    assert.ok(at >= before - 1 && at <= Math.floor(Date.now() / 1000) + 1, `server time, not 2001 (${at})`);
    mallory.conn.close();
    bob2.conn.close();
  });
});
