import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultEngineConfig } from './config.js';
import { redirectAddress } from './handler-env.js';

test('redirectAddress sends a client back to the listener kind it came in on (WebSocket: the HTTPS port)', () => {
  const env = { config: { ...defaultEngineConfig(), advertisedHost: 'chat.example.org' }, boundPorts: { plain: 5190, tls: 5191, ws: 8443 } };
  assert.equal(redirectAddress(env, 'tcp'), 'chat.example.org:5190');
  assert.equal(redirectAddress(env, 'tls'), 'chat.example.org:5191');
  assert.equal(redirectAddress(env, 'ws'), 'chat.example.org:8443');
});
