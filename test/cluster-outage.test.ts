/**
 * A real node cut off from NATS (its NATS connection runs through a relay the test cuts), with real clients:
 * while cut, an IM from its user to a user on another node is refused with a SNAC error (never silently stored),
 * and the other nodes see its user leave within seconds; when NATS is back, the node signs off the session the
 * cluster no longer lists, and the user can sign on again and talk across nodes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlapChannel } from '../src/wire/flap.js';
import { tlv } from '../src/wire/tlv.js';
import { TEST_NATS, TestCluster } from './support/cluster-harness.js';
import { cuttableRelay } from './support/cuttable-relay.js';
import { imBody, parseIncomingIm, signOn, userInfoScreenName } from './support/oscar-test-client.js';

test('a node cut off from NATS: cross-node IMs refused, its users gone elsewhere, sessions signed off on return', async () => {
  const relay = await cuttableRelay(TEST_NATS.replace(/^nats:\/\//, '').replace(/[/?].*$/, ''));
  const cluster = await TestCluster.start(1);
  try {
    const cut = await cluster.addNode(`127.0.0.1:${relay.port}`);
    const [n0, n1] = [{ port: cluster.nodes[0]!.ready.oscar }, { port: cut.ready.oscar }];
    for (const u of ['amy', 'ben']) await cluster.addUser(u, `${u}-pw`);
    const ben = await signOn(n0, 'ben', 'ben-pw', 'md5-strong', { buddies: ['amy'] });
    const amy = await signOn(n1, 'amy', 'amy-pw', 'md5-strong', { buddies: ['ben'] });
    await ben.conn.expectSnacWhere(0x0003, 0x000b, (x) => userInfoScreenName(x.body) === 'amy', 5000);

    await relay.cut();
    amy.conn.sendSnac(0x0004, 0x0006, imBody('ben', 'are you there?', [tlv(0x0003), tlv(0x0006)]));
    const err = await amy.conn.expectSnac(0x0004, 0x0001, 10_000);
    assert.equal(err.body[1], 0x1c, 'general failure, not an ack');
    assert.equal(await (await cluster.sharedStore()).offline.count('ben'), 0, 'nothing stored while the node could not tell');
    await ben.conn.expectSnacWhere(0x0003, 0x000c, (x) => userInfoScreenName(x.body) === 'amy', 15_000);

    await relay.restore();
    await amy.conn.nextFrame((f) => f.channel === FlapChannel.SignOff, 15_000);
    await amy.conn.closed;
    // Signing on again right after the outage may still be caught by the node's post-outage recheck while the
    // cluster settles (a known limit, ARCHITECTURE.md "Cluster"): a client reconnects, and so does this test, at most
    // three times. What must hold is that she gets back in and talks across nodes.
    let amy2: Awaited<ReturnType<typeof signOn>> | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        amy2 = await signOn(n1, 'amy', 'amy-pw', 'md5-strong');
        await ben.conn.expectSnacWhere(0x0003, 0x000b, (x) => userInfoScreenName(x.body) === 'amy', 5000);
        amy2.conn.sendSnac(0x0004, 0x0006, imBody('ben', 'back', [tlv(0x0003)]));
        await amy2.conn.expectSnac(0x0004, 0x000c, 5000);
        break;
      } catch (e) {
        amy2?.conn.close();
        if (attempt >= 3) throw e;
      }
    }
    assert.equal(Buffer.from(parseIncomingIm((await ben.conn.expectSnac(0x0004, 0x0007)).body).text!).toString(), 'back');
    for (const c of [ben, amy2]) c.conn.close();
  } finally {
    await cluster.stop();
    await relay.close();
  }
});
