/** Teardown shared by the NATS directory tests (test/directory-nats*.test.ts). */
import { Kvm } from '@nats-io/kv';
import type { ClusterConnection } from '../../src/server/cluster/nats-connection.js';
import type { NatsDirectory } from '../../src/server/cluster/nats-directory.js';

/** Closes the directories, removes the test cluster's sessions bucket, and closes the connections (in that order). */
export async function closeNatsNodes(directories: readonly Pick<NatsDirectory, 'close'>[], connections: readonly ClusterConnection[]): Promise<void> {
  for (const d of directories) await d.close().catch(() => undefined);
  try {
    await (await new Kvm(connections[0]!.nc).open(connections[0]!.bucket('sessions'))).destroy().catch(() => undefined);
  } finally {
    for (const c of connections) await c.close();
  }
}
