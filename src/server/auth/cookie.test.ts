import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COOKIE_LENGTH, CookieIssuer } from './cookie.js';

const T = 1_700_000_000_000;

test('a cookie is 256 bytes and redeems once to its claims', () => {
  const ci = new CookieIssuer(new Uint8Array(32).fill(1), 60);
  const c = ci.issue({ screenName: 'Bob Smith', tls: true, multiConn: 1, service: 'bos' }, T);
  assert.equal(c.length, COOKIE_LENGTH);
  const got = ci.redeem(c, T + 1000);
  assert.deepEqual(got, { screenName: 'Bob Smith', tls: true, multiConn: 1, service: 'bos', nonce: c.slice(5, 21) });
  assert.notDeepEqual(ci.redeem(ci.issue({ screenName: 'Bob Smith', tls: true, multiConn: 1, service: 'bos' }, T), T)?.nonce, got?.nonce, 'a fresh nonce per cookie');
  assert.equal(ci.redeem(c, T + 2000), undefined, 'single use');
});

test('a cookie carries its service and room', () => {
  const ci = new CookieIssuer(new Uint8Array(32).fill(1), 60);
  const room = Uint8Array.from([0, 4, 9, 0x21, 0x61, 0x62]);
  const c = ci.issue({ screenName: 'Bob', tls: false, multiConn: 0, service: 'chat', room }, T);
  assert.deepEqual(ci.redeem(c, T), { screenName: 'Bob', tls: false, multiConn: 0, service: 'chat', room, nonce: c.slice(5, 21) });
  assert.throws(() => ci.issue({ screenName: 'Bob', tls: false, multiConn: 0, service: 'chat', room: new Uint8Array(129) }, T), RangeError);
  const big = ci.issue({ screenName: 'A'.repeat(48), tls: false, multiConn: 0, service: 'chatnav', room: new Uint8Array(128).fill(7) }, T);
  assert.deepEqual(ci.redeem(big, T)?.room, new Uint8Array(128).fill(7), 'the largest room fits with a long screen name');
});

test('tampered, expired, foreign-key and garbage cookies are refused', () => {
  const ci = new CookieIssuer(new Uint8Array(32).fill(1), 60);
  const other = new CookieIssuer(new Uint8Array(32).fill(2), 60);
  const tampered = ci.issue({ screenName: 'bob', tls: false, multiConn: 0, service: 'bos' }, T);
  tampered[25] = tampered[25]! ^ 1;
  const cases: Array<[string, Uint8Array, number]> = [
    ['tampered', tampered, T],
    ['expired', ci.issue({ screenName: 'bob', tls: false, multiConn: 0, service: 'bos' }, T), T + 61_000],
    ['other key', other.issue({ screenName: 'bob', tls: false, multiConn: 0, service: 'bos' }, T), T],
    ['garbage', new Uint8Array(256).fill(0xff), T],
    ['short', new Uint8Array(3), T],
  ];
  for (const [name, cookie, now] of cases) assert.equal(ci.redeem(cookie, now), undefined, name);
});

test('redeemed nonces are forgotten once their cookies expire, and a live one is never forgotten', () => {
  const ttl = 60;
  const ci = new CookieIssuer(new Uint8Array(32).fill(1), ttl);
  const bos = { screenName: 'bob', tls: false, multiConn: 0, service: 'bos' } as const;
  // An early cookie redeemed late: the sweep meets live entries behind it in the map and must not drop them.
  const late = ci.issue(bos, T);
  let live: Uint8Array[] = [];
  for (let i = 0; i < 6000; i++) {
    const now = T + i * 100; // 10 redemptions per second for 10 minutes
    const c = ci.issue(bos, now);
    assert.ok(ci.redeem(c, now + 50), `redeem ${i}`);
    live.push(c);
    if (i === 300) assert.ok(ci.redeem(late, now), 'the early cookie, redeemed 30 s into its 60 s life');
    if (i === 301) assert.equal(ci.redeem(late, now), undefined, 'and never again');
    // The previous minute's cookies are still inside their life: a replay is refused.
    if (i % 500 === 499) {
      for (const old of live.slice(-500)) assert.equal(ci.redeem(old, now + 60), undefined, 'replay of a live cookie');
      live = [];
    }
  }
  // Ten redemptions per second with a 60 s life: about 600 remembered, never the 6,000 redeemed.
  assert.ok(ci.rememberedNonces <= 10 * (ttl + 2), `${ci.rememberedNonces} nonces remembered`);
  assert.ok(ci.rememberedNonces >= 10 * (ttl - 2), `${ci.rememberedNonces} nonces remembered: the live ones are kept`);
});
