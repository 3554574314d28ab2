/**
 * Our idle time as buddies see it (OService `01/11`, docs/protocol.md §3.1): after a quiet spell the client reports
 * how long it has been idle, and 0 as soon as the user is active again. The server counts on from there and shows
 * it in our user-info block (TLV 0x0004, minutes, §4.1).
 */
import { ByteWriter } from '../wire/bytes.js';
import { OSERVICE_FAMILY, OServiceSubtype } from '../wire/families/oservice.js';
import type { LocateRequester } from './locate-info.js';

/** Quiet time after which we report being idle (AIM's default: 10 minutes). */
export const IDLE_AFTER_MS = 10 * 60_000;

/** Reports `seconds` of idle time (0 = active again). */
export async function setIdle(c: LocateRequester, seconds: number): Promise<void> {
  const sent = c.sendChecked(OSERVICE_FAMILY, OServiceSubtype.IDLE_NOTIFICATION, new ByteWriter(4).u32(Math.max(0, Math.floor(seconds))).finish());
  sent.catch(() => undefined);
  await c.request(OSERVICE_FAMILY, OServiceSubtype.USER_INFO_QUERY, new Uint8Array(0)); // answered in order: 01/11 is in
  await sent;
}

/** Decides when to report idle and active; the caller polls `check` and calls `activity` on every key. */
export class IdleTracker {
  private last: number;
  private idle = false;

  /** @param now clock in ms; @param afterMs quiet time before idle */
  constructor(private readonly now: () => number = Date.now, private readonly afterMs = IDLE_AFTER_MS) {
    this.last = now();
  }

  /** The user did something: true when this ends an idle spell (report 0). */
  activity(): boolean {
    this.last = this.now();
    const was = this.idle;
    this.idle = false;
    return was;
  }

  /** Seconds idle when the user just became idle (report them), else undefined. */
  check(): number | undefined {
    const quiet = this.now() - this.last;
    if (this.idle || quiet < this.afterMs) return undefined;
    this.idle = true;
    return Math.floor(quiet / 1000);
  }
}
