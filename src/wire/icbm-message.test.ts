import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError, fromHex, toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import {
  IcbmChannel, IcbmTlv, decodeIcbmChannelMsgToClient, decodeIcbmChannelMsgToHost, decodeImFragments, decodeImMessage,
  encodeEncryptedImMessage, encodeIcbmChannelMsgToClient, encodeIcbmChannelMsgToHost, encodeImFragments, encodeImMessage,
  imDataTlv, isEncryptedIm, scanIcbmChannelMsgToHost,
} from './icbm-message.js';
import { tlv } from './tlv.js';
import { UserInfoBuilder } from './user-info.js';

const isCode = (code: string) => (e: unknown) => WireError.is(e) && e.code === code;
const PLAIN = '0501' + '0003' + '010102' + '0101' + '0006' + '0000' + '0000' + '6869';
const ENCRYPTED = '0d01' + '0002' + '0001' + '0501' + '0003' + '010102' + '0101' + '0007' + '0000' + '0000' + '3080aa';

test('docs/protocol.md §3.4: plain channel-1 message = 05 01 features then 01 01 part with charset/subset', () => {
  assert.equal(toHex(encodeImMessage({ parts: [{ charset: 0, text: fromHex('6869') }] })), PLAIN);
  const m = decodeImMessage(fromHex(PLAIN));
  assert.equal(isEncryptedIm(m), false);
  assert.equal(toHex(m.features!), '010102');
  assert.deepEqual(m.parts.map((p) => [p.charset, p.charsetSubset, toHex(p.text)]), [[0, 0, '6869']]);
});

test('docs/protocol.md §3.4: encrypted IM = 0D 01 (0x0001), 05 01, 01 01 with 4 zero bytes + CMS', () => {
  assert.equal(toHex(encodeEncryptedImMessage(fromHex('3080aa'))), ENCRYPTED);
  const m = decodeImMessage(fromHex(ENCRYPTED));
  assert.equal(isEncryptedIm(m), true);
  assert.equal(m.encryptionCode, 1);
  assert.equal(toHex(m.parts[0]!.text), '3080aa');
});

test('docs/protocol.md §3.4: several parts, unknown fragment kept, any order accepted', () => {
  const buf = fromHex('0101 0005 0002 0000 41' + '0701 0001 ee' + '0101 0006 0003 0000 4243');
  const m = decodeImMessage(buf);
  assert.equal(m.features, undefined);
  assert.deepEqual(m.parts.map((p) => [p.charset, toHex(p.text)]), [[2, '41'], [3, '4243']]);
  assert.deepEqual(m.fragments.map((f) => f.id), [1, 7, 1]);
  assert.equal(toHex(encodeImFragments(m.fragments)), toHex(buf));
  assert.deepEqual(decodeImFragments(new Uint8Array(0)), []);
});

test('docs/protocol.md §3.4: malformed fragments are typed errors', () => {
  assert.throws(() => decodeImMessage(fromHex('0d01 0001 01')), isCode('BAD_LENGTH'));
  assert.throws(() => decodeImMessage(fromHex('0101 0003 000000')), isCode('TRUNCATED'));
  assert.throws(() => decodeImMessage(fromHex('0101 0009 0000')), isCode('TRUNCATED'));
  assert.throws(() => decodeImMessage(fromHex('01')), isCode('TRUNCATED'));
});

test('docs/protocol.md §3.4: 04/06 header = u64 cookie, u16 channel, SN, TLV rest', () => {
  const body = encodeIcbmChannelMsgToHost({
    cookie: fromHex('0102030405060708'), channel: IcbmChannel.Im, screenName: 'bob',
    tlvs: [imDataTlv({ parts: [{ charset: 0, text: fromHex('6869') }] }), tlv(IcbmTlv.REQUEST_HOST_ACK)],
  });
  assert.equal(toHex(body), '0102030405060708' + '0001' + '03626f62' + '0002' + '0011' + PLAIN + '00030000');
  const m = decodeIcbmChannelMsgToHost(body);
  assert.deepEqual([toHex(m.cookie), m.channel, m.screenName, m.tlvs.has(IcbmTlv.REQUEST_HOST_ACK)], ['0102030405060708', 1, 'bob', true]);
  assert.equal(toHex(m.tlvs.bytes(IcbmTlv.IM_DATA)!), PLAIN);
  assert.throws(() => decodeIcbmChannelMsgToHost(fromHex('01020304050607')), isCode('TRUNCATED'));
});

test('docs/protocol.md §3.4/§4.1: 04/07 header = cookie, channel, sender user info, TLV rest', () => {
  const sender = new UserInfoBuilder('al').userClass(0x10).fields();
  const body = encodeIcbmChannelMsgToClient({ cookie: new Uint8Array(8), channel: 1, sender, tlvs: [tlv(IcbmTlv.IM_DATA, fromHex(ENCRYPTED))] });
  assert.equal(toHex(body), '0000000000000000' + '0001' + '02616c' + '0000' + '0001' + '000100020010' + '0002' + '0018' + ENCRYPTED);
  const m = decodeIcbmChannelMsgToClient(body);
  assert.equal(m.sender.screenName, 'al');
  assert.equal(m.sender.userClass, 0x10);
  assert.equal(isEncryptedIm(decodeImMessage(m.tlvs.bytes(IcbmTlv.IM_DATA)!)), true);
});

test('property: channel-1 messages round-trip (2000 cases)', () => {
  const rng = new Prng(21);
  for (let i = 0; i < 2000; i++) {
    const parts = Array.from({ length: 1 + rng.int(3) }, () => ({ charset: rng.pick([0, 2, 3]), charsetSubset: rng.int(0x10000), text: rng.bytes(rng.int(1200)) }));
    const encryptionCode = rng.chance(0.3) ? 1 : undefined;
    const features = rng.chance(0.5) ? rng.bytes(rng.int(5)) : undefined;
    const m = decodeImMessage(encodeImMessage({ parts, encryptionCode, features }));
    assert.equal(m.encryptionCode, encryptionCode);
    assert.deepEqual(m.parts.map((p) => [p.charset, p.charsetSubset, toHex(p.text)]), parts.map((p) => [p.charset, p.charsetSubset, toHex(p.text)]));
  }
});

test('docs/protocol.md §3.4: the in-place 04/06 scan agrees with the decoder, and refuses what it refuses with the same code', () => {
  const prng = new Prng(0x0406);
  const body = encodeIcbmChannelMsgToHost({
    cookie: fromHex('0102030405060708'), channel: IcbmChannel.Im, screenName: 'Bob Smith',
    tlvs: [tlv(IcbmTlv.IM_DATA, fromHex('01')), tlv(IcbmTlv.STORE_OFFLINE), imDataTlv({ parts: [{ charset: 0, text: fromHex('6869') }] }), tlv(IcbmTlv.REQUEST_HOST_ACK)],
  });
  const s = scanIcbmChannelMsgToHost(body);
  const m = decodeIcbmChannelMsgToHost(body);
  assert.deepEqual([s.channel, s.screenName, s.tlvStart, s.imDataLength, s.requestsAck, s.storeOffline, s.hasRendezvous],
    [m.channel, m.screenName, body.length - m.tlvBytes.length, m.tlvs.getAll(IcbmTlv.IM_DATA).reduce((n, t) => n + t.value.length, 0), true, true, false]);
  assert.equal(s.imDataLength, 1 + imDataTlv({ parts: [{ charset: 0, text: fromHex('6869') }] }).value.length, 'both IM data TLVs count');
  // Every truncation and a sample of corruptions: both accept, or both throw a WireError with the same code.
  const cases = [...Array.from({ length: body.length }, (_, n) => body.subarray(0, n))];
  for (let i = 0; i < 300; i++) {
    const c = body.slice();
    c[prng.int(c.length)] = prng.int(256);
    cases.push(c);
  }
  cases.push(fromHex('0102030405060708' + '0001' + '00'));
  for (const c of cases) {
    const outcome = (f: () => unknown): string => {
      try {
        f();
        return 'ok';
      } catch (e) {
        assert.ok(WireError.is(e), String(e));
        return e.code;
      }
    };
    assert.equal(outcome(() => scanIcbmChannelMsgToHost(c)), outcome(() => decodeIcbmChannelMsgToHost(c)), toHex(c));
  }
});
