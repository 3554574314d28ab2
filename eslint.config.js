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

/** Portable-core blocks: the layer's own forbidden imports plus every node: module, and no Buffer global. */
const portable = (groups, ignores) => groups.map(([files, forbidden]) => ({
  files,
  ignores,
  rules: {
    'no-restricted-imports': ['error', { patterns: [
      { group: forbidden, message: 'Layering: see ARCHITECTURE.md, "What each layer may import".' },
      { group: ['node:*'], message: 'Portable core: no node: modules (the web client runs it). Put Node code in src/client/node/ or src/pki/cms/node-crypto.ts.' },
    ] }],
    'no-restricted-globals': ['error', { name: 'Buffer', message: 'Portable core: use Uint8Array and the helpers in src/wire/bytes.ts.' }],
  },
}));

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
  // The portable core (ARCHITECTURE.md, "Portable core"): runs unchanged in a browser, so no node: module and no
  // Buffer. Node's implementations live in the files ignored here (src/client/node/, src/pki/cms/node-crypto.ts ...).
  // Each block repeats its layer's list: a later block with the same rule replaces the earlier one for its files.
  ...portable([
    [['src/wire/**/*.ts'], ['**/pki/**', '**/store/**', '**/server/**', '**/client/**', '**/cli/**']],
    [['src/pki/cms/**/*.ts', 'src/pki/asn1/**/*.ts', 'src/pki/screen-name.ts', 'src/pki/fingerprint.ts',
      'src/pki/pkcs12-codec.ts', 'src/pki/pkcs12-webcrypto.ts', 'src/pki/pkcs12-kdf.ts', 'src/pki/pbe-limits.ts'], ['**/store/**', '**/server/**', '**/client/**', '**/cli/**']],
    [['src/client/**/*.ts'], ['**/server/**', '**/store/**', '**/cli/**']],
  // Node-only parts inside the portable directories: peer connections (TCP/TLS sockets and files, which a browser
  // cannot open), chat rooms and their crypto (the aim room profile needs PKCS#1 v1.5 and MD5, which WebCrypto lacks;
  // ARCHITECTURE.md "Portable core" says what porting the certim room profile takes).
  ], ['src/**/*.test.ts', 'src/**/*.test-support.ts', 'src/client/node/**', 'src/pki/cms/node-crypto.ts', 'src/pki/cms/rsa-pkcs1-unwrap.ts', 'src/pki/cms/rsa-pkcs1-verify.ts', 'src/pki/cms/minimal-trust.ts',
    'src/client/peer/**', 'src/client/rooms/**', 'src/pki/cms/secure-room.ts']),
  // The web client (web/src) runs in the browser: browser globals, and only the portable layers of src/.
  {
    ...layer(['web/src/**/*.{ts,tsx}'], ['node:*', '**/server/**', '**/store/**', '**/cli/**', '**/client/node/**', 'ws'],
      'web/ runs in a browser: no node: modules, and only wire/, pki/ and the portable client/ (ARCHITECTURE.md, Web client).'),
    languageOptions: { globals: { window: 'readonly', document: 'readonly', location: 'readonly', navigator: 'readonly', crypto: 'readonly', indexedDB: 'readonly', fetch: 'readonly', btoa: 'readonly', atob: 'readonly', Notification: 'readonly', WebSocket: 'readonly', FormData: 'readonly', URLSearchParams: 'readonly', HTMLFormElement: 'readonly', HTMLInputElement: 'readonly', HTMLTextAreaElement: 'readonly', HTMLOListElement: 'readonly', Event: 'readonly', CryptoKey: 'readonly' } },
  },
);
