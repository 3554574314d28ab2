/**
 * IMs held for users who were offline. The payload is stored as the bytes the sender sent (the ICBM TLVs of
 * 04/06), so a secure IM stays ciphertext. Delivery is two-step: fetch, deliver, then ack — a crash between the
 * two delivers again rather than losing a message (at-least-once; the ICBM cookie lets clients spot repeats).
 */

/** A message to store. */
export interface NewOfflineMessage {
  /** Recipient screen name (any format; must be an account). */
  recipient: string;
  /** Sender screen name as displayed. */
  sender: string;
  /** ICBM channel (1 = plain IM). */
  channel: number;
  /** The 8-byte ICBM cookie the sender chose. */
  cookie: Uint8Array;
  /** The ICBM TLV bytes as sent (everything after cookie, channel and recipient in 04/06). */
  payload: Uint8Array;
  /** When the server accepted it, ms since the epoch. */
  sentAt: number;
}

/** A stored message. */
export interface OfflineMessage extends NewOfflineMessage {
  /** Store-assigned id, increasing in enqueue order; pass to ack() after delivery. */
  id: number;
  /** Normalized recipient. */
  recipient: string;
}

/** Offline-IM persistence. */
export interface OfflineMessageStore {
  /**
   * Stores a message durably: resolves only after the commit reached disk, so the server may ack the sender.
   * STORE_LIMIT if the recipient already holds maxPerRecipient messages; STORE_NOT_FOUND if no such account.
   */
  enqueue(message: NewOfflineMessage, maxPerRecipient: number): Promise<OfflineMessage>;
  /** The recipient's oldest messages first (FIFO), at most limit, without removing them. */
  fetch(recipient: string, limit: number): Promise<OfflineMessage[]>;
  /** Deletes delivered messages of this recipient by id; returns how many were deleted. */
  ack(recipient: string, ids: readonly number[]): Promise<number>;
  /** How many messages the recipient holds. */
  count(recipient: string): Promise<number>;
  /** Deletes every message sent before the given time (ms); returns how many. */
  purgeOlderThan(time: number): Promise<number>;
}
