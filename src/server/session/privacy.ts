/**
 * Permit/deny evaluation (docs/protocol.md §3.5, §3.9 attribute 0x00CA): who may see a user's presence and send them
 * IMs. Feedbag clients get it from their permit/deny/PD-info items, others from the PermitDeny family.
 */
import { normalizeScreenName } from '../../pki/screen-name.js';

/** PD modes: 1 permit all, 2 deny all, 3 permit some, 4 deny some, 5 permit buddies. */
export type PdMode = 1 | 2 | 3 | 4 | 5;

/** A user's privacy settings; names are normalized keys. Never changed in place: a change builds a new Privacy. */
export interface Privacy {
  /** Mode. */
  readonly mode: PdMode;
  /** Permit list. */
  readonly permit: ReadonlySet<string>;
  /** Deny list. */
  readonly deny: ReadonlySet<string>;
}

/** The empty list every Privacy without permit or deny entries shares (most users: no Sets per session). */
const NO_NAMES: ReadonlySet<string> = new Set();

/** Permit all with empty lists: what most users have, one object shared by all their sessions. */
const OPEN: Privacy = Object.freeze({ mode: 1, permit: NO_NAMES, deny: NO_NAMES });

/** Everyone may see and IM (the shared, frozen default). */
export function openPrivacy(): Privacy {
  return OPEN;
}

/** Coerces a stored/wire number to a mode (unknown values act as permit-all). */
export function toPdMode(n: number | undefined): PdMode {
  return n === 2 || n === 3 || n === 4 || n === 5 ? n : 1;
}

/** What mode 5 asks of a buddy list: is this (normalized) name on it. A Set is one; so is a session's `buddyLookup`. */
export interface BuddyLookup {
  has(key: string): boolean;
}

/**
 * True when the owner of `privacy` lets `otherKey` (normalized) see them and IM them.
 * `buddies` is the owner's buddy list, consulted only for mode 5.
 */
export function permits(privacy: Privacy, otherKey: string, buddies: BuddyLookup): boolean {
  switch (privacy.mode) {
    case 1:
      return true;
    case 2:
      return false;
    case 3:
      return privacy.permit.has(otherKey);
    case 4:
      return !privacy.deny.has(otherKey);
    case 5:
      return buddies.has(otherKey);
  }
}

/** Builds a Privacy from a mode and raw screen-name lists. */
export function privacyFrom(mode: number | undefined, permit: Iterable<string>, deny: Iterable<string>): Privacy {
  const m = toPdMode(mode);
  const p = nameSet(permit);
  const d = nameSet(deny);
  return m === 1 && p === NO_NAMES && d === NO_NAMES ? OPEN : { mode: m, permit: p, deny: d };
}

function nameSet(names: Iterable<string>): ReadonlySet<string> {
  let set: Set<string> | undefined;
  for (const n of names) (set ??= new Set()).add(normalizeScreenName(n));
  return set ?? NO_NAMES;
}
