/**
 * Client-side pacing to the rate classes the server announced in `01/07` (docs/protocol.md §3.1). The server keeps
 * a moving average of the milliseconds between our SNACs per class, `avg = (avg × (W − 1) + elapsed) / W`, warns
 * below `alert`, drops below `limit` and signs us off below `disconnect`. A burst (a pasted paragraph, a long
 * message sent in parts) would therefore lose IMs after ~8 and get us signed off after ~14 with the default class
 * 3. The pacer runs the same average on our side and makes each SNAC wait until sending it keeps the average at
 * or above the class's `alert` level, so a burst is queued, never dropped. `01/0A` records (the server's own view
 * of the average) resynchronise it.
 */
import type { RateClassRecord, RateInfo } from '../wire/families/oservice.js';

interface ClassState {
  rec: RateClassRecord;
  current: number;
  last: number;
}

/** Paces SNACs per rate class. Clock and sleep are injected (tests use a fake clock). */
export class RatePacer {
  private readonly states = new Map<number, ClassState>();
  private readonly classOf = new Map<number, number>();
  private defaultClass: number | undefined;
  private chain: Promise<void> = Promise.resolve();

  /**
   * @param info the decoded `01/07` (undefined: no pacing at all)
   * @param now clock in milliseconds
   * @param sleep waits `ms` milliseconds
   */
  constructor(
    info: RateInfo | undefined,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    if (!info) return;
    const t = now();
    for (const rec of info.classes) this.states.set(rec.id, { rec, current: Math.min(rec.current || rec.max, rec.max), last: t });
    this.defaultClass = info.classes[0]?.id;
    for (const [id, list] of info.pairs) for (const [f, s] of list) this.classOf.set(key(f, s), id);
  }

  private state(family: number, subtype: number): ClassState | undefined {
    const id = this.classOf.get(key(family, subtype)) ?? this.defaultClass;
    return id === undefined ? undefined : this.states.get(id);
  }

  /** Milliseconds to wait before a SNAC of (family, subtype) may go without pushing its class below `alert`. */
  delayFor(family: number, subtype: number): number {
    const st = this.state(family, subtype);
    if (!st) return 0;
    const { window: w, alert, max } = st.rec;
    const target = Math.min(max, alert + Math.ceil(alert / 100)); // 1% above alert: the server floors its average
    // Smallest elapsed e with (current·(W−1) + e) / W >= target.
    const needed = w * target - st.current * (w - 1);
    return Math.max(0, Math.ceil(st.last + needed - this.now()));
  }

  /** Accounts one SNAC of (family, subtype) sent now. */
  sent(family: number, subtype: number): void {
    const st = this.state(family, subtype);
    if (!st) return;
    const t = this.now();
    const elapsed = Math.max(0, t - st.last);
    st.last = t;
    st.current = Math.min(st.rec.max, Math.floor((st.current * (st.rec.window - 1) + elapsed) / st.rec.window));
  }

  /** Takes the server's view of a class from a `01/0A` record. */
  update(rec: RateClassRecord): void {
    const st = this.states.get(rec.id);
    if (!st) return;
    st.current = Math.min(rec.current, st.rec.max);
    st.last = this.now();
  }

  /**
   * Waits (in FIFO order with every other caller) until a SNAC of (family, subtype) may go, then accounts it as
   * sent. Resolves with the milliseconds waited.
   */
  pace(family: number, subtype: number): Promise<number> {
    const run = this.chain.then(async () => {
      let waited = 0;
      for (let d = this.delayFor(family, subtype); d > 0; d = this.delayFor(family, subtype)) {
        await this.sleep(d);
        waited += d;
      }
      this.sent(family, subtype);
      return waited;
    });
    this.chain = run.then(() => undefined, () => undefined);
    return run;
  }
}

function key(family: number, subtype: number): number {
  return family * 0x10000 + subtype;
}
