/**
 * The server-stored buddy list (Feedbag / SSI, family 0x0013, docs/protocol.md §3.9). An item is identified per user by
 * (groupId, itemId); attribute TLVs are kept as opaque bytes so no client's extensions are lost.
 */
import type { FeedbagItemWire } from '../wire/families/feedbag.js';

/**
 * One feedbag item as carried on the wire (name, group id, item id, class, attribute TLV bytes): the one
 * declaration in `wire/families/feedbag.ts` (docs/protocol.md §3.9), stored as is.
 */
export type FeedbagItem = FeedbagItemWire;

/** A user's whole feedbag. */
export interface Feedbag {
  /** Items ordered by (groupId, itemId). */
  items: FeedbagItem[];
  /** Last change, ms since the epoch; 0 if never modified. Strictly increases with every applied change. */
  lastModified: number;
}

/** One change in a batch: the SNAC it came from (13/08 insert, 13/09 update, 13/0A delete) and its item. */
export interface FeedbagChange {
  /** insert = 13/08, update = 13/09, delete = 13/0A. */
  op: 'insert' | 'update' | 'delete';
  /** The item; for delete only groupId and itemId matter. */
  item: FeedbagItem;
}

/** Per-item results, numerically the 13/0E status codes (docs/protocol.md §3.9). */
export const FeedbagStatus = {
  /** 0x0000 applied. */
  OK: 0x0000,
  /** 0x0002 update/delete of an item that does not exist. */
  NOT_FOUND: 0x0002,
  /** 0x000A insert of a (groupId, itemId) already in use. */
  ID_TAKEN: 0x000a,
  /** 0x000C the user (or the item's class) is at its maximum number of items. */
  MAX_ITEMS: 0x000c,
  /** 0x0010 the item is malformed (ids out of u16 range, name too long). */
  BAD_FORMAT: 0x0010,
} as const;

/** One of {@link FeedbagStatus}. */
export type FeedbagStatusCode = (typeof FeedbagStatus)[keyof typeof FeedbagStatus];

/** Caps applied while a batch is applied (the server advertises the same numbers in 13/03). */
export interface FeedbagLimits {
  /** Maximum items per user, all classes together. */
  maxItems: number;
  /** Optional maximum per class id (e.g. {0: 400, 1: 61}). */
  maxPerClass?: Readonly<Record<number, number>>;
  /**
   * Optional maximum of all items' names (UTF-8) and attributes together, in bytes: an insert or update that would
   * pass it gets MAX_ITEMS. Without it an account may hold maxItems items of 64 KB attributes each.
   */
  maxBytes?: number;
}

/** Longest item name accepted (bytes of UTF-8); longer names get BAD_FORMAT. */
export const FEEDBAG_MAX_NAME_BYTES = 255;
/** Largest attribute block accepted; larger gets BAD_FORMAT (the wire length field is u16). */
export const FEEDBAG_MAX_ATTRIBUTE_BYTES = 0xffff;

/** Feedbag persistence. A missing account gives STORE_NOT_FOUND on apply. */
export interface FeedbagStore {
  /** The user's items and last-modified time (empty, 0 for a user who never stored any). */
  get(screenName: string): Promise<Feedbag>;
  /**
   * Applies the changes in order inside one database transaction and returns one status per change. Like
   * 13/0E, each change succeeds or fails on its own; the successful ones are committed together (all or none if
   * the database fails), and lastModified advances only if at least one applied. Concurrent batches for the
   * same user are serialized, so an id can be taken only once.
   */
  apply(screenName: string, changes: readonly FeedbagChange[], limits: FeedbagLimits): Promise<FeedbagStatusCode[]>;
}
