/**
 * End to end: feedbag (SSI) buddy lists and privacy, PermitDeny for non-feedbag clients, and the channel-2
 * rendezvous address rewrite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter } from '../src/wire/bytes.js';
import { writeFeedbagItem } from '../src/wire/families/feedbag.js';
import { decodeU16List } from '../src/wire/families/oservice.js';
import { decodeSnacError } from '../src/wire/snac.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { imBody, parseIncomingIm, signOn, userInfoScreenName } from './support/oscar-test-client.js';

function item(name: string, groupId: number, itemId: number, classId: number, attributes: Uint8Array = new Uint8Array(0)): Uint8Array {
  return writeFeedbagItem(new ByteWriter(), { name, groupId, itemId, classId, attributes }).finish();
}

test('feedbag: items stored, presence from the feedbag, deny list and PD mode honoured for presence and IMs', async () => {
  await withOscarFixture({ users: [['gina', 'pw'], ['hank', 'pw']] }, async (fx, ep) => {
    const hank = await signOn(ep, 'hank', 'pw', 'md5-strong', { buddies: ['gina'] });
    const gina = await signOn(ep, 'gina', 'pw', 'md5-strong');
    await hank.conn.expectSnac(0x0003, 0x000b);

    gina.conn.sendSnac(0x0013, 0x0002);
    await gina.conn.expectSnac(0x0013, 0x0003);
    gina.conn.sendSnac(0x0013, 0x0004);
    const empty = new ByteReader((await gina.conn.expectSnac(0x0013, 0x0006)).body);
    assert.equal(empty.u8(), 0);
    assert.equal(empty.u16(), 0);

    gina.conn.sendSnac(0x0013, 0x0011);
    gina.conn.sendSnac(0x0013, 0x0008, Uint8Array.from([...item('', 0, 0, 1), ...item('Buddies', 1, 0, 1), ...item('Hank', 1, 7, 0)]));
    assert.deepEqual(decodeU16List((await gina.conn.expectSnac(0x0013, 0x000e)).body), [0, 0, 0]);
    gina.conn.sendSnac(0x0013, 0x0008, item('hank', 1, 7, 0));
    assert.deepEqual(decodeU16List((await gina.conn.expectSnac(0x0013, 0x000e)).body), [0x0a]);
    gina.conn.sendSnac(0x0013, 0x0012);

    // Activating the feedbag brings hank's arrival.
    gina.conn.sendSnac(0x0013, 0x0007);
    assert.equal(userInfoScreenName((await gina.conn.expectSnac(0x0003, 0x000b)).body), 'hank');

    // 13/05 with the current stamp and count -> not modified.
    gina.conn.sendSnac(0x0013, 0x0004);
    const full = (await gina.conn.expectSnac(0x0013, 0x0006)).body;
    const r = new ByteReader(full);
    r.u8();
    const count = r.u16();
    assert.equal(count, 3);
    const lastModified = new ByteReader(full, full.length - 4).u32();
    gina.conn.sendSnac(0x0013, 0x0005, new ByteWriter().u32(lastModified).u16(count).finish());
    await gina.conn.expectSnac(0x0013, 0x000f);

    // Deny hank (class 3) with PD mode 4 (deny some): hank sees gina depart and cannot IM her.
    const pdMode = new ByteWriter().u16(0x00ca).u16(1).u8(4).finish();
    gina.conn.sendSnac(0x0013, 0x0008, Uint8Array.from([...item('hank', 0, 20, 3), ...item('', 0, 21, 4, pdMode)]));
    assert.deepEqual(decodeU16List((await gina.conn.expectSnac(0x0013, 0x000e)).body), [0, 0]);
    assert.equal(userInfoScreenName((await hank.conn.expectSnac(0x0003, 0x000c)).body), 'gina');
    // Presence is symmetric: gina no longer sees hank either.
    assert.equal(userInfoScreenName((await gina.conn.expectSnac(0x0003, 0x000c)).body), 'hank');
    hank.conn.sendSnac(0x0004, 0x0006, imBody('gina', 'let me in'));
    assert.equal(decodeSnacError((await hank.conn.expectSnac(0x0004, 0x0001)).body).code, 0x04);
    gina.conn.sendSnac(0x0004, 0x0006, imBody('hank', 'you are blocked'));
    assert.equal(decodeSnacError((await gina.conn.expectSnac(0x0004, 0x0001)).body).code, 0x10);

    // Deleting the deny item lets hank see her again.
    gina.conn.sendSnac(0x0013, 0x000a, item('hank', 0, 20, 3));
    assert.deepEqual(decodeU16List((await gina.conn.expectSnac(0x0013, 0x000e)).body), [0]);
    assert.equal(userInfoScreenName((await hank.conn.expectSnac(0x0003, 0x000b)).body), 'gina');
    gina.conn.close();
    hank.conn.close();
  });
});

test('PermitDeny family: a deny hides presence and refuses IMs; lists persist', async () => {
  await withOscarFixture({ users: [['ivan', 'pw'], ['judy', 'pw']] }, async (fx, ep) => {
    const judy = await signOn(ep, 'judy', 'pw', 'md5-strong', { buddies: ['ivan'] });
    const ivan = await signOn(ep, 'ivan', 'pw', 'md5-strong');
    await judy.conn.expectSnac(0x0003, 0x000b);
    ivan.conn.sendSnac(0x0009, 0x0002);
    await ivan.conn.expectSnac(0x0009, 0x0003);
    ivan.conn.sendSnac(0x0009, 0x0007, new ByteWriter().string8('Judy').finish());
    await judy.conn.expectSnac(0x0003, 0x000c);
    judy.conn.sendSnac(0x0004, 0x0006, imBody('ivan', 'hello?'));
    assert.equal(decodeSnacError((await judy.conn.expectSnac(0x0004, 0x0001)).body).code, 0x04);
    const stored = await fx.store.permitDeny.get('ivan');
    assert.equal(stored.mode, 4);
    assert.deepEqual(stored.deny, ['judy']);
    ivan.conn.close();
    judy.conn.close();
  });
});

test('channel-2 rendezvous: proposer IP 0x0003 is replaced with the observed address and 0x0004 appended', async () => {
  await withOscarFixture({ users: [['kim', 'pw'], ['lee', 'pw']] }, async (fx, ep) => {
    const kim = await signOn(ep, 'kim', 'pw', 'md5-strong');
    const lee = await signOn(ep, 'lee', 'pw', 'md5-strong');
    const cap = new Uint8Array(16).fill(0x46);
    const rv = new ByteWriter().u16(0).bytes(new Uint8Array(8).fill(5)).bytes(cap)
      .u16(0x000a).u16(2).u16(1).u16(0x0003).u16(4).bytes(Uint8Array.from([10, 0, 0, 99])).u16(0x0005).u16(2).u16(4443).finish();
    const body = new ByteWriter().bytes(new Uint8Array(8).fill(5)).u16(2).string8('lee').u16(0x0005).u16(rv.length).bytes(rv).finish();
    kim.conn.sendSnac(0x0004, 0x0006, body);
    const got = parseIncomingIm((await lee.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(got.channel, 2);
    const rvOut = got.tlvs.bytes(0x0005)!;
    const inner = new ByteReader(rvOut, 26);
    const seen = new Map<number, Uint8Array>();
    while (!inner.done) {
      const t = inner.u16();
      seen.set(t, inner.block16());
    }
    assert.deepEqual([...seen.get(0x0003)!], [127, 0, 0, 1]);
    assert.deepEqual([...seen.get(0x0004)!], [127, 0, 0, 1]);
    assert.deepEqual([...seen.get(0x0005)!], [4443 >> 8, 4443 & 0xff]);
    assert.deepEqual(new Uint8Array(rvOut.subarray(0, 26)), rv.subarray(0, 26));
    kim.conn.close();
    lee.conn.close();
  });
});
