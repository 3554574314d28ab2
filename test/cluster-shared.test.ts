/**
 * A cluster of real `certim server --cluster` processes on one Postgres schema and one NATS: what the nodes share
 * through the database. Three nodes started at the same moment on a fresh database agree on one CA and one set of
 * server secrets: a BOS cookie from one node's login redeems at another, and an unknown screen name's challenge
 * keys behave across nodes as a real account's do, and a cookie redeemed at one node is refused at every other
 * node (cluster-wide single use). Misconfigured nodes refuse to start with a stable error.
 */
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import assert from 'node:assert/strict';
import { FlapChannel } from '../src/wire/flap.js';
import { decodeKeyResponse, encodeKeyRequest } from '../src/wire/families/bucp.js';
import { encodeFlapHello } from '../src/wire/flap.js';
import { tlv } from '../src/wire/tlv.js';
import { runCli } from './support/cli-harness.js';
import { TEST_NATS, TEST_PG_URL, TestCluster } from './support/cluster-harness.js';
import { bosSignOn, login, TestConnection, type Endpoint } from './support/oscar-test-client.js';

/** Presents `cookie` in a BOS hello at `ep`: 'accepted' (01/03 host online) or 'refused' (ch-4 sign-off, then close). */
async function presentCookie(ep: Endpoint, cookie: Uint8Array): Promise<'accepted' | 'refused'> {
  const c = await TestConnection.open(ep);
  try {
    await c.nextFrame((f) => f.channel === FlapChannel.SignOn);
    c.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, cookie)]));
    const f = await c.nextFrame((x) => x.channel === FlapChannel.SignOff || x.channel === FlapChannel.Data, 10_000);
    return f.channel === FlapChannel.SignOff ? 'refused' : 'accepted';
  } finally {
    c.close();
  }
}

async function challengeKey(ep: Endpoint, screenName: string): Promise<string> {
  const c = await TestConnection.open(ep);
  try {
    await c.nextFrame((f) => f.channel === FlapChannel.SignOn);
    c.sendFrame(FlapChannel.SignOn, encodeFlapHello());
    c.sendSnac(0x0017, 0x0006, encodeKeyRequest({ screenName }));
    return Buffer.from(decodeKeyResponse((await c.expectSnac(0x0017, 0x0007)).body)).toString('hex');
  } finally {
    c.close();
  }
}

test('three nodes started together on a fresh database share one CA and the cookie key, and challenge keys that do not tell who exists', async () => {
  const cluster = await TestCluster.start(3, { allAtOnce: true });
  try {
    const [a, b, c] = cluster.nodes.map((n) => n.ready);
    assert.equal(new Set([a!.caFingerprint, b!.caFingerprint, c!.caFingerprint]).size, 1, 'one CA for the cluster');
    assert.equal(new Set(cluster.nodes.map((n) => n.ready.cluster.node)).size, 3, 'distinct node names');
    assert.ok(cluster.nodes.every((n) => n.ready.cluster.name === cluster.clusterName));

    await cluster.addUser('Alice', 'alice-pw');
    // Logged in at A, the cookie is redeemed at B: B checks A's HMAC with the shared key.
    const res = await login({ port: a!.oscar }, 'alice', 'alice-pw', 'md5-strong');
    assert.ok(res.ok);
    const alice = await bosSignOn({ port: b!.oscar }, { ...res, bos: `127.0.0.1:${b!.oscar}` });
    assert.equal(alice.screenName, 'Alice');
    // Replayed at C and at A (which issued it but never redeemed it): refused, the nonce is claimed cluster-wide.
    assert.equal(await presentCookie({ port: c!.oscar }, res.cookie!), 'refused', 'replay at a third node');
    assert.equal(await presentCookie({ port: a!.oscar }, res.cookie!), 'refused', 'replay at the issuing node');
    assert.equal(await presentCookie({ port: b!.oscar }, res.cookie!), 'refused', 'replay at the redeeming node');
    // Two fresh cookies raced to two nodes at once: exactly one connection is served.
    const race = await login({ port: c!.oscar }, 'alice', 'alice-pw', 'md5-strong', { multiConn: 1 });
    const outcomes = await Promise.all([a, c].map((r) => presentCookie({ port: r!.oscar }, race.cookie!)));
    assert.deepEqual(outcomes.sort(), ['accepted', 'refused'], 'one of two simultaneous redemptions wins');
    const log = cluster.nodes.map((n) => n.cli.stdout + n.cli.stderr).join('');
    assert.match(log, /cluster\.cookie_refused/);
    alice.conn.close();

    // An unknown name's challenge keys behave across nodes exactly as a real account's do (whatever the key policy:
    // the same key everywhere or a fresh one per request), so asking two nodes cannot tell who exists.
    const keysOf = (name: string) => Promise.all([a, b, c].map((r) => challengeKey({ port: r!.oscar }, name)));
    const [real, unknown] = [await keysOf('alice'), await keysOf('No Such User')];
    assert.equal(new Set(unknown).size, new Set(real).size, `real ${real.join(' ')} / unknown ${unknown.join(' ')}`);
    assert.notEqual(unknown[0], (await keysOf('another unknown'))[0]);
  } finally {
    await cluster.stop();
  }
});

test('a cluster node refuses a non-shared database, a missing CA passphrase, an unreachable NATS, and a bad URL', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'certim-cluster-refuse-'));
  const schema = `certim_test_refuse_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const ports = ['--port', '0', '--tls-port', '0', '--http-port', '0', '--json'];
    const sqlite = await runCli(['server', '--data-dir', join(tmp, 'a'), ...ports, '--cluster', TEST_NATS], { CERTIM_CA_PASSPHRASE: 'x'.repeat(20) });
    assert.equal(sqlite.code, 1);
    assert.match(sqlite.stderr, /--cluster needs the database every node shares/);
    const pgUrl = `${TEST_PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const noPass = await runCli(['server', '--data-dir', join(tmp, 'b'), ...ports, '--db', pgUrl, '--cluster', TEST_NATS], { CERTIM_CA_PASSPHRASE: '' });
    assert.equal(noPass.code, 1);
    assert.match(noPass.stderr, /needs CERTIM_CA_PASSPHRASE/);
    const noNats = await runCli(['server', '--data-dir', join(tmp, 'd'), ...ports, '--db', pgUrl, '--cluster', 'nats://127.0.0.1:1'], { CERTIM_CA_PASSPHRASE: 'x'.repeat(20) });
    assert.equal(noNats.code, 1);
    assert.match(noNats.stderr, /cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
    const badUrl = await runCli(['server', '--data-dir', join(tmp, 'c'), '--cluster', 'http://x']);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /cluster URL must look like nats:/);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
    rmSync(tmp, { recursive: true, force: true });
  }
});
