// Cluster-wide single use of cookie nonces on the real NATS: two nodes (two connections) race for the same nonces;
// each nonce is won exactly once. NATS unreachable FAILS loudly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import { connectCluster } from '../src/server/cluster/nats-connection.js';
import { NatsCookieClaims } from '../src/server/cluster/nats-cookie-claims.js';

const NATS_URL = process.env.CERTIM_TEST_NATS ?? 'nats://127.0.0.1:4222';

test('each cookie nonce is claimed exactly once across nodes', async () => {
  const url = `${NATS_URL}?name=t${randomBytes(3).toString('hex')}ck`;
  const [c1, c2] = await Promise.all([connectCluster(url, { clientName: 'n1' }), connectCluster(url, { clientName: 'n2' })]).catch((e: unknown) => {
    throw new Error(`\n\n*** NATS UNREACHABLE at ${NATS_URL}: ${(e as Error).message}\n`);
  });
  try {
    const [a, b] = await Promise.all([NatsCookieClaims.open(c1, 10_000), NatsCookieClaims.open(c2, 10_000)]);
    const nonces = Array.from({ length: 20 }, () => randomBytes(16));
    const results = await Promise.all(nonces.flatMap((n) => [a.claim(n), b.claim(n)]));
    for (let i = 0; i < nonces.length; i++) assert.equal(Number(results[2 * i]) + Number(results[2 * i + 1]), 1, `nonce ${i} won once`);
    assert.equal(await a.claim(nonces[0]!), false, 'and never again');
  } finally {
    await (await new Kvm(c1.nc).open(c1.bucket('cookies'))).destroy().catch(() => undefined);
    await c1.close();
    await c2.close();
  }
});
