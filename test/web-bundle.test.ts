/**
 * The built web client (dist/web, made by `npm run build`, which `npm ci` runs): gzipped, everything a first visit
 * loads stays under 200 KB, the page has no inline script (the CSP forbids it), and every file the page names exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_WEB_ROOT, loadWebAssets } from '../src/server/http/web-assets.js';
import { WEB_BUNDLE_BUDGET, webBundleSize } from './support/web-bundle.js';

test('the web client is built, names only files that exist, and is under 200 KB gzipped', () => {
  assert.ok(existsSync(join(DEFAULT_WEB_ROOT, 'index.html')), `${DEFAULT_WEB_ROOT} has no index.html: run npm run build`);
  const html = readFileSync(join(DEFAULT_WEB_ROOT, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /<style/, 'no inline style');
  assert.doesNotMatch(html, /https?:\/\//, 'no third-party origin');
  const { files, total } = webBundleSize();
  assert.ok(Object.keys(files).some((f) => f.endsWith('.js')), 'the page loads a script');
  assert.ok(total < WEB_BUNDLE_BUDGET, `web client is ${total} bytes gzipped (${JSON.stringify(files)}), budget ${WEB_BUNDLE_BUDGET}`);
  const served = loadWebAssets();
  for (const f of Object.keys(files)) assert.ok(served.has(f), `the server serves ${f}`);
});
