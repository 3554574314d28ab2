/**
 * End to end robustness: broken framing closes only the offending connection, malformed or unknown SNACs get
 * error replies, a flooding client is warned, limited and disconnected while another client stays fast, and
 * idle unauthenticated connections time out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader } from '../src/wire/bytes.js';
import { FlapChannel, encodeFlapHello } from '../src/wire/flap.js';
import { decodeSnacError } from '../src/wire/snac.js';
import { LOOSE_RATE_CLASSES, floodUntilSlowReaderCut, withOscarFixture } from './support/oscar-server-fixture.js';
import { TestConnection, imBody, parseIncomingIm, signOn } from './support/oscar-test-client.js';

test('malformed input: bad FLAP closes that connection; bad/unknown SNACs get 0x0E/0x01; others unaffected', async () => {
  await withOscarFixture({ users: [['good', 'pw'], ['evil', 'pw']], engine: { config: { maxFrameSize: 8192 } } }, async (fx, ep) => {
    const good = await signOn(ep, 'good', 'pw', 'md5-strong');
    const evil = await signOn(ep, 'evil', 'pw', 'md5-strong');

    // Truncated ICBM body -> 04/01 code 0x0E with the same request id.
    const req = evil.conn.sendSnac(0x0004, 0x0006, Uint8Array.from([1, 2, 3]));
    const e1 = await evil.conn.expectSnac(0x0004, 0x0001);
    assert.equal(e1.requestId, req);
    assert.equal(decodeSnacError(e1.body).code, 0x0e);
    // Unknown family/subtype -> code 0x01.
    evil.conn.sendSnac(0x0004, 0x00ee);
    assert.equal(decodeSnacError((await evil.conn.expectSnac(0x0004, 0x0001)).body).code, 0x01);
    evil.conn.sendSnac(0x0777, 0x0001);
    assert.equal(decodeSnacError((await evil.conn.expectSnac(0x0777, 0x0001)).body).code, 0x01);
    // Garbage TLV lengths in a feedbag insert -> 0x0E, no crash.
    evil.conn.sendSnac(0x0013, 0x0008, Uint8Array.from([0, 3, 0x41, 0x42, 0x43, 0, 1, 0, 1, 0, 0, 0, 9, 0, 1]));
    assert.equal(decodeSnacError((await evil.conn.expectSnac(0x0013, 0x0001)).body).code, 0x0e);

    // A frame over the size limit closes the connection.
    const big = new Uint8Array(6 + 9000);
    big.set([0x2a, 2, 0, 1, 9000 >> 8, 9000 & 0xff]);
    evil.conn.writeRaw(big);
    await evil.conn.closed;
    // Bad start byte on a fresh connection closes it too.
    const raw = await TestConnection.open(ep);
    raw.writeRaw(Uint8Array.from([0x2b, 1, 0, 0, 0, 4, 0, 0, 0, 1]));
    await raw.closed;

    // The good client is still served.
    good.conn.sendSnac(0x0001, 0x000e);
    await good.conn.expectSnac(0x0001, 0x000f);
    assert.equal(fx.server.metrics().malformedSnacs >= 2, true);
    good.conn.close();
  });
});

test('a flooding client is warned, dropped, then disconnected; another client stays fast', async () => {
  await withOscarFixture({ users: [['flood', 'pw'], ['calm', 'pw'], ['peer', 'pw']] }, async (fx, ep) => {
    const flood = await signOn(ep, 'flood', 'pw', 'md5-strong');
    const calm = await signOn(ep, 'calm', 'pw', 'md5-strong');
    const peer = await signOn(ep, 'peer', 'pw', 'md5-strong');
    // A few IMs pass normally.
    for (let i = 0; i < 3; i++) flood.conn.sendSnac(0x0004, 0x0006, imBody('peer', `ok ${i}`));
    for (let i = 0; i < 3; i++) assert.equal(Buffer.from(parseIncomingIm((await peer.conn.expectSnac(0x0004, 0x0007)).body).text!).toString(), `ok ${i}`);
    // Class 3 (ICBM send): window 20, alert 5000, limit 4000, disconnect 3000 -> a burst trips all three.
    for (let i = 0; i < 60 && !flood.conn.isClosed; i++) flood.conn.sendSnac(0x0004, 0x0006, imBody('peer', `spam ${i}`));
    const warn = await flood.conn.expectSnac(0x0001, 0x000a);
    assert.equal(new ByteReader(warn.body).u16(), 2, 'first notice is an alert');
    const limited = await flood.conn.expectSnac(0x0001, 0x000a);
    assert.equal(new ByteReader(limited.body).u16(), 3, 'then limited');
    await flood.conn.closed;
    assert.ok(fx.server.metrics().rateDropped > 0);
    assert.ok(fx.server.metrics().limitDisconnects >= 1);

    // Peer received at most the few the class admitted before the limit, never the flood.
    let got = 0;
    while (!(await peer.conn.noSnac(0x0004, 0x0007, 100))) got++;
    assert.ok(got < 10, `peer got ${got}`);

    // The calm client's IM is relayed promptly.
    const t0 = Date.now();
    calm.conn.sendSnac(0x0004, 0x0006, imBody('peer', 'hello'));
    const im = parseIncomingIm((await peer.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(im.sender, 'calm');
    assert.ok(Date.now() - t0 < 1000);
    calm.conn.close();
    peer.conn.close();
  });
});

test('unauthenticated connections time out; SNACs before the hello close the connection; max connections', async () => {
  await withOscarFixture({ engine: { config: { unauthenticatedTimeoutMs: 300, maxConnections: 2 } } }, async (fx, ep) => {
    const a = await TestConnection.open(ep);
    const b = await TestConnection.open(ep);
    await a.nextFrame((f) => f.channel === FlapChannel.SignOn);
    await b.nextFrame((f) => f.channel === FlapChannel.SignOn);
    const c = await TestConnection.open(ep);
    await c.closed;
    assert.equal(fx.server.metrics().connections, 2);
    a.close();
    b.close();
    await a.closed;
    await b.closed;
    for (let i = 0; i < 50 && fx.server.metrics().connections > 0; i++) await new Promise((r) => setTimeout(r, 10));

    const idle = await TestConnection.open(ep);
    await idle.nextFrame((f) => f.channel === FlapChannel.SignOn);
    idle.sendFrame(FlapChannel.SignOn, encodeFlapHello());
    const t0 = Date.now();
    await idle.closed;
    assert.ok(Date.now() - t0 >= 200);

    const rude = await TestConnection.open(ep);
    rude.sendSnac(0x0017, 0x0006);
    await rude.closed;
  });
});

test('a recipient that stops reading is disconnected once its pending output passes the limit', async () => {
  await withOscarFixture({ users: [['sender', 'pw'], ['sleepy', 'pw']], engine: { config: { maxPendingOutput: 256 * 1024, rateClasses: LOOSE_RATE_CLASSES } } }, async (fx, ep) => {
    const sender = await signOn(ep, 'sender', 'pw', 'md5-strong');
    const sleepy = await signOn(ep, 'sleepy', 'pw', 'md5-strong');
    sleepy.conn.socket.pause();
    const before = fx.server.metrics().limitDisconnects;
    const sent = await floodUntilSlowReaderCut(fx.server, sender, 'sleepy');
    assert.equal(fx.server.metrics().limitDisconnects, before + 1, `after ${sent} IMs`);
    // The sender is unaffected and now gets "not logged on".
    for (let i = 0; i < 50 && fx.server.engine.registry.sessionsOf('sleepy').length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    sender.conn.sendSnac(0x0004, 0x0006, imBody('sleepy', 'still there?'));
    assert.equal(decodeSnacError((await sender.conn.expectSnacWhere(0x0004, 0x0001, () => true, 5000)).body).code, 0x04);
    sender.conn.close();
    sleepy.conn.close();
  });
});
