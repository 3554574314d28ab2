import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GETFILE_MAX_DEPTH, parseUserPath, pathProblem, segmentProblem, showPath } from './getfile-paths.js';

test('path rules: plain names pass; traversal, separators, control characters, device names and odd endings do not', () => {
  for (const ok of ['a.txt', 'Read Me', 'über.txt', '.hidden', 'con-fig', 'com10', 'x'.repeat(255)]) assert.equal(segmentProblem(ok), undefined, ok);
  const bad: [string, RegExp][] = [
    ['', /empty/], ['.', /"\." segment/], ['..', /"\.\." segment/], ['a/b', /separator/], ['a\\b', /separator/],
    ['a\x00b', /control/], ['a\x01b', /control/], ['C:', /refuse/], ['a?', /refuse/], ['CON', /device/], ['nul.txt', /device/],
    ['LPT1', /device/], ['com3.log', /device/], ['trail.', /dot or a space/], ['trail ', /dot or a space/], ['x'.repeat(256), /over 255 bytes/],
  ];
  for (const [name, why] of bad) assert.match(segmentProblem(name) ?? '', why, JSON.stringify(name));
  assert.equal(pathProblem([]), undefined);
  assert.match(pathProblem(new Array<string>(GETFILE_MAX_DEPTH + 1).fill('a')) ?? '', /deeper/);
  assert.match(pathProblem(['docs', '..', 'etc']) ?? '', /"\.\." segment/);
});

test('user paths: slashes of either kind split, . and .. are kept for the check to refuse', () => {
  assert.deepEqual(parseUserPath('/docs//a.txt'), ['docs', 'a.txt']);
  assert.deepEqual(parseUserPath('docs\\..\\x'), ['docs', '..', 'x']);
  assert.deepEqual(parseUserPath(''), []);
  assert.equal(showPath([]), '/');
  assert.equal(showPath(['a', 'b']), '/a/b');
});
