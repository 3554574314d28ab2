/**
 * Which nodes of the cluster are alive, from heartbeats (the failure detector of nats-directory.ts). Pure logic
 * over an injected clock, so the rules are tested without waiting:
 *
 * - every node announces itself every `intervalMs`;
 * - a node not heard from for `deadAfterMs` is dead — including a node that was never heard from at all since
 *   this process started watching (it may have died before we came up, leaving entries behind);
 * - of the live nodes, the one with the smallest name is the *reaper*: it removes dead nodes' entries. Others may
 *   disagree for a moment about who is alive; removal is idempotent (compare-and-set), so two reapers are harmless.
 */

/** Options of {@link NodeLiveness}. */
export interface LivenessOptions {
  /** This node's name (always alive to itself). */
  self: string;
  /** How long without a heartbeat makes a node dead, ms. */
  deadAfterMs: number;
  /** Clock, ms. */
  now: () => number;
}

/** Heartbeat bookkeeping of one node. */
export class NodeLiveness {
  private readonly lastSeen = new Map<string, number>();
  private readonly startedAt: number;

  /** @param options self, threshold and clock */
  constructor(private readonly options: LivenessOptions) {
    this.startedAt = options.now();
  }

  /** Records a heartbeat of `node` (now). */
  heard(node: string): void {
    this.lastSeen.set(node, this.options.now());
  }

  /** Forgets a node (it left cleanly, or its entries were removed). */
  forget(node: string): void {
    this.lastSeen.delete(node);
  }

  /** True when `node` is alive by the rules above. */
  alive(node: string): boolean {
    if (node === this.options.self) return true;
    const seen = this.lastSeen.get(node) ?? this.startedAt;
    return this.options.now() - seen < this.options.deadAfterMs;
  }

  /** True when `node` (not this one) has been heard from and is alive now. */
  isLive(node: string): boolean {
    return node !== this.options.self && this.lastSeen.has(node) && this.alive(node);
  }

  /** Every other node heard from that is alive now. */
  liveNodes(): string[] {
    return [...this.lastSeen.keys()].filter((n) => this.isLive(n));
  }

  /** Of `candidates` (e.g. every node that owns an entry), the dead ones. */
  dead(candidates: Iterable<string>): string[] {
    const out = new Set<string>();
    for (const n of candidates) if (!this.alive(n)) out.add(n);
    return [...out];
  }

  /** True when this node should reap: no live node heard from has a smaller name. */
  isReaper(): boolean {
    for (const n of this.lastSeen.keys()) if (n < this.options.self && this.alive(n)) return false;
    return true;
  }
}
