/**
 * The certim CLI against a cluster of real server processes: alice enrolls (EST) and sends at node 0, bob enrolls
 * over EST at node 2 and listens at node 1. The secure IM crosses nodes, is decrypted and verified against the one shared CA:
 * every node issued from it, and each node found the other's user (certificates by Locate, delivery through NATS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, startCli, type RunResult } from './support/cli-harness.js';
import { TestCluster, type ClusterTestNode } from './support/cluster-harness.js';

function env(user: string): Record<string, string> {
  return { CERTIM_PASSWORD: `${user}-password-1`, CERTIM_PASSPHRASE: `${user} pass`, CERTIM_KEY_SIZE: '2048' };
}

test('a secure IM from a user on one node to a user listening on another is delivered and verified', async () => {
  const cluster = await TestCluster.start(3);
  try {
    const profile = (u: string) => join(cluster.nodes[0]!.dataDir, '..', `${u}-profile`);
    const at = (oscar: ClusterTestNode, est: ClusterTestNode) =>
      ['--server', `127.0.0.1:${oscar.ready.oscarTls}`, '--https', `https://127.0.0.1:${est.ready.https}`, '--ca-fingerprint', est.ready.caFingerprint];
    const keysInit = (u: string, oscar: ClusterTestNode, est: ClusterTestNode): Promise<RunResult> =>
      runCli(['keys', 'init', '--user', u, ...at(oscar, est), '--profile', profile(u)], env(u));
    for (const u of ['alice', 'bob']) await cluster.addUser(u, `${u}-password-1`);
    const [n0, n1, n2] = cluster.nodes as [ClusterTestNode, ClusterTestNode, ClusterTestNode];
    const [a, b] = await Promise.all([keysInit('alice', n0, n0), keysInit('bob', n1, n2)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);

    const listen = startCli(['listen', '--json', '--count', '1', '--profile', profile('bob')], env('bob'));
    listen.child.stdin!.end();
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'bob signed on at node 1');
    const sent = await runCli(['send', 'bob', 'across the cluster', '--json', '--profile', profile('alice')], env('alice'));
    assert.equal(sent.code, 0, sent.stderr);
    const s = JSON.parse(sent.stdout) as { secure: boolean; trust: string };
    assert.deepEqual([s.secure, s.trust], [true, 'ca']);
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    const [im] = listen.jsonLines();
    assert.equal(im?.from, 'alice');
    assert.equal(im?.text, 'across the cluster');
    assert.equal(im?.verdict, 'verified');
    assert.equal(im?.trust, 'ca');
  } finally {
    await cluster.stop();
  }
});
