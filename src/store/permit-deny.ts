/**
 * Permit/deny lists for clients without a feedbag (PermitDeny family 0x0009, docs/protocol.md §3.5). Feedbag clients
 * keep theirs as feedbag items (classes 0x02/0x03/0x04) instead.
 */

/** Visibility mode, numerically the feedbag PD-mode attribute 0x00CA (docs/protocol.md §3.9). */
export const PermitDenyMode = {
  /** 1: everyone may see me and IM me. */
  PERMIT_ALL: 1,
  /** 2: nobody may. */
  DENY_ALL: 2,
  /** 3: only the permit list may. */
  PERMIT_SOME: 3,
  /** 4: everyone except the deny list may. */
  DENY_SOME: 4,
  /** 5: only my buddies may. */
  PERMIT_BUDDIES: 5,
} as const;

/** One of {@link PermitDenyMode}. */
export type PermitDenyModeValue = (typeof PermitDenyMode)[keyof typeof PermitDenyMode];

/** A user's lists; names are normalized keys, sorted. */
export interface PermitDenyState {
  /** Current mode; PERMIT_ALL when never set. */
  mode: PermitDenyModeValue;
  /** Normalized screen names on the permit list. */
  permit: string[];
  /** Normalized screen names on the deny list. */
  deny: string[];
}

/** Which list an entry belongs to. */
export type PermitDenyList = 'permit' | 'deny';

/** Permit/deny persistence. Names are normalized; a missing account gives STORE_NOT_FOUND on writes. */
export interface PermitDenyStore {
  /** Mode and both lists. */
  get(screenName: string): Promise<PermitDenyState>;
  /** Sets the mode. */
  setMode(screenName: string, mode: PermitDenyModeValue): Promise<void>;
  /** Adds names (duplicates ignored); STORE_LIMIT and nothing added if the list would exceed max. */
  add(screenName: string, list: PermitDenyList, names: readonly string[], max: number): Promise<void>;
  /** Removes names (absent ones ignored); returns how many were removed. */
  remove(screenName: string, list: PermitDenyList, names: readonly string[]): Promise<number>;
}
