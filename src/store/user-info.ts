/**
 * Per-user Locate data that outlives a session (docs/protocol.md §3.2): profile, away message and the uploaded
 * certificate-info block with its MD5 (the user-info TLV 0x001B value, §4.2). Bytes are kept exactly as the
 * client sent them, since the charset is in the MIME type and the cert hash must match the served bytes.
 */

/** A user's stored Locate data; fields are null when never set or cleared. */
export interface UserInfo {
  /** Profile MIME type (02/04 TLV 0x0001), e.g. `text/aolrtf; charset="us-ascii"`. */
  profileMime: string | null;
  /** Profile bytes (02/04 TLV 0x0002). */
  profile: Uint8Array | null;
  /** Away MIME type (02/04 TLV 0x0003). */
  awayMime: string | null;
  /** Away text bytes (02/04 TLV 0x0004); null = not away. */
  away: Uint8Array | null;
  /** Certificate-info block exactly as uploaded (02/04 TLV 0x0006 value, §6.1). */
  certBlock: Uint8Array | null;
  /** MD5 of {@link certBlock}, computed by the store so the two can never disagree (TLV 0x001B). */
  certHash: Uint8Array | null;
  /** Last change, ms since the epoch (0 when nothing is stored). */
  updatedAt: number;
}

/** Profile / away / certificate persistence. A missing account gives STORE_NOT_FOUND on writes. */
export interface UserInfoStore {
  /** The stored data; every field null (updatedAt 0) when nothing was ever set. */
  get(screenName: string): Promise<UserInfo>;
  /** Sets (or with null clears) the profile and its MIME type. */
  setProfile(screenName: string, mime: string | null, profile: Uint8Array | null): Promise<void>;
  /** Sets (or with null clears) the away message and its MIME type. */
  setAway(screenName: string, mime: string | null, away: Uint8Array | null): Promise<void>;
  /** Stores (or with null clears) the certificate-info block; returns its MD5 (null when cleared). */
  setCertBlock(screenName: string, block: Uint8Array | null): Promise<Uint8Array | null>;
}
