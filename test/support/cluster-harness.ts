/**
 * A real cluster for tests: N `certim server --json` processes on free ports, each with its own data directory,
 * all on one fresh Postgres schema (`certim_test_<run>_cl<k>`, dropped afterwards) and one NATS cluster name of
 * their own (`t<run>c<k>`: subjects and KV bucket, the bucket destroyed afterwards), so parallel runs never meet.
 * Postgres or NATS unreachable FAILS loudly — a cluster test never passes without them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { hashPassword, makeLegacyVerifier } from '../../src/server/auth/password.js';
import { openStore, type Store } from '../../src/store/index.js';
import { startCli, type RunningCli, type ServerReady } from './cli-harness.js';

/** Postgres the tests use (trust auth on this machine). */
export const TEST_PG_URL = process.env.CERTIM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
/** NATS server (host:port) the tests use. */
export const TEST_NATS = process.env.CERTIM_TEST_NATS ?? 'nats://127.0.0.1:4222';

const RUN = randomBytes(3).toString('hex');
let clusters = 0;
const FAST_SCRYPT = { N: 1 << 10, r: 8, p: 1 };

/** The ready line of a cluster node. */
export interface NodeReady extends ServerReady {
  /** Process id. */
  pid: number;
  /** Node and cluster names. */
  cluster: { node: string; name: string };
}

/** One running node. */
export interface ClusterTestNode {
  /** The process. */
  cli: RunningCli;
  /** Its ready line. */
  ready: NodeReady;
  /** Its data directory. */
  dataDir: string;
}

/** Options of {@link TestCluster.start}. */
export interface TestClusterOptions {
  /** Start all nodes at once (default: the first alone, then the rest together — the CA is made once). */
  allAtOnce?: boolean;
}

/** N server processes sharing one Postgres schema and one NATS cluster name. */
export class TestCluster {
  /** The nodes, in start order. */
  readonly nodes: ClusterTestNode[] = [];
  private store: Store | undefined;

  private constructor(
    readonly dbUrl: string,
    readonly natsUrl: string,
    readonly clusterName: string,
    private readonly schema: string,
    private readonly tmp: string,
    private readonly env: Record<string, string>,
  ) {}

  /** Starts `n` nodes and waits for every ready line. */
  static async start(n: number, opts: TestClusterOptions = {}): Promise<TestCluster> {
    await checkServices();
    const k = ++clusters;
    const schema = `certim_test_${RUN}_cl${k}`;
    const name = `t${RUN}c${k}`;
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
    } finally {
      await admin.end();
    }
    const dbUrl = `${TEST_PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const c = new TestCluster(dbUrl, `${TEST_NATS}?name=${name}`, name, schema, mkdtempSync(join(tmpdir(), 'certim-cluster-')), {
      CERTIM_CA_PASSPHRASE: randomBytes(12).toString('hex'),
    });
    try {
      if (opts.allAtOnce) {
        await Promise.all(Array.from({ length: n }, () => c.addNode()));
      } else {
        await c.addNode();
        await Promise.all(Array.from({ length: n - 1 }, () => c.addNode()));
      }
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** Starts one more node (fresh data directory) and waits for its ready line; `nats` = another `host:port` to reach NATS by. */
  async addNode(nats?: string): Promise<ClusterTestNode> {
    const dataDir = mkdtempSync(join(this.tmp, 'node-'));
    const natsUrl = nats === undefined ? this.natsUrl : `nats://${nats}?name=${this.clusterName}`;
    const cli = startCli(['server', '--data-dir', dataDir, '--port', '0', '--tls-port', '0', '--http-port', '0',
      '--db', this.dbUrl, '--cluster', natsUrl, '--json'], this.env);
    const node: ClusterTestNode = { cli, dataDir, ready: undefined as unknown as NodeReady };
    this.nodes.push(node);
    await cli.waitFor((out) => out.includes('"event":"ready"'), 'cluster node ready line', 120_000);
    node.ready = JSON.parse(cli.stdout.split('\n').find((l) => l.includes('"event":"ready"'))!) as NodeReady;
    return node;
  }

  /** The shared store, opened from the test process (accounts, offline queue checks). */
  async sharedStore(): Promise<Store> {
    this.store ??= await openStore(TEST_PG_URL, { schema: this.schema });
    return this.store;
  }

  /** Creates an account with classic MD5 login enabled (cheap scrypt parameters: tests only). */
  async addUser(screenName: string, password: string): Promise<void> {
    const s = await this.sharedStore();
    await s.accounts.create({ screenName, passwordHash: await hashPassword(password, FAST_SCRYPT), legacyVerifier: makeLegacyVerifier(password), legacyLoginEnabled: true });
  }

  /** `kill -9` of node `i`; resolves once the process is gone. */
  async kill(i: number): Promise<void> {
    const node = this.nodes[i]!;
    node.cli.child.kill('SIGKILL');
    await node.cli.exited;
  }

  /** Stops every node (SIGTERM), drops the schema, destroys the KV bucket, removes the directories. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.cli.stop()));
    await this.store?.close().catch(() => undefined);
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    try {
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
    } finally {
      await admin.end().catch(() => undefined);
    }
    const nc = await connect({ servers: natsServer() });
    try {
      const kvm = new Kvm(nc);
      for await (const b of kvm.list()) if (b.bucket.startsWith(`certim_${this.clusterName}_`)) await (await kvm.open(b.bucket)).destroy();
    } finally {
      await nc.close();
    }
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

function natsServer(): string {
  return TEST_NATS.replace(/^nats:\/\//, '').replace(/\/.*$/, '');
}

/** Fails loudly when Postgres or NATS is not there. */
async function checkServices(): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`\n\n*** POSTGRES UNREACHABLE at ${TEST_PG_URL}: ${(e as Error).message}\n*** start it (see .ci/run) or set CERTIM_TEST_PG. ***\n`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  try {
    const nc = await connect({ servers: natsServer(), timeout: 5000 });
    await nc.close();
  } catch (e) {
    throw new Error(`\n\n*** NATS UNREACHABLE at ${TEST_NATS}: ${(e as Error).message}\n*** start it (see .ci/run) or set CERTIM_TEST_NATS. ***\n`);
  }
}
