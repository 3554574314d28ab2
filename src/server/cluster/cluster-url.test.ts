import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterError, parseClusterUrl } from './cluster-url.js';

test('cluster URLs: hosts, name, credentials (redacted for logs)', () => {
  assert.deepEqual(parseClusterUrl('nats://127.0.0.1:4222'), { servers: ['127.0.0.1:4222'], name: 'default', redacted: 'nats://127.0.0.1:4222' });
  const p = parseClusterUrl('nats://certim:s3cret@h1:4222,h2?name=prod_1');
  assert.deepEqual(p.servers, ['h1:4222', 'h2']);
  assert.equal(p.name, 'prod_1');
  assert.equal(p.user, 'certim');
  assert.equal(p.pass, 's3cret');
  assert.equal(p.redacted, 'nats://certim:***@h1:4222,h2?name=prod_1');
  assert.ok(!p.redacted.includes('s3cret'));
  assert.deepEqual(parseClusterUrl('nats://[::1]:4222/').servers, ['[::1]:4222']);
  const t = parseClusterUrl('nats://h:4222?ca=/etc/ca.pem&cert=/c.pem&key=/k.pem');
  assert.deepEqual(t.tls, { caFile: '/etc/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' });
  assert.equal(t.redacted, 'nats://h:4222 (TLS)');
  assert.deepEqual(parseClusterUrl('nats://h?tls=1').tls, {});
  assert.equal(parseClusterUrl('nats://h').tls, undefined);
});

test('bad cluster URLs are CLUSTER_BAD_URL', () => {
  for (const bad of ['http://h:4222', 'nats://', 'nats://h:4222?name=a.b', 'nats://h:4222?name=', 'nats://h:4222?other=1', 'nats://h h:1', 'nats://h:4222/path', 'nats://h?tls=yes', 'nats://h?cert=/c.pem']) {
    assert.throws(() => parseClusterUrl(bad), (e: unknown) => ClusterError.is(e, 'CLUSTER_BAD_URL'), bad);
  }
});
