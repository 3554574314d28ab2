/**
 * OService rate classes (docs/protocol.md §3.1): parameters announced in 01/07 and enforced per connection with the
 * moving-average algorithm. Defaults are retro-aim-server's classes, which real AIM 5.x clients accept.
 */
import type { RateClassRecord } from '../../wire/families/oservice.js';

/**
 * One rate class's parameters: the 01/07 record without the per-connection state (current average, last time,
 * dropping). Levels are milliseconds of average spacing between SNACs; the window W is a count of SNACs; `max` is
 * also the average's start value.
 */
export type RateClass = Omit<RateClassRecord, 'current' | 'lastTime' | 'dropping'>;

/** R's default classes: id: window/clear/alert/limit/disconnect/max. */
export const DEFAULT_RATE_CLASSES: readonly RateClass[] = [
  { id: 1, window: 80, clear: 2500, alert: 2000, limit: 1500, disconnect: 800, max: 6000 },
  { id: 2, window: 80, clear: 3000, alert: 2000, limit: 1500, disconnect: 1000, max: 6000 },
  { id: 3, window: 20, clear: 5100, alert: 5000, limit: 4000, disconnect: 3000, max: 6000 },
  { id: 4, window: 20, clear: 5500, alert: 5300, limit: 4200, disconnect: 3000, max: 8000 },
  { id: 5, window: 10, clear: 5500, alert: 5300, limit: 4200, disconnect: 3000, max: 8000 },
];

/** Maps (family, subtype) to a class id; unlisted SNACs fall in class 1. */
export type RateClassMap = ReadonlyMap<number, number>;

/** Key of a (family, subtype) pair in a {@link RateClassMap}. */
export function snacKey(family: number, subtype: number): number {
  return ((family & 0xffff) << 16) | (subtype & 0xffff);
}

/** R's assignment: class 3 for IM sends and old info queries, 2 for list edits, 4 for directory queries. */
export function defaultRateClassMap(): Map<number, number> {
  const m = new Map<number, number>();
  m.set(snacKey(0x0004, 0x0006), 3);
  m.set(snacKey(0x0002, 0x0005), 3);
  for (const sub of [0x04, 0x05]) m.set(snacKey(0x0003, sub), 2);
  for (const sub of [0x05, 0x06, 0x07, 0x08]) m.set(snacKey(0x0009, sub), 2);
  for (const sub of [0x08, 0x09, 0x0a]) m.set(snacKey(0x0013, sub), 2);
  m.set(snacKey(0x000e, 0x0005), 2);
  m.set(snacKey(0x0002, 0x0009), 4);
  m.set(snacKey(0x0002, 0x000b), 4);
  return m;
}

/** The (family, subtype) pairs announced for each class in 01/07; class 1 lists every other handled pair. */
export function pairsByClass(
  classes: readonly RateClass[],
  map: RateClassMap,
  handled: Iterable<readonly [number, number]>,
): Map<number, Array<[number, number]>> {
  const out = new Map<number, Array<[number, number]>>();
  for (const c of classes) out.set(c.id, []);
  const seen = new Set<number>();
  const add = (family: number, subtype: number): void => {
    const key = snacKey(family, subtype);
    if (seen.has(key)) return;
    seen.add(key);
    const id = map.get(key) ?? 1;
    (out.get(id) ?? out.get(classes[0]?.id ?? 1))?.push([family, subtype]);
  };
  for (const key of map.keys()) add(key >>> 16, key & 0xffff);
  for (const [f, s] of handled) add(f, s);
  return out;
}
