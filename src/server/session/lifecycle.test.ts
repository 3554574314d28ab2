import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ICBM_FAMILY, IcbmSubtype } from '../../wire/families/icbm.js';
import { FakeLink, fakeEngine } from '../testing/fakes.js';
import { clientReady, OFFLINE_PACE_BYTES, startSession } from './lifecycle.js';

/** A link whose socket "closes" after `open` SNACs: later sends are refused, as a closed connection's are. */
class ClosingLink extends FakeLink {
  constructor(private open: number) {
    super();
  }
  override sendSnac(...args: Parameters<FakeLink['sendSnac']>): boolean {
    if (this.open-- <= 0) return false;
    return super.sendSnac(...args);
  }
}

async function enqueue(engine: ReturnType<typeof fakeEngine>['engine'], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await engine.ports.offline.enqueue({ recipient: 'bob', sender: 'alice', channel: 1, cookie: new Uint8Array(8).fill(i), payload: new Uint8Array(0), sentAt: i }, 500);
  }
}

test('offline IMs are fetched, written, then acked: all of them when the socket takes them', async () => {
  const { engine, state } = fakeEngine(['alice', 'bob']);
  await enqueue(engine, 3);
  const link = new FakeLink();
  await clientReady(engine, await startSession(engine, { screenName: 'bob', multiConn: 0 }, link));
  assert.equal(link.of(ICBM_FAMILY, IcbmSubtype.CHANNEL_MSG_TO_CLIENT).length, 3);
  assert.equal(state.offline.get('bob')?.length ?? 0, 0);
});

test('offline IMs the closed connection refused stay stored for the next sign-on', async () => {
  const { engine, state } = fakeEngine(['alice', 'bob']);
  await enqueue(engine, 3);
  const link = new ClosingLink(1);
  await clientReady(engine, await startSession(engine, { screenName: 'bob', multiConn: 0 }, link));
  assert.equal(link.of(ICBM_FAMILY, IcbmSubtype.CHANNEL_MSG_TO_CLIENT).length, 1);
  assert.deepEqual(state.offline.get('bob')?.map((m) => m.sentAt), [1, 2]);
});

test('a round the connection dropped under it (a slow reader\'s socket is destroyed with its unsent output) is not acked', async () => {
  const { engine, state } = fakeEngine(['alice', 'bob']);
  await enqueue(engine, 3);
  // The real connection takes every SNAC until the one that overflows it, then destroys the socket with all of them.
  const link = new (class extends FakeLink {
    override sendSnac(...args: Parameters<FakeLink['sendSnac']>): boolean {
      if (args[0] === ICBM_FAMILY && this.of(ICBM_FAMILY, IcbmSubtype.CHANNEL_MSG_TO_CLIENT).length === 1) this.closed = true;
      return super.sendSnac(...args);
    }
  })();
  await clientReady(engine, await startSession(engine, { screenName: 'bob', multiConn: 0 }, link));
  assert.ok(link.of(ICBM_FAMILY, IcbmSubtype.CHANNEL_MSG_TO_CLIENT).length >= 2, 'handed to the connection');
  assert.deepEqual(state.offline.get('bob')?.map((m) => m.sentAt), [0, 1, 2], 'all still stored for the next sign-on');
});

test('offline IMs wait while the connection is backed up, and go once the client reads', async () => {
  const { engine, state } = fakeEngine(['alice', 'bob']);
  await enqueue(engine, 120);
  const link = new FakeLink();
  link.pendingOutput = OFFLINE_PACE_BYTES + 1;
  const session = await startSession(engine, { screenName: 'bob', multiConn: 0 }, link);
  const ready = clientReady(engine, session);
  let settled = false;
  void ready.then(() => { settled = true; });
  // Several polls pass: nothing is written while it is backed up, and nothing is acked.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(link.of(ICBM_FAMILY, IcbmSubtype.CHANNEL_MSG_TO_CLIENT).length, 0);
  assert.equal(state.offline.get('bob')?.length, 120);
  assert.equal(settled, false, 'still waiting for the client');
  link.pendingOutput = 0;
  await ready;
  assert.equal(link.of(ICBM_FAMILY, IcbmSubtype.CHANNEL_MSG_TO_CLIENT).length, 120);
  assert.equal(state.offline.get('bob')?.length ?? 0, 0);
});

test('a connection that backs up mid-round gets the rest of the round later, in order, each IM once', async () => {
  const { engine, state } = fakeEngine(['alice', 'bob']);
  await enqueue(engine, 80);
  // The client stops reading after 30 IMs, then reads again a little later.
  const link = new (class extends FakeLink {
    override sendSnac(...args: Parameters<FakeLink['sendSnac']>): boolean {
      const ok = super.sendSnac(...args);
      if (this.of(ICBM_FAMILY, IcbmSubtype.CHANNEL_MSG_TO_CLIENT).length === 30) {
        this.pendingOutput = OFFLINE_PACE_BYTES + 1;
        setTimeout(() => { this.pendingOutput = 0; }, 50);
      }
      return ok;
    }
  })();
  await clientReady(engine, await startSession(engine, { screenName: 'bob', multiConn: 0 }, link));
  const cookies = link.of(ICBM_FAMILY, IcbmSubtype.CHANNEL_MSG_TO_CLIENT).map((s) => s.body[0]);
  assert.deepEqual(cookies, Array.from({ length: 80 }, (_, i) => i));
  assert.equal(state.offline.get('bob')?.length ?? 0, 0);
});
