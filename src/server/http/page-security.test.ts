import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy, pageSecurityHeaders } from './page-security.js';

test('the CSP allows only this origin, no inline script, no framing, and the same-origin wss', () => {
  const csp = contentSecurityPolicy('chat.example.org:8443');
  const d = new Map(csp.split('; ').map((p) => [p.split(' ')[0]!, p.split(' ').slice(1)] as const));
  assert.deepEqual(d.get('default-src'), ["'self'"]);
  assert.deepEqual(d.get('script-src'), ["'self'"]);
  assert.deepEqual(d.get('connect-src'), ["'self'", 'wss://chat.example.org:8443']);
  assert.deepEqual(d.get('frame-ancestors'), ["'none'"]);
  assert.deepEqual(d.get('object-src'), ["'none'"]);
  assert.doesNotMatch(csp, /unsafe|\*|http:/);
});

test('a Host header that is not a plain host[:port] is never echoed into the policy', () => {
  for (const bad of ['evil.example; script-src *', 'a b', 'x\r\ny', '', 'h:port', 'https://x']) {
    assert.equal(contentSecurityPolicy(bad).includes('wss://'), false, bad);
  }
  assert.match(contentSecurityPolicy('[::1]:8443'), /connect-src 'self' wss:\/\/\[::1\]:8443/);
});

test('page headers: HSTS, nosniff, no-referrer, DENY framing', () => {
  const h = pageSecurityHeaders('localhost:8443');
  assert.match(h['Strict-Transport-Security']!, /^max-age=\d+$/);
  assert.equal(h['X-Content-Type-Options'], 'nosniff');
  assert.equal(h['Referrer-Policy'], 'no-referrer');
  assert.equal(h['X-Frame-Options'], 'DENY');
});
