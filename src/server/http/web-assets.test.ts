import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, loadWebAssets } from './web-assets.js';

test('loads the built files by URL path, index.html also as /, hashed assets immutable, unknown types left out', () => {
  const root = mkdtempSync(join(tmpdir(), 'certim-web-'));
  try {
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log("hello");'.repeat(50));
    writeFileSync(join(root, 'assets', 'notes.map'), '{}');
    const m = loadWebAssets(root);
    assert.deepEqual([...m.keys()].sort(), ['/', '/assets/index-abc.js', '/index.html']);
    assert.equal(m.get('/'), m.get('/index.html'));
    assert.equal(m.get('/')!.html, true);
    assert.equal(m.get('/assets/index-abc.js')!.cache, 'public, max-age=31536000, immutable');
    assert.equal(m.get('/index.html')!.cache, 'no-cache');
    const js = m.get('/assets/index-abc.js')!;
    assert.equal(js.type, 'text/javascript; charset=utf-8');
    assert.deepEqual(new Uint8Array(gunzipSync(js.gzip!)), js.body);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a missing build directory serves nothing (the placeholder page stays)', () => {
  assert.equal(loadWebAssets(join(tmpdir(), 'certim-no-such-dir-for-web')).size, 0);
});

test('Accept-Encoding: gzip only when offered and not refused with q=0', () => {
  assert.equal(acceptsGzip('gzip, deflate, br'), true);
  assert.equal(acceptsGzip('br;q=1, gzip;q=0.5'), true);
  assert.equal(acceptsGzip('gzip;q=0'), false);
  assert.equal(acceptsGzip('identity'), false);
  assert.equal(acceptsGzip(undefined), false);
  assert.equal(acceptsGzip('*'), true);
});
