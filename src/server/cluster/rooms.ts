/**
 * The room registry: which chat rooms exist, with every room TLV their creator sent (docs/protocol.md §3.6), and
 * how many connections occupy each. Room **membership** (who is in a room, and the path of every room message)
 * is not here: it is in the delivery directory (cluster/directory.ts), under the room's directory key
 * ({@link roomDirectoryKey}), so fan-out to a room is one `sendToUser(room key)` that reaches members on every
 * node. This registry holds only what the directory cannot: the room's description and its occupancy count.
 *
 * Rooms are ephemeral, as in AIM: a room lives while it has occupants, and for a grace period (`emptyTtlMs`)
 * after it was created or last emptied, so its creator can join and a member whose connection dropped rejoins the
 * same room (same cookie, same 0x00DB content type) — a secure room's membership survives a reconnect (§7).
 *
 * Every value crossing this interface is plain data (strings, numbers, `Uint8Array`), and every method returns a
 * promise, so a cluster implementation (e.g. a NATS key-value bucket with compare-and-set per room) plugs in
 * unchanged; `local-rooms.ts` is the in-process one. A cluster implementation must make `createOrGet` and
 * `enter` atomic per room (two creators get one room; occupancy never exceeds the limit).
 */
import { encodeText } from '../../wire/bytes.js';

/** One room as the registry stores it. */
export interface RoomRecord {
  /** The room's cookie (AOL form, docs/protocol.md §3.6): its id everywhere (ChatNav, `01/04`, service cookies). */
  cookie: string;
  /** Directory key its members are registered under ({@link roomDirectoryKey}). */
  key: string;
  /** Exchange (4: user-created rooms). */
  exchange: number;
  /** Instance. */
  instance: number;
  /** Room name as its creator wrote it. */
  name: string;
  /** Normalized screen name of the creator. */
  creator: string;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** The creator's room TLVs that the server does not own, as a TLV rest-list, in the creator's order. */
  tlvs: Uint8Array;
  /** Connections in the room now. */
  occupants: number;
}

/** What creating a room takes. */
export interface RoomSpec {
  /** Exchange. */
  exchange: number;
  /** Name as written (already validated). */
  name: string;
  /** Normalized creator. */
  creator: string;
  /** Stored room TLVs (rest-list bytes). */
  tlvs: Uint8Array;
  /** Cookie for the room ({@link roomCookie} of `wire/families/chat-nav.ts`). */
  cookie: string;
}

/** Limits a registry enforces. */
export interface RoomLimits {
  /** Rooms alive at once (all creators). */
  maxRooms: number;
  /** Rooms alive at once that one user created. */
  maxRoomsPerCreator: number;
  /** Connections in one room. */
  maxOccupancy: number;
  /** Connections of one user in one room (devices of a multi-session user; a classic rejoin briefly holds two). */
  maxPerMember: number;
  /** How long an empty room (never joined, or emptied) lives, ms. */
  emptyTtlMs: number;
}

/** Stable codes of room failures. */
export type RoomErrorCode = 'ROOM_LIMIT' | 'ROOM_CREATOR_LIMIT' | 'ROOM_NOT_FOUND' | 'ROOM_FULL' | 'ROOM_MEMBER_LIMIT';

/** A room failure with a stable code. */
export class RoomError extends Error {
  /** @param code stable code; @param message detail (never message contents) */
  constructor(
    readonly code: RoomErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RoomError';
  }

  /** True when `e` is a RoomError (optionally with `code`). */
  static is(e: unknown, code?: RoomErrorCode): e is RoomError {
    return e instanceof RoomError && (code === undefined || e.code === code);
  }
}

/** The rooms of a server (or of a cluster). All methods are safe to call concurrently. */
export interface RoomRegistry {
  /** The live room with `spec`'s exchange and normalized name, or a new one (RoomError ROOM_LIMIT / ROOM_CREATOR_LIMIT). */
  createOrGet(spec: RoomSpec, nowMs: number): Promise<{ room: RoomRecord; created: boolean }>;
  /** The live room with this cookie. */
  get(cookie: string, nowMs: number): Promise<RoomRecord | undefined>;
  /**
   * Counts one more connection of `user` (normalized) in the room: RoomError ROOM_NOT_FOUND when the room is gone,
   * ROOM_FULL at `maxOccupancy`, ROOM_MEMBER_LIMIT when the user already has `maxPerMember` connections there.
   */
  enter(cookie: string, user: string, nowMs: number): Promise<RoomRecord>;
  /** Counts one connection of `user` less; the empty room lives `emptyTtlMs` more. Call once per successful `enter`. */
  leave(cookie: string, user: string, nowMs: number): Promise<void>;
}

/** A room name compared the way AIM compared them: case-insensitive, runs of white space as one space, trimmed. */
export function normalizeRoomName(name: string): string {
  return name.normalize('NFC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/**
 * The delivery-directory key a room's members are registered under: `room_<exchange>_<hex of the normalized
 * name>`. Only `[a-z0-9_]`, so it is safe as a NATS subject token or key-value key, and it can never be a
 * screen name (normalized screen names are `[a-z0-9]` only, store/screen-name.ts).
 */
export function roomDirectoryKey(exchange: number, name: string): string {
  return `room_${exchange}_${Buffer.from(encodeText(normalizeRoomName(name))).toString('hex')}`;
}
