import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { createWebSocketEndpoint, isOwnOrigin } from './ws-endpoint.js';

const HOSTS = ['chat.example.org', 'localhost', '127.0.0.1', '::1'];

test('isOwnOrigin: only https, exactly the Host the request went to, and a name of the server certificate', () => {
  const cases: Array<[origin: string | undefined, host: string | undefined, ok: boolean, why: string]> = [
    ['https://chat.example.org:8443', 'chat.example.org:8443', true, 'own origin'],
    ['https://CHAT.example.org:8443', 'chat.example.org:8443', true, 'case-insensitive host'],
    ['https://chat.example.org', 'chat.example.org', true, 'default port on both sides'],
    ['https://chat.example.org:443', 'chat.example.org', false, 'not the serialized origin (browsers drop :443)'],
    ['https://127.0.0.1:8443', '127.0.0.1:8443', true, 'IPv4 literal'],
    ['https://[::1]:8443', '[::1]:8443', true, 'IPv6 literal'],
    ['https://evil.example', 'chat.example.org:8443', false, 'cross-site page'],
    ['https://evil.example:8443', 'evil.example:8443', false, 'rebinding name: same host, not ours'],
    ['http://chat.example.org:8443', 'chat.example.org:8443', false, 'plain http page'],
    ['https://chat.example.org:9443', 'chat.example.org:8443', false, 'other port, other origin'],
    ['https://localhost:8443', '127.0.0.1:8443', false, 'another of our names, but not the Host asked for'],
    ['null', 'chat.example.org:8443', false, 'opaque origin (sandboxed frame, file:)'],
    [undefined, 'chat.example.org:8443', false, 'no Origin'],
    ['https://chat.example.org:8443', undefined, false, 'no Host'],
    ['https://chat.example.org:8443/app', 'chat.example.org:8443', false, 'a path is not an origin'],
    ['https://chat.example.org:8443', 'chat.example.org:8443/x', false, 'a path in Host'],
    ['https://user@chat.example.org:8443', 'chat.example.org:8443', false, 'credentials'],
    ['https://chat.example.org.evil.example:8443', 'chat.example.org.evil.example:8443', false, 'suffix trick'],
  ];
  for (const [origin, host, ok, why] of cases) assert.equal(isOwnOrigin(origin, host, HOSTS), ok, why);
});

test('an upgrade to an unparsable target is refused with 404, not thrown', () => {
  const written: string[] = [];
  const socket = new Duplex({ read() {}, write(chunk: Buffer, _e, cb) { written.push(chunk.toString()); cb(); } });
  const engine = { config: { maxFrameSize: 65541 }, log: () => {}, clock: { now: () => 0 }, counters: { limitDisconnects: 0 } };
  const ep = createWebSocketEndpoint({ oscar: { engine: engine as never, attach: () => true }, allowedHosts: ['localhost'] });
  const req = { url: '//:', headers: { origin: 'https://localhost', host: 'localhost' }, socket: { remoteAddress: '10.0.0.1' } };
  ep.handleUpgrade(req as never, socket, Buffer.alloc(0));
  assert.match(written.join(''), /^HTTP\/1\.1 404 [^\r]*\r\n[\s\S]*WS_NOT_FOUND\n$/);
  assert.equal(ep.counters.wsRefused, 1);
});
