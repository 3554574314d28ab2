/** The web client's size as a browser downloads it: every file the page loads, gzipped (test and bench share it). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_WEB_ROOT } from '../../src/server/http/web-assets.js';

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
