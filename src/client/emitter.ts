/**
 * A small typed event emitter for the portable client (no `node:events`: the web client shares it). The subset of
 * Node's EventEmitter the client and its callers use — `on`/`addListener`, `once`, `off`/`removeListener`,
 * `removeAllListeners`, `listenerCount`, `emit` — with the same semantics: listeners run synchronously in the order
 * they were added, a listener added or removed during an emit does not change that emit, and a listener's throw
 * propagates to the emitter. Node's `events.once(emitter, name)` works with it.
 */

type Listener<A extends unknown[]> = (...args: A) => void;

/** `Events` maps each event name to its argument tuple, as `EventEmitter<Events>` does in @types/node. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, { fn: Listener<never[]>; once: boolean; orig: unknown }[]>();

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.add(event, listener, false);
  }

  addListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.add(event, listener, false);
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.add(event, listener, true);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    // Node removes the most recently added registration of the same function.
    return this.drop(event, (e) => e.orig === listener);
  }

  removeListener<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    return this.off(event, listener);
  }

  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.listeners.clear();
    else this.listeners.delete(event);
    return this;
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Calls every listener of `event` with `args`; true when there was one. */
  emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const l of list) {
      if (l.once) this.drop(event, (e) => e === l);
      (l.fn as unknown as Listener<Events[K]>)(...args);
    }
    return true;
  }

  private drop(event: keyof Events, match: (e: { orig: unknown }) => boolean): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      if (match(list[i]!)) {
        const next = [...list.slice(0, i), ...list.slice(i + 1)];
        if (next.length === 0) this.listeners.delete(event);
        else this.listeners.set(event, next);
        break;
      }
    }
    return this;
  }

  private add<K extends keyof Events>(event: K, listener: Listener<Events[K]>, once: boolean): this {
    // Copy on write: an emit in progress keeps iterating the array it started with.
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), { fn: listener as unknown as Listener<never[]>, once, orig: listener }]);
    return this;
  }
}

/** The arguments of the next `event` (what `events.once(emitter, name)` gives for a Node EventEmitter). */
export function nextEvent<Events extends { [K in keyof Events]: unknown[] }, K extends keyof Events>(emitter: TypedEmitter<Events>, event: K): Promise<Events[K]> {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}
