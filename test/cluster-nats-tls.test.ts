/**
 * NATS is trusted by the cluster, so reaching it must take credentials and (off one machine) TLS. This starts a
 * private `nats-server` (JetStream, TLS with a certificate from a throwaway CA made with openssl, user/password)
 * and checks: a node with the right CA and password connects and the directory works over it; plaintext, a wrong
 * password, or a different CA are refused at startup with CLUSTER_UNREACHABLE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterError, connectCluster } from '../src/server/cluster/nats-connection.js';
import { NatsDirectory } from '../src/server/cluster/nats-directory.js';
import { RecordingEndpoint, snapshot } from './directory-conformance.js';

const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = tcpConnect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nats-server did not listen on ${port}`);
}

function makeCa(dir: string, name: string): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)], { stdio: 'ignore' });
}

test('a node reaches NATS over TLS with a password; plaintext, a wrong password or another CA are refused', async () => {
  assert.ok(NATS_SERVER, 'nats-server binary not found (.ci/run installs it): this test needs a private server');
  const dir = mkdtempSync(join(tmpdir(), 'certim-nats-tls-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=nats', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.csr')], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'server.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial',
    '-days', '1', '-extfile', join(dir, 'san.cnf'), '-out', join(dir, 'server.pem')], { stdio: 'ignore' });
  const port = await freePort();
  const server = spawn(NATS_SERVER!, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js'), '--user', 'certim', '--pass', 'nats-secret-1',
    '--tls', '--tlscert', join(dir, 'server.pem'), '--tlskey', join(dir, 'server.key')], { stdio: 'ignore' });
  try {
    await waitForPort(port, 10_000);
    const base = `127.0.0.1:${port}?name=tlstest`;
    const refused = async (url: string, why: string): Promise<void> => {
      await assert.rejects(connectCluster(url, { clientName: 'x', timeoutMs: 3000 }), (e: unknown) => ClusterError.is(e, 'CLUSTER_UNREACHABLE'), why);
    };
    await refused(`nats://certim:nats-secret-1@${base}`, 'plaintext to a TLS-only server');
    await refused(`nats://certim:wrong@${base}&ca=${join(dir, 'ca.pem')}`, 'wrong password');
    await refused(`nats://${base}&ca=${join(dir, 'ca.pem')}`, 'no credentials');
    await refused(`nats://certim:nats-secret-1@${base}&ca=${join(dir, 'other-ca.pem')}`, 'a server certificate from another CA');

    const conn = await connectCluster(`nats://certim:nats-secret-1@${base}&ca=${join(dir, 'ca.pem')}`, { clientName: 'n1' });
    const d = new NatsDirectory({ connection: conn, node: 'n1', ownsConnection: true });
    const ep = new RecordingEndpoint();
    try {
      await d.start(ep);
      await d.register({ address: { node: 'n1', sessionId: 's' }, user: 'alice', service: 'bos', exclusive: false, presence: snapshot('Alice') });
      await ep.waitFor('presence event over TLS', () => ep.lastEvent('alice') !== undefined);
      assert.deepEqual(await d.sendToUser('alice', { delivery: { kind: 'snac', family: 4, subtype: 7, body: new Uint8Array([9]) } }), { targeted: 1, accepted: 1 });
    } finally {
      await d.close();
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
