// Builds the web client (ARCHITECTURE.md "Web client") into dist/web, served by the server's HTTPS listener.
// The page must run under a strict CSP (docs/protocol.md §14.4): no inline script or style, so Vite's module
// preload polyfill (an inline helper in some setups) is off and every asset is a same-origin file.
import { defineConfig, type Plugin } from 'vite';
import { fileURLToPath } from 'node:url';

/** src/pki's crypto provider (node:crypto) and the browser's implementation of the calls the page needs. */
const NODE_PROVIDER = fileURLToPath(new URL('../src/pki/provider.ts', import.meta.url));
const BROWSER_PROVIDER = fileURLToPath(new URL('./src/platform/pki-provider.ts', import.meta.url));

/**
 * Swaps src/pki/provider.ts for web/src/platform/pki-provider.ts in the bundle, as a package's "browser" field
 * would: src/pki reads and verifies certificates through that one module, so the page runs the same verifier
 * without node:crypto. Exported for bench/web-client.bench.ts, which bundles a bench-only page the same way.
 */
export function browserPlatform(): Plugin {
  return {
    name: 'certim-browser-platform',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!importer || !source.endsWith('provider.js')) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      return resolved?.id === NODE_PROVIDER ? BROWSER_PROVIDER : null;
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: 'public',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  plugins: [browserPlatform()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
