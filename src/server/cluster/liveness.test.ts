import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeLiveness } from './liveness.js';
import { isNodeName, newNodeName } from './node-id.js';

test('a node is dead after deadAfterMs without a heartbeat; self is always alive', () => {
  let t = 1000;
  const l = new NodeLiveness({ self: 'b', deadAfterMs: 3000, now: () => t });
  l.heard('a');
  l.heard('c');
  t += 2999;
  assert.deepEqual(l.dead(['a', 'b', 'c']), []);
  l.heard('c');
  t += 1;
  assert.deepEqual(l.dead(['a', 'b', 'c', 'a']), ['a']);
  t += 10_000;
  assert.equal(l.alive('b'), true);
  assert.deepEqual(l.dead(['a', 'c']), ['a', 'c']);
});

test('a node never heard from counts from our start (it may have died before we came up)', () => {
  let t = 0;
  const l = new NodeLiveness({ self: 'me', deadAfterMs: 3000, now: () => t });
  assert.deepEqual(l.dead(['ghost']), [], 'not before the threshold');
  t = 3000;
  assert.deepEqual(l.dead(['ghost']), ['ghost']);
});

test('the reaper is the live node with the smallest name', () => {
  let t = 0;
  const l = new NodeLiveness({ self: 'n2', deadAfterMs: 3000, now: () => t });
  assert.equal(l.isReaper(), true, 'alone');
  l.heard('n3');
  assert.equal(l.isReaper(), true);
  l.heard('n1');
  assert.equal(l.isReaper(), false);
  t = 5000;
  l.heard('n3');
  assert.equal(l.isReaper(), true, 'n1 went silent');
  l.heard('n1');
  l.forget('n1');
  assert.equal(l.isReaper(), true);
});

test('node names are subject tokens, unique per process start', () => {
  const a = newNodeName('host.example.com', 42, new Uint8Array([1, 2, 3, 4]));
  assert.equal(a, 'host_example_com-42-01020304');
  assert.ok(isNodeName(a));
  assert.ok(isNodeName(newNodeName('', 1)));
  assert.notEqual(newNodeName('h', 1), newNodeName('h', 1));
  assert.equal(isNodeName('a.b'), false);
  assert.equal(isNodeName('a>'), false);
});

test('isLive: only a node heard from and not silent too long (never this node; a never-heard node is not live yet)', () => {
  let t = 0;
  const l = new NodeLiveness({ self: 'me', deadAfterMs: 3000, now: () => t });
  assert.equal(l.alive('new'), true, 'within the start grace a never-heard node is not counted dead...');
  assert.equal(l.isLive('new'), false, '...but it is not known to be live');
  l.heard('new');
  assert.equal(l.isLive('new'), true);
  assert.equal(l.isLive('me'), false);
  t = 3000;
  assert.equal(l.isLive('new'), false);
  assert.deepEqual(l.liveNodes(), []);
});
