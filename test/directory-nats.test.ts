// The directory conformance suite on the NATS implementation: every node its own NATS connection (as separate
// processes would have), one fresh cluster name (subjects and KV bucket) per test cluster, buckets deleted
// afterwards. NATS unreachable at CERTIM_TEST_NATS (default nats://127.0.0.1:4222) FAILS the suite loudly.
import { randomBytes } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import { connectCluster } from '../src/server/cluster/nats-connection.js';
import { NatsDirectory } from '../src/server/cluster/nats-directory.js';
import { directoryConformance } from './directory-conformance.js';

const NATS_URL = process.env.CERTIM_TEST_NATS ?? 'nats://127.0.0.1:4222';
const run = randomBytes(3).toString('hex');
let n = 0;

directoryConformance('nats', async (nodes) => {
  const name = `t${run}c${++n}`;
  const url = `${NATS_URL}?name=${name}`;
  const conns = await Promise.all(nodes.map((node) => connectCluster(url, { clientName: node }).catch((e: unknown) => {
    throw new Error(`\n\n*** NATS UNREACHABLE at ${NATS_URL}: ${(e as Error).message}\n*** start it (see .ci/run) or set CERTIM_TEST_NATS. ***\n`);
  })));
  // Production timings: a shorter dead-after makes a node stalled by a loaded host look dead (and be reaped).
  const directories = nodes.map((node, i) => new NatsDirectory({ connection: conns[i]!, node }));
  return {
    directories,
    async close() {
      for (const d of directories) await d.close().catch(() => undefined);
      try {
        await (await new Kvm(conns[0]!.nc).open(conns[0]!.bucket('sessions'))).destroy();
      } finally {
        for (const c of conns) await c.close();
      }
    },
  };
});
