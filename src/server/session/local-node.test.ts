import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from '../cluster/directory.js';
import { fakeEngine, readySession } from '../testing/fakes.js';
import { LocalNode } from './local-node.js';

const CAP = '47f62da05b2447fa8e2cf5bc66061803';
const snac = (extra: Partial<Envelope> = {}): Envelope => ({ delivery: { kind: 'snac', family: 4, subtype: 7, body: Uint8Array.of(1, 2) }, ...extra });

function setup() {
  const { engine } = fakeEngine(['bob', 'alice']);
  const bob = readySession(engine, 'bob', 1);
  const node = new LocalNode(engine.registry, engine.presence);
  return { engine, bob, node };
}

const cases: Array<{ name: string; prepare?: (s: ReturnType<typeof setup>) => void; envelope: (s: ReturnType<typeof setup>) => Envelope; accepted: boolean }> = [
  { name: 'a plain delivery', envelope: () => snac(), accepted: true },
  { name: 'the excluded session', envelope: ({ bob }) => snac({ except: bob.session.address }), accepted: false },
  { name: 'another service', envelope: () => snac({ service: 'chat' }), accepted: false },
  { name: 'the same service', envelope: () => snac({ service: 'bos' }), accepted: true },
  { name: 'a sender the session blocks', prepare: ({ bob }) => void (bob.session.privacy = { mode: 4, permit: new Set(), deny: new Set(['alice']) }), envelope: () => snac({ from: 'alice' }), accepted: false },
  { name: 'a sender the session allows', envelope: () => snac({ from: 'alice' }), accepted: true },
  { name: 'a capability the session lacks', envelope: () => snac({ capability: CAP }), accepted: false },
  { name: 'a capability the session has', prepare: ({ bob }) => void (bob.session.capabilities = [Buffer.from(CAP, 'hex')]), envelope: () => snac({ capability: CAP }), accepted: true },
  { name: 'a session not ready yet', prepare: ({ bob }) => void (bob.session.ready = false), envelope: () => snac(), accepted: false },
  { name: 'a session not ready yet, includeNotReady', prepare: ({ bob }) => void (bob.session.ready = false), envelope: () => snac({ includeNotReady: true }), accepted: true },
  { name: 'a closed session', prepare: ({ bob }) => void (bob.session.closed = true), envelope: () => snac(), accepted: false },
];

for (const c of cases) {
  test(`local delivery filter: ${c.name}`, () => {
    const s = setup();
    c.prepare?.(s);
    assert.equal(s.node.deliver(s.bob.session.id, c.envelope(s)), c.accepted);
    assert.equal(s.bob.link.of(4, 7).length, c.accepted ? 1 : 0);
  });
}

test('an unknown session id is not delivered', () => {
  const { node } = setup();
  assert.equal(node.deliver('nope', snac()), false);
});

test('sign-off: reason for multi-conn clients, bare ch-4 for clients without the flag; the session is closed at once', () => {
  const { engine, bob, node } = setup();
  assert.equal(node.deliver(bob.session.id, { delivery: { kind: 'sign-off', reason: 1 } }), true);
  assert.deepEqual(bob.link.signOffs, [1]);
  assert.equal(bob.session.closed, true);
  assert.equal(node.deliver(bob.session.id, snac()), false, 'nothing reaches a session being signed off');
  const classic = readySession(engine, 'alice', 0);
  node.deliver(classic.session.id, { delivery: { kind: 'sign-off', reason: 1 } });
  assert.deepEqual(classic.link.signOffs, [undefined]);
});

test('a fault in a link is contained: false, never a throw into the directory', () => {
  const { bob, node } = setup();
  bob.link.sendSnac = () => {
    throw new Error('boom');
  };
  assert.equal(node.deliver(bob.session.id, snac()), false);
});
