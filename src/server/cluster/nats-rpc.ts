/**
 * Request/reply for the hot path of the NATS directory (one KV read and one delivery per cross-node IM), without
 * the NATS client's per-request cost: `nc.request` builds an Error with a stack trace (for async stack traces) and
 * a timer for every call, which a profile of a loaded node showed among its top costs. Here one wildcard
 * subscription receives every reply (`<prefix>.<id>`), a map finds the waiting call, and one sweep timer fails the
 * calls that waited too long; an Error is made only for a call that actually fails.
 *
 * Failures (`RpcError.code`): `NO_RESPONDERS` (status 503: nobody subscribes to the subject — a node that is
 * gone), `TIMEOUT`, `CLOSED`, `STATUS` (another status reply, e.g. a JetStream error).
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';

/** How a call failed. */
export type RpcErrorCode = 'NO_RESPONDERS' | 'TIMEOUT' | 'CLOSED' | 'STATUS';

/** A failed call. */
export class RpcError extends Error {
  /** @param code stable code; @param message detail */
  constructor(
    readonly code: RpcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

interface Pending {
  resolve: (m: Msg) => void;
  reject: (e: Error) => void;
  deadline: number;
  subject: string;
}

/** Calls over one connection; replies come back on `<prefix>.<id>`. */
export class NatsRpc {
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private seq = 0;
  private closed = false;

  /**
   * @param nc the connection
   * @param prefix reply subject prefix, unique to this process (e.g. `certim.<cluster>.reply.<node>`)
   * @param now clock for deadlines
   */
  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.sub = nc.subscribe(`${prefix}.*`, { callback: (err, msg) => { if (!err) this.onReply(msg); } });
    this.sweeper = setInterval(() => this.sweep(), 250);
    this.sweeper.unref?.();
  }

  /**
   * Publishes `data` to `subject` with a reply address and resolves with the reply. Statuses are failures, except
   * those in `okStatus` (e.g. 404 for a KV read of a missing key), which resolve with the status message.
   */
  call(subject: string, data: Uint8Array, timeoutMs: number, okStatus: readonly number[] = []): Promise<Msg> {
    if (this.closed) return Promise.reject(new RpcError('CLOSED', 'connection closed'));
    const id = (++this.seq).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (m) => {
          const code = m.headers?.code ?? 0;
          if (code === 0 || code === 200 || okStatus.includes(code)) resolve(m);
          else if (code === 503) reject(new RpcError('NO_RESPONDERS', `no responders on ${subject}`));
          else reject(new RpcError('STATUS', `status ${code} ${m.headers?.description ?? ''} from ${subject}`));
        },
        reject,
        deadline: this.now() + timeoutMs,
        subject,
      });
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}.${id}` });
      } catch (e) {
        this.pending.delete(id);
        reject(new RpcError('CLOSED', (e as Error).message));
      }
    });
  }

  /** Fails every waiting call and stops listening. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    for (const p of this.pending.values()) p.reject(new RpcError('CLOSED', 'connection closed'));
    this.pending.clear();
  }

  private onReply(msg: Msg): void {
    const id = msg.subject.slice(this.prefix.length + 1);
    const p = this.pending.get(id);
    if (!p) return; // late reply to a call that timed out
    this.pending.delete(id);
    p.resolve(msg);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(id);
      p.reject(new RpcError('TIMEOUT', `no reply from ${p.subject}`));
    }
  }
}
