import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { encodeOdcHeader, OdcFlag } from '../../wire/odc.js';
import { DirectImSession, type DirectIncomingIm } from './odc-session.js';
import { makeTestCa, testPeerIdentity, tlsPair, type TestPeerIdentity } from './odc-tls-pair.test-support.js';
import type { TestCa } from '../../pki/test-ca.test-support.js';

const COOKIE = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
let ca: TestCa;
let alice: TestPeerIdentity;
let bob: TestPeerIdentity;

before(async () => {
  ca = await makeTestCa('odc');
  [alice, bob] = await Promise.all([testPeerIdentity(ca, 'alice'), testPeerIdentity(ca, 'bob')]);
});

async function sessions(): Promise<{ a: DirectImSession; b: DirectImSession; close(): void }> {
  const p = await tlsPair(ca, alice, bob);
  // alice proposed (she listens), bob accepted (he connects and confirms).
  const a = new DirectImSession({ stream: p.server, screenName: 'alice', cookie: COOKIE, role: 'proposer', peer: { screenName: 'bob', fingerprint: p.clientSeen, trust: 'ca' } });
  const b = new DirectImSession({ stream: p.client, screenName: 'bob', cookie: COOKIE, role: 'acceptor', peer: { screenName: 'alice', fingerprint: p.serverSeen, trust: 'personal' } });
  await Promise.all([a.ready(), b.ready()]);
  return { a, b, close: p.close };
}

test('Direct IM over TLS: confirmation, messages both ways (ASCII and UTF-16), typing, verdict from the pinned peer', async () => {
  const { a, b, close } = await sessions();
  try {
    const gotB = once(b, 'im') as Promise<[DirectIncomingIm]>;
    await a.send('hello bob');
    const [m1] = await gotB;
    assert.deepEqual([m1.from, m1.text, m1.verdict, m1.trust, m1.direct, m1.secure, m1.code], ['alice', 'hello bob', 'verified', 'personal', true, true, 'direct-tls']);
    assert.match(m1.reason, /pinned to alice's certificate/);
    const gotA = once(a, 'im') as Promise<[DirectIncomingIm]>;
    await b.send('grüße, 👋');
    assert.equal((await gotA)[0].text, 'grüße, 👋');
    const typing = once(a, 'typing');
    b.typing('typing');
    assert.deepEqual((await typing)[0], { from: 'bob', event: 'typing' });
  } finally {
    close();
  }
});

test('closing one side ends the other with an orderly close; sending afterwards fails with CONNECTION_CLOSED', async () => {
  const { a, b, close } = await sessions();
  try {
    const closed = once(b, 'closed');
    a.close();
    assert.equal((await closed)[0].error, undefined);
    assert.equal(b.isOpen, false);
    await assert.rejects(b.send('anyone?'), (e: Error & { code?: string }) => e.code === 'CONNECTION_CLOSED');
  } finally {
    close();
  }
});

test('the proposer refuses a first header with the wrong cookie, one naming someone else, and a message before the confirmation', async () => {
  for (const bad of [
    encodeOdcHeader({ cookie: Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9]), flags: OdcFlag.Confirmation | OdcFlag.ConfirmationExtra, screenName: 'bob' }),
    encodeOdcHeader({ cookie: COOKIE, flags: OdcFlag.Confirmation | OdcFlag.ConfirmationExtra, screenName: 'mallory' }),
    Uint8Array.from([...encodeOdcHeader({ screenName: 'bob', payloadLength: 2 }), 0x68, 0x69]), // a message before the confirmation
  ]) {
    const p = await tlsPair(ca, alice, bob);
    try {
      const a = new DirectImSession({ stream: p.server, screenName: 'alice', cookie: COOKIE, role: 'proposer', peer: { screenName: 'bob', fingerprint: p.clientSeen, trust: 'ca' } });
      p.client.write(bad);
      await assert.rejects(a.ready(), (e: Error & { code?: string }) => e.code === 'PROTOCOL');
      assert.equal(a.isOpen, false);
    } finally {
      p.close();
    }
  }
});

test('a message over the size limit closes the connection before its payload is buffered', async () => {
  const p = await tlsPair(ca, alice, bob);
  try {
    const a = new DirectImSession({ stream: p.server, screenName: 'alice', cookie: COOKIE, role: 'proposer', maxPayload: 1000, peer: { screenName: 'bob', fingerprint: p.clientSeen, trust: 'ca' } });
    p.client.write(encodeOdcHeader({ cookie: COOKIE, flags: 0x60, screenName: 'bob' }));
    await a.ready();
    const closed = once(a, 'closed');
    p.client.write(encodeOdcHeader({ screenName: 'bob', payloadLength: 50_000_000 }));
    const [{ error }] = await closed;
    assert.match(String(error?.message), /over 1000 bytes/);
  } finally {
    p.close();
  }
});

test('the proposer gives up when no confirmation comes', async () => {
  const p = await tlsPair(ca, alice, bob);
  try {
    const a = new DirectImSession({ stream: p.server, screenName: 'alice', cookie: COOKIE, role: 'proposer', confirmTimeoutMs: 50, peer: { screenName: 'bob', fingerprint: p.clientSeen, trust: 'ca' } });
    await assert.rejects(a.ready(), (e: Error & { code?: string }) => e.code === 'TIMEOUT');
  } finally {
    p.close();
  }
});

test('attachments are cut off and said so', async () => {
  const { a, b, close } = await sessions();
  try {
    const got = once(b, 'im') as Promise<[DirectIncomingIm]>;
    await a.send('look<BINARY><DATA ID="1" SIZE="3">abc</DATA></BINARY>');
    const [m] = await got;
    assert.equal(m.text, 'look');
    assert.match(m.reason, /attachments are not supported/);
  } finally {
    close();
  }
});
