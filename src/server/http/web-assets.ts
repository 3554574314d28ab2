/**
 * The web client's static files (docs/protocol.md §18.1), built by `npm run build` into dist/web and served by the
 * HTTPS listener from memory: read once at start (the whole app is a few hundred kilobytes), each file also kept
 * gzipped for clients that accept it. Only the files found at start are served — no path from a request ever
 * reaches the file system. HTML goes out with the page security headers (page-security.ts) and `no-cache`; the
 * content-hashed files under /assets/ are immutable.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Where `npm run build` writes the app: `<package root>/dist/web` (this file sits two levels below src/ or dist/). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/** One servable file. */
export interface WebAsset {
  /** Content-Type. */
  type: string;
  /** The bytes. */
  body: Uint8Array;
  /** The bytes gzipped, when that is smaller. */
  gzip: Uint8Array | undefined;
  /** Cache-Control. */
  cache: string;
  /** True for HTML documents (sent with the page security headers). */
  html: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Largest total the server will hold in memory for the app (a sanity bound, far above its size). */
const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

/**
 * Loads every file under `root` into a map keyed by URL path (`/index.html` also as `/`). Returns an empty map
 * when the directory does not exist (the app was not built: `/` serves the placeholder page).
 */
export function loadWebAssets(root: string = DEFAULT_WEB_ROOT): Map<string, WebAsset> {
  const out = new Map<string, WebAsset>();
  let total = 0;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) {
        walk(path);
        continue;
      }
      const ext = /\.[a-z0-9]+$/i.exec(name)?.[0]?.toLowerCase() ?? '';
      const type = TYPES[ext];
      if (!type) continue;
      total += st.size;
      if (total > MAX_TOTAL_BYTES) throw new Error(`the web client in ${root} is larger than ${MAX_TOTAL_BYTES} bytes`);
      const body = new Uint8Array(readFileSync(path));
      const gz = new Uint8Array(gzipSync(body, { level: 9 }));
      const urlPath = `/${relative(root, path).split(sep).join('/')}`;
      const html = ext === '.html';
      out.set(urlPath, {
        type,
        body,
        gzip: gz.length < body.length ? gz : undefined,
        cache: urlPath.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        html,
      });
    }
  };
  try {
    if (!statSync(root).isDirectory()) return out;
  } catch {
    return out;
  }
  walk(root);
  const index = out.get('/index.html');
  if (index) out.set('/', index);
  return out;
}

/** True when the request's Accept-Encoding allows gzip (q=0 refuses it). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const v = Array.isArray(header) ? header.join(',') : header ?? '';
  for (const part of v.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !(q && Number(q.slice(2)) === 0);
  }
  return false;
}
