/**
 * Who waits for the directory's replica to reach a KV revision (nats-directory.ts): every write a node makes waits
 * for its revision here, and so does every other node's "have you seen it" request. A burst of sign-ons (a node's
 * users reconnecting elsewhere after it died) makes thousands of waiters at once, and the watch applies an entry
 * per write, so scanning every waiter per applied entry cost O(W²) per burst. A binary min-heap on the revision
 * makes an applied entry cost O(log W) per waiter it releases, and O(1) when none is due.
 *
 * A waiter that gives up (its timeout) is cancelled in O(1) and left in the heap as a tombstone; once tombstones
 * are most of the heap it is rebuilt without them, so a replica that never advances cannot make the heap grow
 * past twice its live waiters.
 */

interface Waiter {
  readonly revision: number;
  readonly resolve: () => void;
  cancelled: boolean;
}

export class RevisionWaiters {
  #heap: Waiter[] = [];
  #live = 0;

  /** Live (not cancelled, not released) waiters. */
  get size(): number {
    return this.#live;
  }

  /** Entries the heap holds, cancelled ones not yet dropped included (at most about twice {@link size}). */
  get slots(): number {
    return this.#heap.length;
  }

  /**
   * Adds a waiter for `revision`; `resolve` runs once, from {@link releaseThrough} or {@link releaseAll}.
   * @returns cancels the waiter (idempotent; a released waiter is unaffected)
   */
  add(revision: number, resolve: () => void): () => void {
    const w: Waiter = { revision, resolve, cancelled: false };
    this.#heap.push(w);
    this.#up(this.#heap.length - 1);
    this.#live++;
    return () => {
      if (w.cancelled) return;
      w.cancelled = true;
      this.#live--;
      if (this.#heap.length > 32 && this.#live * 2 < this.#heap.length) this.#rebuild();
    };
  }

  /** Releases, lowest revision first, every waiter for a revision ≤ `seen`. */
  releaseThrough(seen: number): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.revision <= seen) {
      const w = this.#pop();
      if (w.cancelled) continue;
      w.cancelled = true;
      this.#live--;
      w.resolve();
    }
  }

  /** Releases every live waiter (the directory closes) and empties the heap. */
  releaseAll(): void {
    const all = this.#heap;
    this.#heap = [];
    this.#live = 0;
    for (const w of all) {
      if (w.cancelled) continue;
      w.cancelled = true;
      w.resolve();
    }
  }

  #pop(): Waiter {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#down(0);
    }
    return top;
  }

  #rebuild(): void {
    this.#heap = this.#heap.filter((w) => !w.cancelled);
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const w = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]!.revision <= w.revision) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = w;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const w = heap[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && heap[c + 1]!.revision < heap[c]!.revision) c++;
      if (heap[c]!.revision >= w.revision) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = w;
  }
}
