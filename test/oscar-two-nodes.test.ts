/**
 * Two server nodes in one process over one in-process directory hub and one SQLite store, with real sockets: what a
 * cluster must do whatever carries the directory (NATS runs the same interface). Presence and IMs across nodes,
 * storage for users online nowhere, multi-session and takeover across nodes, and a node that leaves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlapChannel, decodeFlapSignOff } from '../src/wire/flap.js';
import { encodeScreenNameList } from '../src/wire/families/buddy.js';
import { tlv } from '../src/wire/tlv.js';
import { LocalDirectoryHub } from '../src/server/cluster/local-directory.js';
import type { OscarServer } from '../src/server/net/oscar-server.js';
import { startOscarFixture, startSecondNode } from './support/oscar-server-fixture.js';
import { imBody, parseIncomingIm, signOn, userInfoScreenName } from './support/oscar-test-client.js';

async function twoNodes(body: (a: { port: number }, b: { port: number }, stopB: () => Promise<void>) => Promise<void>): Promise<void> {
  const hub = new LocalDirectoryHub();
  const fx = await startOscarFixture({ engine: { directory: hub.directory('node-a') } });
  let nodeB: OscarServer | undefined;
  try {
    for (const [u, p] of [['carol', 'pw1'], ['dave', 'pw2'], ['erin', 'pw3']] as const) await fx.addUser(u, p);
    const b = await startSecondNode(fx, { directory: hub.directory('node-b') });
    nodeB = b.server;
    let stopped = false;
    await body({ port: fx.port }, { port: b.port }, async () => {
      stopped = true;
      await nodeB!.close();
    });
    if (!stopped) await nodeB.close();
  } finally {
    await fx.stop();
  }
}

test('presence and IMs across nodes; an IM to a user online nowhere is stored', async () => {
  await twoNodes(async (a, b) => {
    const dave = await signOn(a, 'dave', 'pw2', 'md5-strong', { buddies: ['carol'] });
    const carol = await signOn(b, 'carol', 'pw1', 'md5-strong', { buddies: ['dave'] });
    assert.equal(userInfoScreenName((await dave.conn.expectSnac(0x0003, 0x000b)).body), 'carol');
    assert.equal(userInfoScreenName((await carol.conn.expectSnac(0x0003, 0x000b)).body), 'dave', 'sign-on arrivals come from the directory');
    dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'across', [tlv(0x0003)]));
    await dave.conn.expectSnac(0x0004, 0x000c);
    assert.equal(Buffer.from(parseIncomingIm((await carol.conn.expectSnac(0x0004, 0x0007)).body).text!).toString(), 'across');
    carol.conn.close();
    assert.equal(userInfoScreenName((await dave.conn.expectSnac(0x0003, 0x000c)).body), 'carol');
    dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'stored', [tlv(0x0003), tlv(0x0006)]));
    await dave.conn.expectSnac(0x0004, 0x000c);
    const carol2 = await signOn(b, 'carol', 'pw1', 'md5-strong');
    assert.equal(Buffer.from(parseIncomingIm((await carol2.conn.expectSnac(0x0004, 0x0007)).body).text!).toString(), 'stored');
    dave.conn.close();
    carol2.conn.close();
  });
});

test('multi-session across nodes gets every IM; a classic sign-on on one node takes over sessions on the other', async () => {
  await twoNodes(async (a, b) => {
    const erin = await signOn(a, 'erin', 'pw3', 'md5-strong');
    const onA = await signOn(a, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    const onB = await signOn(b, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    erin.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'both nodes', [tlv(0x0003)]));
    await erin.conn.expectSnac(0x0004, 0x000c);
    for (const c of [onA, onB]) assert.equal(Buffer.from(parseIncomingIm((await c.conn.expectSnac(0x0004, 0x0007)).body).text!).toString(), 'both nodes');
    const classic = await signOn(b, 'carol', 'pw1', 'md5-strong');
    for (const c of [onA, onB]) {
      assert.equal(decodeFlapSignOff((await c.conn.nextFrame((f) => f.channel === FlapChannel.SignOff)).payload).reason, 1);
      await c.conn.closed;
    }
    erin.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'only classic', [tlv(0x0003)]));
    await erin.conn.expectSnac(0x0004, 0x000c);
    await classic.conn.expectSnac(0x0004, 0x0007);
    erin.conn.close();
    classic.conn.close();
  });
});

test('blocking someone in a session on one node blocks them in the user\'s sessions on the other node', async () => {
  await twoNodes(async (a, b) => {
    const dave = await signOn(a, 'dave', 'pw2', 'md5-strong');
    const onA = await signOn(a, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    const onB = await signOn(b, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    onA.conn.sendSnac(0x0009, 0x0007, encodeScreenNameList(['dave'])); // PermitDeny: add deny
    const q = onA.conn.sendSnac(0x0001, 0x000e);
    await onA.conn.expectSnacWhere(0x0001, 0x000f, (x) => x.requestId === q);
    dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'blocked?', [tlv(0x0003)]));
    assert.equal((await dave.conn.expectSnac(0x0004, 0x0001)).body[1], 0x04);
    assert.equal(await onB.conn.noSnac(0x0004, 0x0007, 200), true);
    for (const c of [dave, onA, onB]) c.conn.close();
  });
});

test('a node that leaves takes its users with it: watchers on the other node see them go', async () => {
  await twoNodes(async (a, b, stopB) => {
    const dave = await signOn(a, 'dave', 'pw2', 'md5-strong', { buddies: ['carol'] });
    await signOn(b, 'carol', 'pw1', 'md5-strong');
    await dave.conn.expectSnac(0x0003, 0x000b);
    await stopB();
    assert.equal(userInfoScreenName((await dave.conn.expectSnac(0x0003, 0x000c)).body), 'carol');
    dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'gone', [tlv(0x0003)]));
    assert.equal((await dave.conn.expectSnac(0x0004, 0x0001)).body[1], 0x04);
    dave.conn.close();
  });
});
