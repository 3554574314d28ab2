/**
 * The client's pacer against the server's own rate limiter (docs/protocol.md §3.1), on one injected clock: a
 * burst of IMs paced by `RatePacer` never drops below the alert level, while the same burst unpaced is dropped
 * and then disconnected — the "signed off after ~14 IMs" the pacer exists to prevent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RatePacer } from '../src/client/pacing.js';
import { DEFAULT_RATE_CLASSES, defaultRateClassMap, pairsByClass } from '../src/server/session/rate-classes.js';
import { RateLimiter } from '../src/server/session/rate-limiter.js';

const IM: readonly [number, number] = [0x0004, 0x0006];

function announced() {
  const pairs = pairsByClass(DEFAULT_RATE_CLASSES, defaultRateClassMap(), [IM, [0x0001, 0x0002], [0x0004, 0x0014]]);
  return { classes: DEFAULT_RATE_CLASSES.map((c) => ({ ...c, current: c.max, lastTime: 0, dropping: false })), pairs };
}

describe('pacing to the announced rate classes', () => {
  it('unpaced, a burst of IMs is dropped after a few and disconnected before 20', () => {
    const limiter = new RateLimiter(DEFAULT_RATE_CLASSES, 0);
    const verdicts = Array.from({ length: 20 }, () => limiter.check(3, 0).verdict);
    assert.ok(verdicts.includes('drop'));
    assert.ok(verdicts.indexOf('disconnect') > 0 && verdicts.indexOf('disconnect') < 16, verdicts.join(','));
  });

  it('paced, 60 IMs in a burst all pass without an alert, at about one per alert interval once the headroom is used', async () => {
    let clock = 1_000_000;
    const limiter = new RateLimiter(DEFAULT_RATE_CLASSES, clock);
    const pacer = new RatePacer(announced(), () => clock, async (ms) => {
      clock += ms;
    });
    const notices: string[] = [];
    const waits: number[] = [];
    for (let i = 0; i < 60; i++) {
      waits.push(await pacer.pace(...IM));
      const r = limiter.check(3, clock);
      assert.equal(r.verdict, 'ok', `IM ${i + 1} was ${r.verdict}`);
      if (r.notice) notices.push(r.notice);
    }
    assert.deepEqual(notices, []);
    assert.equal(waits[0], 0); // the first ones go at once
    const steady = waits.slice(-10);
    for (const w of steady) assert.ok(w >= 4900 && w <= 5200, `steady wait ${w}`);
  });

  it('a 01/0A record from the server resynchronises the class', () => {
    const clock = 0;
    const pacer = new RatePacer(announced(), () => clock, async () => undefined);
    assert.equal(pacer.delayFor(...IM), 0);
    pacer.update({ ...DEFAULT_RATE_CLASSES[2]!, current: 4000, lastTime: 0, dropping: false });
    assert.ok(pacer.delayFor(...IM) > 5000);
  });

  it('SNACs of other classes are not held up by the IM class', () => {
    const clock = 0;
    const pacer = new RatePacer(announced(), () => clock, async () => undefined);
    for (let i = 0; i < 10; i++) pacer.sent(...IM);
    assert.ok(pacer.delayFor(...IM) > 0);
    assert.equal(pacer.delayFor(0x0004, 0x0014), 0);
  });
});
