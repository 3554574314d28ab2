import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRateChange, decodeRateInfo, encodeRateChange, encodeRateInfo, type RateClassRecord } from './oservice.js';
import { decodeParameterReply, encodeParameterReply } from './icbm.js';

const cls = (id: number, window: number): RateClassRecord => ({ id, window, clear: 5100, alert: 5000, limit: 4000, disconnect: 3000, current: 6000, max: 6000, lastTime: 7, dropping: false });

describe('01/07 and 01/0A decoding (docs/protocol.md §3.1)', () => {
  for (const v2 of [false, true]) {
    it(`round-trips ${v2 ? 'v2 (35-byte)' : 'v1 (30-byte)'} records and their SNAC pairs`, () => {
      const classes = [cls(1, 80), cls(3, 20)];
      const pairs = new Map([[1, [[1, 2] as const]], [3, [[4, 6] as const, [2, 5] as const]]]);
      const info = decodeRateInfo(encodeRateInfo(classes, pairs, v2));
      assert.deepEqual(info.classes.map((c) => [c.id, c.window, c.alert, c.current]), [[1, 80, 5000, 6000], [3, 20, 5000, 6000]]);
      assert.deepEqual(info.pairs.get(3), [[4, 6], [2, 5]]);
      const change = decodeRateChange(encodeRateChange(2, { ...cls(3, 20), current: 4900 }, v2));
      assert.equal(change.code, 2);
      assert.equal(change.record.current, 4900);
    });
  }

  it('reads the 04/05 parameter reply', () => {
    const r = decodeParameterReply(encodeParameterReply(100, { channel: 0, flags: 0x0b, maxMessageLength: 8000, maxSenderWarn: 999, maxReceiverWarn: 999, minInterval: 0 }));
    assert.equal(r.maxSlots, 100);
    assert.equal(r.parameters.maxMessageLength, 8000);
  });
});
