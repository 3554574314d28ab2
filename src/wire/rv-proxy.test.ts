import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter, WireError, fromHex as hex, toHex } from './bytes.js';
import { FUZZ_ITERATIONS, FUZZ_TEST_OPTIONS, expectMixed, fuzzDecoder } from './fuzz-kit.test-support.js';
import {
  RV_PROXY_MAX_PACKET, RvProxyCommand, RvProxyErrorCode, decodeRendezvousSummary, decodeRvProxyAck, decodeRvProxyError, decodeRvProxyInitRecv,
  decodeRvProxyInitSend, decodeRvProxyPacket, encodeRvProxyAck, encodeRvProxyError, encodeRvProxyInitRecv, encodeRvProxyInitSend,
  encodeRvProxyReady, takeRvProxyPacket,
} from './rv-proxy.js';

const COOKIE = hex('0102030405060708');
const CAP = hex('094613434c7f11d18222444553540000'); // send-file

test('init-send: the bytes libpurple writes (length, 0x044A, command 2, zero, flags 0, SN, cookie, TLV 1 cap)', () => {
  const b = encodeRvProxyInitSend({ screenName: 'bob', cookie: COOKIE, capability: CAP });
  assert.deepEqual([...b], [...hex('002a 044a 0002 00000000 0000 03 626f62 0102030405060708 0001 0010 094613434c7f11d18222444553540000')]);
  const p = decodeRvProxyPacket(b);
  assert.equal(p.command, RvProxyCommand.InitSend);
  const m = decodeRvProxyInitSend(p.data);
  assert.equal(m.screenName, 'bob');
  assert.deepEqual([...m.cookie], [...COOKIE]);
  assert.deepEqual([...m.capability!], [...CAP]);
});

test('init-recv carries the port before the cookie; ack, error and ready round trip with server flags 0x0220', () => {
  const r = decodeRvProxyInitRecv(decodeRvProxyPacket(encodeRvProxyInitRecv({ screenName: 'Alice B', port: 0xbeef, cookie: COOKIE, capability: undefined })).data);
  assert.deepEqual([r.screenName, r.port, r.capability], ['Alice B', 0xbeef, undefined]);
  const ack = decodeRvProxyPacket(encodeRvProxyAck(4242, hex('0a000001')));
  assert.deepEqual([ack.command, ack.flags], [RvProxyCommand.Ack, 0x0220]);
  assert.deepEqual(decodeRvProxyAck(ack.data), { port: 4242, ipv4: hex('0a000001') });
  assert.equal(decodeRvProxyError(decodeRvProxyPacket(encodeRvProxyError(RvProxyErrorCode.AcceptTimeout)).data), 0x001a);
  assert.equal(toHex(encodeRvProxyReady()), '000a044a000500000000' + '0220');
});

test('header checks: version, length floor and cap (before the body arrives), trailing bytes', () => {
  assert.throws(() => decodeRvProxyPacket(hex('000a 0401 0005 00000000 0000')), (e) => WireError.is(e, 'BAD_VALUE'));
  assert.throws(() => decodeRvProxyPacket(hex('0009 044a 0005 00000000 0000')), (e) => WireError.is(e, 'BAD_LENGTH'));
  assert.throws(() => takeRvProxyPacket(hex('ffff')), (e) => WireError.is(e, 'FRAME_TOO_LARGE'));
  assert.throws(() => decodeRvProxyPacket(new Uint8Array([...encodeRvProxyReady(), 0])), (e) => WireError.is(e, 'TRAILING_BYTES'));
  assert.equal(takeRvProxyPacket(hex('000a044a')), undefined);
  const two = new Uint8Array([...encodeRvProxyReady(), 1, 2, 3]);
  const t = takeRvProxyPacket(two)!;
  assert.deepEqual([t.packet.command, [...t.rest]], [RvProxyCommand.Ready, [1, 2, 3]]);
  assert.throws(() => decodeRvProxyInitSend(new ByteWriter().u8(0).bytes(COOKIE).finish()), (e) => WireError.is(e, 'BAD_VALUE'));
  assert.throws(() => decodeRvProxyInitSend(new ByteWriter().string8('a').bytes(COOKIE).u16(1).u16(3).bytes(hex('010203')).finish()), (e) => WireError.is(e, 'BAD_LENGTH'));
});

test('rendezvous summary: type, cookie, capability, port TLV 0x0005 and proxy flag 0x0010', () => {
  const rv = new ByteWriter().u16(0).bytes(COOKIE).bytes(CAP).u16(0x000a).u16(2).u16(3).u16(0x0005).u16(2).u16(5190).u16(0x0010).u16(0).finish();
  const s = decodeRendezvousSummary(rv);
  assert.deepEqual([s.type, s.port, s.viaProxy, toHex(s.cookie)], [0, 5190, true, '0102030405060708']);
  assert.throws(() => decodeRendezvousSummary(rv.subarray(0, 20)), (e) => WireError.is(e, 'TRUNCATED'));
});

test('fuzz: proxy packets, init-send/-recv, ack, error, rendezvous summary', FUZZ_TEST_OPTIONS, () => {
  const seeds = [
    encodeRvProxyInitSend({ screenName: 'bob', cookie: COOKIE, capability: CAP }),
    encodeRvProxyInitRecv({ screenName: 'alice', port: 7, cookie: COOKIE, capability: CAP }),
    encodeRvProxyAck(1, hex('7f000001')), encodeRvProxyError(0x0d), encodeRvProxyReady(),
  ];
  expectMixed('rv-proxy', fuzzDecoder('rv-proxy', (b) => {
    const t = takeRvProxyPacket(b);
    const p = decodeRvProxyPacket(b);
    assert.ok(t !== undefined && b.length <= RV_PROXY_MAX_PACKET);
    switch (p.command) {
      case RvProxyCommand.InitSend: return decodeRvProxyInitSend(p.data);
      case RvProxyCommand.InitRecv: return decodeRvProxyInitRecv(p.data);
      case RvProxyCommand.Ack: return decodeRvProxyAck(p.data);
      case RvProxyCommand.Error: return decodeRvProxyError(p.data);
      default: return p;
    }
  }, seeds, { iterations: FUZZ_ITERATIONS, seed: 0x9a0c }));
  const rv = new ByteWriter().u16(0).bytes(COOKIE).bytes(CAP).u16(0x0005).u16(2).u16(5190).u16(0x0010).u16(0).finish();
  expectMixed('rv-summary', fuzzDecoder('rv-summary', decodeRendezvousSummary, [rv], { iterations: FUZZ_ITERATIONS, seed: 0x9a0d }));
});
