/** {@link FeedbagStore} in SQL, shared by both backends. */
import { StoreError } from '../errors.js';
import { FEEDBAG_MAX_ATTRIBUTE_BYTES, FEEDBAG_MAX_NAME_BYTES, FeedbagStatus } from '../feedbag.js';
import type { Feedbag, FeedbagItem, FeedbagStatusCode, FeedbagStore } from '../feedbag.js';
import { normalizeScreenName } from '../screen-name.js';
import type { SqlDriver } from './driver.js';
import { bytes, num, str } from './rows.js';

const isU16 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff;

function wellFormed(item: FeedbagItem, op: 'insert' | 'update' | 'delete'): boolean {
  if (!isU16(item.groupId) || !isU16(item.itemId)) return false;
  if (op === 'delete') return true;
  return (
    isU16(item.classId) &&
    Buffer.byteLength(item.name, 'utf8') <= FEEDBAG_MAX_NAME_BYTES &&
    !item.name.includes('\0') && // Postgres TEXT cannot hold NUL
    item.attributes.length <= FEEDBAG_MAX_ATTRIBUTE_BYTES
  );
}

/** Builds the feedbag store over a driver; now() stamps lastModified. */
export function sqlFeedbag(db: SqlDriver, now: () => number): FeedbagStore {
  return {
    async get(screenName: string): Promise<Feedbag> {
      const key = normalizeScreenName(screenName);
      const rows = await db.all(
        'SELECT name, group_id, item_id, class_id, attributes FROM feedbag_items WHERE sn_key = ? ORDER BY group_id, item_id',
        [key],
      );
      const state = await db.all('SELECT last_modified FROM feedbag_state WHERE sn_key = ?', [key]);
      return {
        items: rows.map((r) => ({
          name: str(r.name),
          groupId: num(r.group_id),
          itemId: num(r.item_id),
          classId: num(r.class_id),
          attributes: bytes(r.attributes),
        })),
        lastModified: state[0] ? num(state[0].last_modified) : 0,
      };
    },

    async apply(screenName, changes, limits): Promise<FeedbagStatusCode[]> {
      const key = normalizeScreenName(screenName);
      return db.transaction(async (tx) => {
        // Locking the account row serializes batches of one user on Postgres (SQLite locks the whole database).
        const owner = await tx.all(`SELECT sn_key FROM accounts WHERE sn_key = ?${db.dialect.forUpdate}`, [key]);
        if (!owner[0]) throw new StoreError('STORE_NOT_FOUND', `no account ${JSON.stringify(screenName)}`);
        const existing = new Map<string, { cls: number; size: number }>(); // "group:item" -> class, bytes of name and attributes
        const perClass = new Map<number, number>();
        let total = 0;
        // length() of a BLOB / bytea is its byte count in both SQLite and Postgres.
        for (const r of await tx.all('SELECT group_id, item_id, class_id, name, length(attributes) AS attr_bytes FROM feedbag_items WHERE sn_key = ?', [key])) {
          const cls = num(r.class_id);
          const id = `${num(r.group_id)}:${num(r.item_id)}`;
          const size = Buffer.byteLength(str(r.name), 'utf8') + num(r.attr_bytes);
          existing.set(id, { cls, size });
          total += size;
          perClass.set(cls, (perClass.get(cls) ?? 0) + 1);
        }
        const sizeOf = (it: FeedbagItem): number => Buffer.byteLength(it.name, 'utf8') + it.attributes.length;
        const tooBig = (id: string, size: number): boolean => limits.maxBytes !== undefined && total - (existing.get(id)?.size ?? 0) + size > limits.maxBytes;
        const classFull = (cls: number): boolean => {
          const max = limits.maxPerClass?.[cls];
          return max !== undefined && (perClass.get(cls) ?? 0) >= max;
        };
        const bump = (cls: number, by: number): void => { perClass.set(cls, (perClass.get(cls) ?? 0) + by); };

        const results: FeedbagStatusCode[] = [];
        for (const { op, item } of changes) {
          if (!wellFormed(item, op)) { results.push(FeedbagStatus.BAD_FORMAT); continue; }
          const id = `${item.groupId}:${item.itemId}`;
          const cur = existing.get(id);
          const size = op === 'delete' ? 0 : sizeOf(item);
          if (op === 'insert') {
            if (cur !== undefined) { results.push(FeedbagStatus.ID_TAKEN); continue; }
            if (existing.size >= limits.maxItems || classFull(item.classId) || tooBig(id, size)) { results.push(FeedbagStatus.MAX_ITEMS); continue; }
            await tx.run(
              'INSERT INTO feedbag_items (sn_key, group_id, item_id, class_id, name, attributes) VALUES (?, ?, ?, ?, ?, ?)',
              [key, item.groupId, item.itemId, item.classId, item.name, item.attributes],
            );
            existing.set(id, { cls: item.classId, size });
            total += size;
            bump(item.classId, 1);
          } else if (op === 'update') {
            if (cur === undefined) { results.push(FeedbagStatus.NOT_FOUND); continue; }
            if ((cur.cls !== item.classId && classFull(item.classId)) || tooBig(id, size)) { results.push(FeedbagStatus.MAX_ITEMS); continue; }
            await tx.run(
              'UPDATE feedbag_items SET class_id = ?, name = ?, attributes = ? WHERE sn_key = ? AND group_id = ? AND item_id = ?',
              [item.classId, item.name, item.attributes, key, item.groupId, item.itemId],
            );
            existing.set(id, { cls: item.classId, size });
            total += size - cur.size;
            bump(cur.cls, -1);
            bump(item.classId, 1);
          } else {
            if (cur === undefined) { results.push(FeedbagStatus.NOT_FOUND); continue; }
            await tx.run('DELETE FROM feedbag_items WHERE sn_key = ? AND group_id = ? AND item_id = ?', [key, item.groupId, item.itemId]);
            existing.delete(id);
            total -= cur.size;
            bump(cur.cls, -1);
          }
          results.push(FeedbagStatus.OK);
        }

        if (results.includes(FeedbagStatus.OK)) {
          // Strictly increasing even within one clock tick, so "modified since" never misses a change.
          const prev = await tx.all('SELECT last_modified FROM feedbag_state WHERE sn_key = ?', [key]);
          const stamp = Math.max(now(), prev[0] ? num(prev[0].last_modified) + 1 : 0);
          await tx.run(
            'INSERT INTO feedbag_state (sn_key, last_modified) VALUES (?, ?) ON CONFLICT (sn_key) DO UPDATE SET last_modified = excluded.last_modified',
            [key, stamp],
          );
        }
        return results;
      });
    },
  };
}
