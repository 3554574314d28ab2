import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SERVICES } from './index.js';
import { bosService } from './bos.js';
import { ServiceTable } from './service.js';

const key = (family: number, subtype: number): number => (family << 16) | subtype;

test('BOS pipelines exactly the ICBM SNACs that only deliver: 04/06, 04/0B, 04/14; the other services none', () => {
  const table = new ServiceTable(DEFAULT_SERVICES);
  assert.deepEqual([...table.get('bos')!.pipelined].sort((a, b) => a - b), [key(4, 0x06), key(4, 0x0b), key(4, 0x14)]);
  for (const id of ['chatnav', 'chat'] as const) assert.equal(table.get(id)?.pipelined.size, 0, id);
});

test('a family that pipelines a subtype it has no handler for is refused when the table is built', () => {
  const broken = { ...bosService, id: 'broken', families: [{ family: 0x0004, version: 1, handlers: { 6: () => {} }, pipelined: [6, 7] }] };
  assert.throws(() => new ServiceTable([broken]), /pipelines subtype 7/);
});
