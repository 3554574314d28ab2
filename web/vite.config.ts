// Builds the web client (ARCHITECTURE.md "Web client") into dist/web, served by the server's HTTPS listener.
// The page must run under a strict CSP (docs/protocol.md §14.4): no inline script or style, so Vite's module
// preload polyfill (an inline helper in some setups) is off and every asset is a same-origin file.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: 'public',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
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
