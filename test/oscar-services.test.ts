/**
 * OSCAR services over real sockets: `01/04` -> `01/05` redirect with a cookie naming the service (and room), the
 * new connection serving only that service's family table, and a service session that never displaces BOS.
 * The service here is test-only (family 0x7F00, an echo), the shape ChatNav/Chat will take.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader } from '../src/wire/bytes.js';
import { FlapChannel, encodeFlapHello } from '../src/wire/flap.js';
import { ServiceTlv, decodeServiceRedirect, decodeVersions, encodeServiceRequest, encodeVersions } from '../src/wire/families/oservice.js';
import { decodeSnacError } from '../src/wire/snac.js';
import { tlv } from '../src/wire/tlv.js';
import { reply, type BosFamily } from '../src/server/families/family.js';
import { oserviceFamily } from '../src/server/families/oservice.js';
import { bosService } from '../src/server/services/bos.js';
import type { OscarService } from '../src/server/services/service.js';
import { endSession, startSession } from '../src/server/session/lifecycle.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { TestConnection, imBody, signOn } from './support/oscar-test-client.js';

const ECHO_FAMILY = 0x7f00;

/** Echo: 7F00/02 -> 7F00/03 with the cookie's room, then the session's screen name. */
const echoFamily: BosFamily = {
  family: ECHO_FAMILY,
  version: 1,
  handlers: {
    0x02: (ctx) => [reply(ECHO_FAMILY, 0x03, new Uint8Array([...(roomOf.get(ctx.session.id) ?? []), ...Buffer.from(ctx.session.screenName)]))],
  },
};
const roomOf = new Map<string, Uint8Array>();

const echoService: OscarService = {
  id: 'echo',
  families: [oserviceFamily, echoFamily],
  requestFamily: ECHO_FAMILY,
  request: (_ctx, tlvs) => {
    const room = tlvs.bytes(ServiceTlv.ROOM);
    return room === undefined ? 0x000e : { room: room.slice() };
  },
  start: async (engine, claims, link) => {
    const s = await startSession(engine, { ...claims, exclusive: false }, link);
    if (claims.room) roomOf.set(s.id, claims.room);
    return s;
  },
  clientReady: async (_engine, s) => {
    s.ready = true;
  },
  end: (engine, s) => endSession(engine, s),
};

test('01/04 for a service nobody serves is ServiceUnavailable', async () => {
  await withOscarFixture({ users: [['carol', 'pw1']] }, async (_fx, ep) => {
    const carol = await signOn(ep, 'carol', 'pw1', 'md5-strong');
    carol.conn.sendSnac(0x0001, 0x0004, encodeServiceRequest(ECHO_FAMILY));
    assert.equal(decodeSnacError((await carol.conn.expectSnac(0x0001, 0x0001)).body).code, 0x0005);
    carol.conn.sendSnac(0x0001, 0x0004, encodeServiceRequest(0x0002)); // BOS itself is reached by login only
    assert.equal(decodeSnacError((await carol.conn.expectSnac(0x0001, 0x0001)).body).code, 0x0005);
    carol.conn.close();
  });
});

test('01/04 -> 01/05 -> a connection serving only the requested service, beside the BOS session', async () => {
  await withOscarFixture({ users: [['carol', 'pw1'], ['dave', 'pw2']], engine: { services: [bosService, echoService] } }, async (fx, ep) => {
    const carol = await signOn(ep, 'carol', 'pw1', 'md5-strong'); // classic, exclusive: yet the service must not displace it
    const dave = await signOn(ep, 'dave', 'pw2', 'md5-strong');

    carol.conn.sendSnac(0x0001, 0x0004, encodeServiceRequest(ECHO_FAMILY));
    assert.equal(decodeSnacError((await carol.conn.expectSnac(0x0001, 0x0001)).body).code, 0x000e, 'the service refuses a request without a room');

    const room = Uint8Array.from([0, 4, 3, 0x61, 0x62, 0x63, 0, 0]);
    carol.conn.sendSnac(0x0001, 0x0004, encodeServiceRequest(ECHO_FAMILY, [tlv(ServiceTlv.ROOM, room)]));
    const redirect = decodeServiceRedirect((await carol.conn.expectSnac(0x0001, 0x0005)).body);
    assert.equal(redirect.family, ECHO_FAMILY);
    assert.equal(redirect.address, `127.0.0.1:${fx.port}`);
    assert.equal(redirect.cookie.length, 256);

    const svc = await TestConnection.open({ port: Number(redirect.address.split(':')[1]) });
    await svc.nextFrame((f) => f.channel === FlapChannel.SignOn);
    svc.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, redirect.cookie)]));
    const online = new ByteReader((await svc.expectSnac(0x0001, 0x0003)).body);
    assert.deepEqual([online.u16(), online.u16()], [0x0001, ECHO_FAMILY]);
    assert.equal(online.done, true);
    svc.sendSnac(0x0001, 0x0017, encodeVersions([{ family: 1, version: 4 }]));
    assert.deepEqual(decodeVersions((await svc.expectSnac(0x0001, 0x0018)).body).map((v) => v.family), [0x0001, ECHO_FAMILY]);
    svc.sendSnac(0x0001, 0x0002);
    svc.sendSnac(ECHO_FAMILY, 0x0002);
    assert.deepEqual([...(await svc.expectSnac(ECHO_FAMILY, 0x0003)).body], [...room, ...Buffer.from('carol')]);
    svc.sendSnac(0x0004, 0x0006, imBody('dave', 'not here'));
    assert.equal(decodeSnacError((await svc.expectSnac(0x0004, 0x0001)).body).code, 0x0001, 'BOS families are not served on the service connection');

    // A second service connection of the same classic user coexists with the first (non-exclusive service).
    carol.conn.sendSnac(0x0001, 0x0004, encodeServiceRequest(ECHO_FAMILY, [tlv(ServiceTlv.ROOM, room)]));
    const second = await TestConnection.open({ port: fx.port });
    await second.nextFrame((f) => f.channel === FlapChannel.SignOn);
    second.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, decodeServiceRedirect((await carol.conn.expectSnac(0x0001, 0x0005)).body).cookie)]));
    await second.expectSnac(0x0001, 0x0003);
    svc.sendSnac(ECHO_FAMILY, 0x0002);
    await svc.expectSnac(ECHO_FAMILY, 0x0003);
    await assert.rejects(svc.nextFrame((f) => f.channel === FlapChannel.SignOff, 100), 'the first service connection was not signed off');
    second.close();

    // BOS is untouched, and IMs to carol go to her BOS session only.
    assert.equal(carol.conn.isClosed, false);
    dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'to bos', [tlv(0x0003)]));
    await dave.conn.expectSnac(0x0004, 0x000c);
    await carol.conn.expectSnac(0x0004, 0x0007);
    assert.equal(await svc.noSnac(0x0004, 0x0007, 200), true);

    // The cookie was single-use.
    const again = await TestConnection.open({ port: fx.port });
    await again.nextFrame((f) => f.channel === FlapChannel.SignOn);
    again.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, redirect.cookie)]));
    await again.nextFrame((f) => f.channel === FlapChannel.SignOff);
    for (const c of [svc, again, carol.conn, dave.conn]) c.close();
  });
});
