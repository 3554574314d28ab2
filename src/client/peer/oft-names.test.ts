import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsafeNameError, safeNameParts } from './oft-names.js';

test('offered names: plain relative paths are accepted, split on 0x01', () => {
  assert.deepEqual(safeNameParts('report.pdf'), ['report.pdf']);
  assert.deepEqual(safeNameParts('photos\u00012026\u0001café.jpg'), ['photos', '2026', 'café.jpg']);
});

test('offered names: traversal, absolute paths, device names, control characters and NUL are refused with a reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['..\u0001..\u0001etc\u0001passwd', /climbs out/],
    ['../x', /path traversal/],
    ['a\u0001..', /climbs out/],
    ['/etc/passwd', /absolute/],
    ['\u0001etc', /empty path part/],
    ['C:\\Windows\\x.dll', /drive/],
    ['dir\\..\\x', /path traversal/],
    ['NUL', /device name/],
    ['com1.txt', /device name/],
    ['a\u0000b', /NUL or control/],
    ['a\nb', /NUL or control/],
    ['trailing.', /ends with a dot/],
    ['', /empty/],
    ['x'.repeat(300), /longer than/],
    ['.bashrc', /hidden name/],
    ['.ssh\u0001authorized_keys', /hidden name/],
    ['photos\u0001.config\u0001autostart\u0001x.desktop', /hidden name/],
  ];
  for (const [name, why] of cases) {
    assert.throws(() => safeNameParts(name), (e: unknown) => e instanceof UnsafeNameError && why.test(e.message), JSON.stringify(name));
  }
});
