import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uriHost } from './name-constraints.js';

test('uriHost: authority host for scheme://, the part after "@" for im: URIs, none otherwise', () => {
  assert.equal(uriHost('https://user@www.example.org:8443/x?y'), 'www.example.org');
  assert.equal(uriHost('ldap://[::1]/o=x'), '[::1]');
  assert.equal(uriHost('im:bob%20smith@example.org'), 'example.org');
  assert.equal(uriHost('IM:bob@Example.Org'), 'Example.Org');
  assert.equal(uriHost('im:bob'), undefined);
  assert.equal(uriHost('urn:uuid:1234'), undefined);
  assert.equal(uriHost('file:///etc/passwd'), undefined);
});

test('uriHost: an im: URI with two "@" has no host (fails closed under a permitted URI subtree)', () => {
  assert.equal(uriHost('im:bob@evil.org@example.org'), undefined);
});
