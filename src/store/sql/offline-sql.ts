/** {@link OfflineMessageStore} in SQL, shared by both backends. */
import { StoreError } from '../errors.js';
import type { NewOfflineMessage, OfflineMessage, OfflineMessageStore } from '../offline-messages.js';
import { normalizeScreenName } from '../screen-name.js';
import type { SqlDriver, SqlRow } from './driver.js';
import { bytes, num, placeholders, str } from './rows.js';

/** Largest stored payload, bytes; an ICBM never gets near it (FLAP frames are far smaller). */
export const OFFLINE_MAX_PAYLOAD_BYTES = 64 * 1024;
/** Most messages fetch() returns at once, whatever limit is asked. */
export const OFFLINE_MAX_FETCH = 1000;
/** Most ids one ack() takes (keeps the IN-list inside every backend's parameter limit). */
const ACK_CHUNK = 500;

function toMessage(r: SqlRow): OfflineMessage {
  return {
    id: num(r.id),
    recipient: str(r.recipient_key),
    sender: str(r.sender),
    channel: num(r.channel),
    cookie: bytes(r.cookie),
    payload: bytes(r.payload),
    sentAt: num(r.sent_at),
  };
}

/** Builds the offline-message store over a driver. */
export function sqlOffline(db: SqlDriver): OfflineMessageStore {
  return {
    async enqueue(m: NewOfflineMessage, maxPerRecipient: number): Promise<OfflineMessage> {
      if (m.cookie.length !== 8) throw new StoreError('STORE_INVALID', 'ICBM cookie must be 8 bytes');
      if (m.payload.length > OFFLINE_MAX_PAYLOAD_BYTES) throw new StoreError('STORE_LIMIT', `payload over ${OFFLINE_MAX_PAYLOAD_BYTES} bytes`);
      if (!Number.isInteger(m.channel) || m.channel < 0 || m.channel > 0xffff) throw new StoreError('STORE_INVALID', 'channel must be a u16');
      const key = normalizeScreenName(m.recipient);
      // The transaction's commit is the durability point: SQLite fsyncs (synchronous=FULL), Postgres waits for
      // its WAL flush (synchronous_commit=on), before this promise resolves.
      return db.transaction(async (tx) => {
        const owner = await tx.all(`SELECT sn_key FROM accounts WHERE sn_key = ?${db.dialect.forUpdate}`, [key]);
        if (!owner[0]) throw new StoreError('STORE_NOT_FOUND', `no account ${JSON.stringify(m.recipient)}`);
        // The cap check rides in the INSERT (one round trip fewer); it is exact because the row lock above
        // serializes enqueues to one recipient, and each statement sees the commits made before it.
        const rows = await tx.all(
          `INSERT INTO offline_messages (recipient_key, sender, channel, cookie, payload, sent_at)
           SELECT ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM offline_messages WHERE recipient_key = ?) < ?
           RETURNING id, recipient_key, sender, channel, cookie, payload, sent_at`,
          [key, m.sender, m.channel, m.cookie, m.payload, m.sentAt, key, maxPerRecipient],
        );
        if (!rows[0]) throw new StoreError('STORE_LIMIT', `${key} already holds ${maxPerRecipient} or more offline messages`);
        return toMessage(rows[0]);
      });
    },

    async fetch(recipient, limit) {
      const n = Math.max(0, Math.min(Math.floor(limit), OFFLINE_MAX_FETCH));
      if (n === 0) return [];
      const rows = await db.all(
        `SELECT id, recipient_key, sender, channel, cookie, payload, sent_at FROM offline_messages
         WHERE recipient_key = ? ORDER BY id LIMIT ${n}`,
        [normalizeScreenName(recipient)],
      );
      return rows.map(toMessage);
    },

    async ack(recipient, ids) {
      const key = normalizeScreenName(recipient);
      const unique = [...new Set(ids)].filter((id) => Number.isSafeInteger(id));
      let deleted = 0;
      for (let i = 0; i < unique.length; i += ACK_CHUNK) {
        const chunk = unique.slice(i, i + ACK_CHUNK);
        deleted += await db.run(
          `DELETE FROM offline_messages WHERE recipient_key = ? AND id IN (${placeholders(chunk.length)})`,
          [key, ...chunk],
        );
      }
      return deleted;
    },

    async count(recipient) {
      const rows = await db.all('SELECT COUNT(*) AS n FROM offline_messages WHERE recipient_key = ?', [normalizeScreenName(recipient)]);
      return num(rows[0]?.n ?? 0);
    },

    async purgeOlderThan(time) {
      return db.run('DELETE FROM offline_messages WHERE sent_at < ?', [time]);
    },
  };
}
