/**
 * The admin control channel across a cluster (ARCHITECTURE.md "Cluster"): the admin socket is local to one node,
 * so a command that concerns sessions asks the other nodes over NATS. Each node answers requests on
 * `certim.<cluster>.admin.<node>` (JSON, one request -> one reply) about its own sessions:
 *
 * - `{ cmd: 'sessions' }` -> its local session summaries;
 * - `{ cmd: 'withdraw', screenName }` -> its sessions of that user drop their certificate hash and re-announce
 *   presence (after a revocation made at another node) -> how many.
 *
 * Only nodes the failure detector calls alive are asked; one that does not answer in time is reported as such, never
 * waited on forever. NATS is trusted here as everywhere in the cluster (whoever may publish there could ask).
 */
import type { SessionSummary } from '../admin/admin-protocol.js';
import type { AdminPeers } from '../admin/admin-commands.js';
import type { ClusterConnection } from './nats-connection.js';

/** What this node answers for. */
export interface AdminPeerHandlers {
  /** This node's sessions. */
  sessions(): SessionSummary[];
  /** Withdraws the certificate hash from this node's sessions of `screenName`; resolves to how many. */
  withdraw(screenName: string): Promise<number>;
}

type PeerRequest = { cmd: 'sessions' } | { cmd: 'withdraw'; screenName: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

/** This node's side of cluster-wide admin commands. */
export class NatsAdminPeers implements AdminPeers {
  private sub: { unsubscribe(): void } | undefined;

  /**
   * @param conn the node's cluster connection; @param node this node's name; @param liveNodes the other nodes
   * alive now; @param timeoutMs how long to wait for one node's answer
   */
  constructor(
    private readonly conn: ClusterConnection,
    readonly node: string,
    private readonly liveNodes: () => string[],
    private readonly timeoutMs = 3000,
  ) {}

  /** Starts answering other nodes' requests with `handlers`. */
  serve(handlers: AdminPeerHandlers): void {
    this.sub = this.conn.nc.subscribe(this.conn.subject('admin', this.node), {
      callback: (err, msg) => {
        if (err) return;
        void (async () => {
          let out: unknown;
          try {
            const req = JSON.parse(dec.decode(msg.data)) as PeerRequest;
            if (req.cmd === 'sessions') out = { ok: true, result: handlers.sessions() };
            else if (req.cmd === 'withdraw' && typeof req.screenName === 'string') out = { ok: true, result: await handlers.withdraw(req.screenName) };
            else out = { ok: false, error: 'unknown request' };
          } catch (e) {
            out = { ok: false, error: (e as Error).message };
          }
          msg.respond(enc.encode(JSON.stringify(out)));
        })();
      },
    });
  }

  /** {@inheritDoc AdminPeers.sessions} */
  async sessions(): Promise<{ sessions: SessionSummary[]; unreachable: string[] }> {
    const nodes = this.liveNodes();
    const answers = await Promise.all(nodes.map((n) => this.ask<SessionSummary[]>(n, { cmd: 'sessions' })));
    const sessions: SessionSummary[] = [];
    const unreachable: string[] = [];
    answers.forEach((a, i) => {
      if (a === undefined) unreachable.push(nodes[i]!);
      else for (const s of a) sessions.push({ ...s, node: nodes[i]! });
    });
    return { sessions, unreachable };
  }

  /** {@inheritDoc AdminPeers.withdraw} */
  async withdraw(screenName: string, nodes: readonly string[]): Promise<{ sessions: number; unreachable: string[] }> {
    const answers = await Promise.all(nodes.map((n) => this.ask<number>(n, { cmd: 'withdraw', screenName })));
    let sessions = 0;
    const unreachable: string[] = [];
    answers.forEach((a, i) => {
      if (a === undefined) unreachable.push(nodes[i]!);
      else sessions += a;
    });
    return { sessions, unreachable };
  }

  /** Stops answering. */
  close(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private async ask<T>(node: string, req: PeerRequest): Promise<T | undefined> {
    try {
      const m = await this.conn.nc.request(this.conn.subject('admin', node), enc.encode(JSON.stringify(req)), { timeout: this.timeoutMs });
      const r = JSON.parse(dec.decode(m.data)) as { ok: boolean; result?: T };
      return r.ok ? r.result : undefined;
    } catch {
      return undefined;
    }
  }
}
