/**
 * Batching of delivery requests per destination node (nats-directory.ts): every request for one node dispatched
 * in the same event-loop turn leaves as one NATS message and comes back as one reply, in queue order, so the
 * per-message cost of NATS (publish, routing, the receiver's callback, the reply) is paid once per node and turn
 * instead of once per IM. A batch is sent early when it reaches {@link MAX_BATCH} requests or
 * {@link MAX_BATCH_BYTES} (NATS's default payload limit is 1 MiB).
 */
import { DirectoryError } from './directory.js';
import { decodeDeliveryCounts, DeliveryBatchWriter, type DeliveryRequest } from './nats-codec.js';
import type { NatsRpc } from './nats-rpc.js';

/** Most requests in one batch. */
export const MAX_BATCH = 64;
/** Most request bytes in one batch. */
export const MAX_BATCH_BYTES = 256 * 1024;

interface Queued {
  resolve: (accepted: number) => void;
  reject: (e: unknown) => void;
}

/** Something that can answer a request: a NATS message, here. */
export interface Respondable {
  respond(data?: Uint8Array): boolean;
}

/**
 * Per-node batches of delivery requests (encoded as they are queued) and this node's replies to other nodes'
 * batches, flushed together once per event-loop turn: the NATS client writes everything published in one turn
 * with one socket write, so with IMs flowing both ways a node's reply rides with its own batch to that node
 * instead of costing a write (and nats-server a read) of its own.
 */
export class DeliveryOutbox {
  private readonly queues = new Map<string, { items: Queued[]; batch: DeliveryBatchWriter }>();
  private replies: { to: Respondable; data: Uint8Array }[] = [];
  private flushScheduled = false;

  /**
   * @param rpc request/reply over the node's connection
   * @param subjectOf the delivery subject of a node
   * @param timeoutMs how long a batch waits for its reply
   */
  constructor(
    private readonly rpc: NatsRpc,
    private readonly subjectOf: (node: string) => string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Queues a delivery request for `node`, encoded into that node's batch now (the envelope's body is copied, so the
   * caller may reuse it); resolves with how many sessions accepted it.
   */
  send(node: string, request: DeliveryRequest): Promise<number> {
    return new Promise((resolve, reject) => {
      let q = this.queues.get(node);
      if (!q) this.queues.set(node, (q = { items: [], batch: new DeliveryBatchWriter() }));
      q.batch.add(request);
      q.items.push({ resolve, reject });
      if (q.items.length >= MAX_BATCH || q.batch.length >= MAX_BATCH_BYTES) this.flushNode(node);
      else this.schedule();
    });
  }

  /** Answers another node's batch at the end of this turn, with this turn's own batches. */
  reply(to: Respondable, data: Uint8Array): void {
    this.replies.push({ to, data });
    this.schedule();
  }

  /** Sends the replies owed and fails every request still queued (the directory is closing). */
  close(): void {
    this.sendReplies();
    for (const q of this.queues.values()) for (const x of q.items) x.reject(new DirectoryError('DIRECTORY_CLOSED', 'directory closed'));
    this.queues.clear();
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    this.sendReplies();
    for (const node of [...this.queues.keys()]) this.flushNode(node);
  }

  private sendReplies(): void {
    if (this.replies.length === 0) return;
    const replies = this.replies;
    this.replies = [];
    for (const r of replies) {
      try {
        r.to.respond(r.data);
      } catch {
        // The connection is closing or closed: the reply is lost, and the other node's request times out, as when a
        // reply is lost in transit. The replies and batches after it still go.
      }
    }
  }

  /** Sends one node's queue as one batch; settles each request with its own count, or all with the failure. */
  private flushNode(node: string): void {
    const q = this.queues.get(node);
    if (!q || q.items.length === 0) return;
    this.queues.delete(node);
    const items = q.items;
    this.rpc.call(this.subjectOf(node), q.batch.finish(), this.timeoutMs).then(
      (reply) => {
        let counts: number[];
        try {
          counts = decodeDeliveryCounts(reply.data, items.length);
        } catch (e) {
          for (const x of items) x.reject(e);
          return;
        }
        items.forEach((x, i) => x.resolve(counts[i]!));
      },
      (e: unknown) => {
        for (const x of items) x.reject(e);
      },
    );
  }
}
