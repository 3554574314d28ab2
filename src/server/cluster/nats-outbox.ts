/**
 * Batching of delivery requests per destination node (nats-directory.ts): every request for one node dispatched
 * in the same event-loop turn leaves as one NATS message and comes back as one reply, in queue order, so the
 * per-message cost of NATS (publish, routing, the receiver's callback, the reply) is paid once per node and turn
 * instead of once per IM. A batch is sent early when it reaches {@link MAX_BATCH} requests or
 * {@link MAX_BATCH_BYTES} (NATS's default payload limit is 1 MiB).
 */
import { DirectoryError } from './directory.js';
import { decodeDeliveryCounts, encodeDeliveryBatch } from './nats-codec.js';
import type { NatsRpc } from './nats-rpc.js';

/** Most requests in one batch. */
export const MAX_BATCH = 64;
/** Most request bytes in one batch. */
export const MAX_BATCH_BYTES = 256 * 1024;

interface Queued {
  bytes: Uint8Array;
  resolve: (accepted: number) => void;
  reject: (e: unknown) => void;
}

/** Per-node queues of encoded delivery requests, flushed once per event-loop turn. */
export class DeliveryOutbox {
  private readonly queues = new Map<string, { items: Queued[]; bytes: number }>();
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

  /** Queues an encoded delivery request for `node`; resolves with how many sessions accepted it. */
  send(node: string, request: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      let q = this.queues.get(node);
      if (!q) this.queues.set(node, (q = { items: [], bytes: 0 }));
      q.items.push({ bytes: request, resolve, reject });
      q.bytes += request.length;
      if (q.items.length >= MAX_BATCH || q.bytes >= MAX_BATCH_BYTES) this.flushNode(node);
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Fails everything still queued (the directory is closing). */
  close(): void {
    for (const q of this.queues.values()) for (const x of q.items) x.reject(new DirectoryError('DIRECTORY_CLOSED', 'directory closed'));
    this.queues.clear();
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const node of [...this.queues.keys()]) this.flushNode(node);
  }

  /** Sends one node's queue as one batch; settles each request with its own count, or all with the failure. */
  private flushNode(node: string): void {
    const q = this.queues.get(node);
    if (!q || q.items.length === 0) return;
    this.queues.delete(node);
    const items = q.items;
    this.rpc.call(this.subjectOf(node), encodeDeliveryBatch(items.map((x) => x.bytes)), this.timeoutMs).then(
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
