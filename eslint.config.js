// Lint runs in `npm test`; type errors are caught by `npm run typecheck`.
// The layer rules below enforce ARCHITECTURE.md's import table, so a layering mistake fails CI.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, why) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: forbidden, message: why }] }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', clearImmediate: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', queueMicrotask: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', structuredClone: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // First, so the layer rules below (same rule name: a later block replaces it for their files) keep their own lists.
  {
    ...layer(['src/server/**/*.ts', 'src/cli/**/*.ts'], ['pino', 'pino-pretty', 'pino/*'],
      'Log through the Logger port (src/server/log.ts); only src/server/log-sink.ts knows pino (ARCHITECTURE.md, Logging).'),
    ignores: ['src/server/log-sink.ts'],
  },
  layer(['src/wire/**/*.ts'], ['**/pki/**', '**/store/**', '**/server/**', '**/client/**', '**/cli/**', 'node:net', 'node:tls', 'node:fs', 'node:fs/*', 'node:http', 'node:https'],
    'wire/ is pure bytes <-> values: no I/O and no other src/ layer (ARCHITECTURE.md).'),
  layer(['src/pki/**/*.ts'], ['**/store/**', '**/server/**', '**/client/**', '**/cli/**', 'node:net', 'node:tls', 'node:http', 'node:https'],
    'pki/ may import only wire/ (ARCHITECTURE.md).'),
  layer(['src/store/**/*.ts'], ['**/server/**', '**/client/**', '**/cli/**'],
    'store/ may import only wire/ and pki/ interfaces (ARCHITECTURE.md).'),
  layer(['src/server/families/**/*.ts'], ['**/store/**', '**/net/**', 'node:net', 'node:tls', 'node:fs'],
    'Families talk to ports (server/ports.ts), never to sockets or a concrete store (handlers return replies; consumers own their interfaces).'),
  layer(['src/client/**/*.ts'], ['**/server/**', '**/store/**', '**/cli/**'],
    'client/ may import only wire/ and pki/ (the web client reuses it).'),
  // The web client (web/src) runs in the browser: browser globals, and only the portable layers of src/.
  {
    ...layer(['web/src/**/*.{ts,tsx}'], ['node:*', '**/server/**', '**/store/**', '**/cli/**', '**/client/node/**', 'ws'],
      'web/ runs in a browser: no node: modules, and only wire/, pki/ and the portable client/ (ARCHITECTURE.md, Web client).'),
    languageOptions: { globals: { window: 'readonly', document: 'readonly', location: 'readonly', navigator: 'readonly', crypto: 'readonly', indexedDB: 'readonly', fetch: 'readonly', btoa: 'readonly', atob: 'readonly', Notification: 'readonly', WebSocket: 'readonly', FormData: 'readonly', URLSearchParams: 'readonly', HTMLFormElement: 'readonly', HTMLInputElement: 'readonly', HTMLTextAreaElement: 'readonly', HTMLOListElement: 'readonly', Event: 'readonly', CryptoKey: 'readonly' } },
  },
);
