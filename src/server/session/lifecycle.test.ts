import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ICBM_FAMILY, IcbmSubtype } from '../../wire/families/icbm.js';
import { FakeLink, fakeEngine } from '../testing/fakes.js';
import { clientReady, startSession } from './lifecycle.js';

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
