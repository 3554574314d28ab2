import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tuneHeapForStreaming } from './heap-tuning.js';

test('tuneHeapForStreaming sets the growing factor unless node was given its own --heap-growing-percent', () => {
  assert.equal(tuneHeapForStreaming(['--heap-growing-percent=0']), false);
  assert.equal(tuneHeapForStreaming(['--enable-source-maps', '--heap_growing_percent=50']), false);
  assert.equal(tuneHeapForStreaming(['--enable-source-maps']), true);
});
