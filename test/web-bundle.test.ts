/**
 * The built web client (dist/web, made by `npm run build`, which `npm ci` runs): gzipped, everything a first visit
 * loads stays under 200 KB, the page has no inline script (the CSP forbids it), and every file the page names exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_WEB_ROOT, loadWebAssets } from '../src/server/http/web-assets.js';

/** The budget for the whole app, gzipped. */
export const WEB_BUNDLE_BUDGET = 200 * 1024;

/** Gzipped size of every file the page loads (index.html and the assets it names). */
export function webBundleSize(root = DEFAULT_WEB_ROOT): { files: Record<string, number>; total: number } {
  const html = readFileSync(join(root, 'index.html'), 'utf8');
  const names = ['/index.html', ...[...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!)];
  const files: Record<string, number> = {};
  for (const n of names) files[n] = gzipSync(readFileSync(join(root, n)), { level: 9 }).length;
  return { files, total: Object.values(files).reduce((a, b) => a + b, 0) };
}

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
