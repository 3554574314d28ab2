/** Tunables of the OSCAR engine, with defaults. Every limit a hostile client could push against lives here. */
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottleOptions } from './auth/login-throttle.js';
import { DEFAULT_RATE_CLASSES, defaultRateClassMap, type RateClass, type RateClassMap } from './session/rate-classes.js';

/** Engine configuration. */
export interface EngineConfig {
  /** Host name/IP put in 17/03 BOS addresses (clients reconnect there). */
  advertisedHost: string;
  /** Largest FLAP frame accepted, header included (max 65541). */
  maxFrameSize: number;
  /** Output bytes a connection may have pending before it is treated as a slow reader and closed. */
  maxPendingOutput: number;
  /** Frames queued for processing before the socket is paused. */
  maxQueuedFrames: number;
  /** A connection that has not completed sign-on within this many ms is closed. */
  unauthenticatedTimeoutMs: number;
  /** Maximum simultaneous connections (further ones are closed at once). */
  maxConnections: number;
  /** Rate classes announced and enforced. */
  rateClasses: readonly RateClass[];
  /** (family, subtype) -> rate class. */
  rateClassMap: RateClassMap;
  /** BOS cookie lifetime (s). */
  cookieTtlSeconds: number;
  /** Login throttling (auth/login-throttle.ts); missing fields take the defaults. */
  loginThrottle: Partial<LoginThrottleOptions>;
  /** Locate: max profile/away length. */
  maxProfileLength: number;
  /** Locate: max cert-info block length (two RSA-3072 certs fit comfortably in 8192). */
  maxCertBlockLength: number;
  /** Locate: max capabilities. */
  maxCapabilities: number;
  /** ICBM: max message length advertised and enforced (encrypted IMs are ~1 KB+). */
  maxMessageLength: number;
  /** Buddy: max client-side buddies. */
  maxBuddies: number;
  /** Buddy: max watchers announced. */
  maxWatchers: number;
  /** PermitDeny: max entries per list. */
  maxPermitDeny: number;
  /** Feedbag: max items per user. */
  maxFeedbagItems: number;
  /** Bytes of all of a user's feedbag item names and attributes together (the store refuses an edit past it with 0x000C). */
  maxFeedbagBytes: number;
  /**
   * BOS sessions one account may hold at once, on every node together (multi-session sign-ons; a classic takeover
   * replaces the others). Each session of a user takes part in every presence change of that user, so the work of
   * one change grows with the square of this.
   */
  maxSessionsPerUser: number;
  /** Offline IMs held per recipient. */
  maxOfflinePerRecipient: number;
  /** Rooms (docs/protocol.md §3.6): rooms alive at once on the server (or cluster). */
  maxRooms: number;
  /** Rooms: rooms alive at once that one user created. */
  maxRoomsPerCreator: number;
  /** Rooms: connections in one room (announced as room TLV 0x00D2). */
  maxRoomOccupancy: number;
  /** Rooms: connections of one user in one room (a multi-session user's devices). */
  maxRoomConnectionsPerMember: number;
  /** Rooms: a chat connection that has not sent client ready (`01/02`) within this many ms is closed. */
  roomReadyTimeoutMs: number;
  /** Rooms: max room name length in UTF-8 bytes (announced as exchange TLV 0x0004). */
  maxRoomNameLength: number;
  /** Rooms: max message body (message-block TLV 0x0001) in bytes (announced as room TLV 0x00D1; u16). */
  maxRoomMessageLength: number;
  /** Rooms: max bytes of the room TLVs a creator may have stored. */
  maxRoomTlvBytes: number;
  /** Rooms: how long a room with nobody in it (not yet joined, or emptied) lives, ms. */
  roomEmptyTtlMs: number;
  /**
   * Rooms: how long a member of a secure room (0x00DB `application/pkcs7-mime`) whose connection closed stays
   * listed, ms; rejoining within it is not a leave and a join (clients rekey on leaves, docs/protocol.md §7).
   */
  secureRoomRejoinGraceMs: number;
}

/** Defaults. */
export function defaultEngineConfig(): EngineConfig {
  return {
    advertisedHost: '127.0.0.1',
    maxFrameSize: 65541,
    maxPendingOutput: 4 * 1024 * 1024,
    maxQueuedFrames: 256,
    unauthenticatedTimeoutMs: 30_000,
    maxConnections: 20_000,
    rateClasses: DEFAULT_RATE_CLASSES,
    rateClassMap: defaultRateClassMap(),
    cookieTtlSeconds: 60,
    loginThrottle: { ...DEFAULT_LOGIN_THROTTLE },
    maxProfileLength: 4096,
    maxCertBlockLength: 8192,
    maxCapabilities: 32,
    maxMessageLength: 8000,
    maxBuddies: 1000,
    maxWatchers: 3000,
    maxPermitDeny: 1000,
    maxFeedbagItems: 1500,
    // Ample for 1,500 items with full names, aliases, notes and group orders (~0.5 MB); a 13/02 reads and encodes it all.
    maxFeedbagBytes: 1024 * 1024,
    // Devices and terminals of one person (phone, laptops, a web tab, `certim listen` and a few `send`s at once).
    maxSessionsPerUser: 16,
    maxOfflinePerRecipient: 500,
    maxRooms: 1000,
    maxRoomsPerCreator: 10,
    maxRoomOccupancy: 100,
    maxRoomConnectionsPerMember: 4,
    roomReadyTimeoutMs: 30_000,
    maxRoomNameLength: 64,
    maxRoomMessageLength: 8000,
    maxRoomTlvBytes: 1024,
    roomEmptyTtlMs: 5 * 60_000,
    secureRoomRejoinGraceMs: 15_000,
  };
}
