import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tuneServerHeap } from './heap-tuning.js';

test('tuneServerHeap sets the growing factor unless node was given its own --heap-growing-percent', () => {
  assert.equal(tuneServerHeap(['--heap-growing-percent=0']), false);
  assert.equal(tuneServerHeap(['--enable-source-maps', '--heap_growing_percent=50']), false);
  assert.equal(tuneServerHeap(['--enable-source-maps']), true);
});
