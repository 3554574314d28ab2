/**
 * Composition of a cluster node (`certim server --cluster nats://...`), kept out of main.ts: checks that the
 * database is shared, brings the cluster's CA into this node's data directory (shared-ca.ts), names the node,
 * connects to NATS and builds the NATS directory. The engine starts the directory; closing the directory (at
 * server shutdown) removes this node's sessions from the cluster and closes the NATS connection.
 */
import { LogEvent } from '../log.js';
import { hostname } from 'node:os';
import type { Store } from '../../store/index.js';
import type { Logger } from '../engine.js';
import { NatsCookieClaims } from './nats-cookie-claims.js';
import { NatsAdminPeers } from './nats-admin.js';
import { NatsDirectory } from './nats-directory.js';
import { NatsRooms } from './nats-rooms.js';
import type { RoomLimits } from './rooms.js';
import { ClusterError, connectCluster, parseClusterUrl } from './nats-connection.js';
import { newNodeName } from './node-id.js';
import { syncClusterCa } from './shared-ca.js';

/** Options of {@link joinCluster}. */
export interface JoinClusterOptions {
  /** `--cluster` URL (nats-connection.ts `parseClusterUrl`). */
  url: string;
  /** The opened store; must be Postgres (shared by every node). */
  store: Store;
  /** This node's data directory. */
  dataDir: string;
  /** IM domain (for the CA, if this node creates it). */
  domain: string;
  /** Environment (CERTIM_CA_PASSPHRASE). */
  env: Record<string, string | undefined>;
  /** Log sink. */
  log: Logger;
}

/** A node that has joined (not yet started: the engine starts its directory). */
export interface ClusterNode {
  /** This node's name. */
  readonly node: string;
  /** The cluster's name. */
  readonly name: string;
  /** The directory to hand to the engine. */
  readonly directory: NatsDirectory;
  /** The cluster's room registry, for the engine (called with the config's room limits). */
  readonly rooms: (limits: RoomLimits) => NatsRooms;
  /** The other nodes, for the admin commands (main.ts starts answering them once the engine exists). */
  readonly peers: NatsAdminPeers;
  /** Cluster-wide single use of cookies, for the engine. */
  readonly cookieClaims: NatsCookieClaims;
  /** Leaves the cluster (idempotent; the OSCAR server's close does it too). */
  close(): Promise<void>;
}

/** Prepares this process as a cluster node. Failures are ClusterError with a stable code. */
export async function joinCluster(o: JoinClusterOptions): Promise<ClusterNode> {
  const url = parseClusterUrl(o.url);
  if (o.store.backend !== 'postgres') {
    throw new ClusterError('CLUSTER_NEEDS_SHARED_DB', '--cluster needs the database every node shares: --db postgres://...');
  }
  const node = newNodeName(hostname(), process.pid);
  // NATS first: an unreachable NATS fails in seconds, before a CA is made.
  const connection = await connectCluster(url, { clientName: node, log: o.log });
  let cookieClaims: NatsCookieClaims;
  let roomsBucket: Awaited<ReturnType<typeof NatsRooms.openBucket>>;
  try {
    cookieClaims = await NatsCookieClaims.open(connection);
    roomsBucket = await NatsRooms.openBucket(connection);
    await syncClusterCa({ dataDir: o.dataDir, domain: o.domain, secrets: o.store.secrets, ledger: o.store.ledger, env: o.env, log: o.log });
  } catch (e) {
    await connection.close();
    throw e;
  }
  const directory = new NatsDirectory({ connection, node, ownsConnection: true, log: o.log });
  o.log('info', LogEvent.CLUSTER_JOINED, { node, cluster: url.name, nats: url.redacted });
  const rooms = (limits: RoomLimits) => new NatsRooms(roomsBucket, node, limits, (n) => directory.nodeAlive(n));
  const peers = new NatsAdminPeers(connection, node, () => directory.liveNodes());
  return {
    node, name: url.name, directory, rooms, cookieClaims, peers,
    close: () => {
      peers.close();
      return directory.close();
    },
  };
}
