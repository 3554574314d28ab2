/** Timers in the portable client: Node's have `unref` (do not keep the process alive), a browser's are numbers. */

/** Lets Node exit while `timer` is pending; nothing in a browser. */
export function unref(timer: unknown): void {
  (timer as { unref?: () => void } | undefined)?.unref?.();
}
