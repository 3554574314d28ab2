/**
 * Buddy certificates and the three trust levels the user sees:
 * - `ca`: the buddy's certificate is valid for that screen name under the pinned CA (the default);
 * - `personal`: the user compared the identity fingerprint out of band (`certim trust verify`) and it matched;
 * - `changed`: the buddy's certificate differs from the one first seen / verified, and the user has not
 *   verified the new one yet (a safety-number change).
 * The record is per buddy, keyed by the normalized screen name; storage is behind {@link BuddyStore}.
 */
import { toHex } from '../wire/bytes.js';
import { sha256 } from '../wire/sha256.js';
import { formatFingerprint, parseFingerprint } from '../pki/fingerprint.js';
import { normalizeScreenName } from '../pki/screen-name.js';

/** What the UI shows for a buddy or a message. */
export type TrustLevel = 'ca' | 'personal' | 'changed';

/** What we remember about a buddy's certificates. */
export interface BuddyRecord {
  /** Screen name as last seen. */
  screenName: string;
  /** Hex MD5 of the certificate-info block (user-info TLV 0x001B) these certs came from. */
  certInfoHash: string;
  /** The block itself, base64 (so a restart needs no refetch). */
  certInfo: string;
  /** SHA-256 over encryption-cert DER ‖ signing-cert DER, hex: what users compare. */
  fingerprint: string;
  /** SHA-256 of the encryption (or common) certificate, hex. */
  encryptionFingerprint: string;
  /** SHA-256 of the signing certificate, hex. */
  signingFingerprint: string;
  /** Fingerprint the user personally verified, if any. */
  verifiedFingerprint?: string;
  /** The fingerprint we had before the current one, when it changed and is not yet verified. */
  previousFingerprint?: string;
  /** ISO time first seen. */
  firstSeen: string;
  /** ISO time this fingerprint was first seen. */
  since: string;
  /** Whether the buddy announced certim's modern capability when last seen. */
  modern?: boolean;
  /**
   * ISO time the buddy was first seen with the modern profile: from then on IMs to it use the modern profile even
   * when a presence lacks the capability (like HSTS, docs/protocol.md §11.1). Reset only by an acknowledged key change
   * (`trust verify` of a changed key, `trust accept`).
   */
  modernSince?: string;
}

/** A value, or a promise of it: store methods may be synchronous (files, memory) or not (IndexedDB). */
export type Awaitable<T> = T | Promise<T>;

/**
 * Where buddy records live (the profile directory in Node, node/profile.ts; IndexedDB in a browser). The client
 * awaits every call, so an implementation may be asynchronous.
 */
export interface BuddyStore {
  /** The record for a buddy, if any. */
  get(screenName: string): Awaitable<BuddyRecord | undefined>;
  /** Stores (replaces) a buddy's record. */
  put(record: BuddyRecord): Awaitable<void>;
  /** All records. */
  all(): Awaitable<BuddyRecord[]>;
}

/** An in-memory {@link BuddyStore} (tests, and sessions without a profile). */
export class MemoryBuddyStore implements BuddyStore {
  private readonly map = new Map<string, BuddyRecord>();
  get(screenName: string): BuddyRecord | undefined {
    return this.map.get(normalizeScreenName(screenName));
  }
  put(record: BuddyRecord): void {
    this.map.set(normalizeScreenName(record.screenName), record);
  }
  all(): BuddyRecord[] {
    return [...this.map.values()];
  }
}

/** SHA-256 of one certificate's DER, lowercase hex (a CA root's pin, one role of a buddy's pair). */
export function certFingerprint(der: Uint8Array): string {
  return toHex(sha256(der));
}

/** The identity fingerprint of a certificate pair (for numcerts 1 the same certificate twice). */
export function identityFingerprint(encryptionDer: Uint8Array, signingDer: Uint8Array): string {
  return toHex(sha256(encryptionDer, signingDer));
}

/**
 * The one fingerprint format (pki/fingerprint.ts): `formatFingerprint` for text people read (uppercase hex in
 * groups of four), `parseFingerprint` for anything typed (any form to lowercase hex, the machine form of JSON),
 * `isSha256Fingerprint` to check an input before using it.
 */
export { formatFingerprint, isSha256Fingerprint, parseFingerprint } from '../pki/fingerprint.js';

/** The trust level of a buddy record. */
export function trustLevel(rec: BuddyRecord): TrustLevel {
  if (rec.previousFingerprint !== undefined) return 'changed';
  if (rec.verifiedFingerprint !== undefined && rec.verifiedFingerprint === rec.fingerprint) return 'personal';
  return 'ca';
}

/** A key change noticed while updating a record. */
export interface KeyChange {
  /** The buddy. */
  screenName: string;
  /** Fingerprint before. */
  oldFingerprint: string;
  /** Fingerprint now. */
  newFingerprint: string;
  /** The buddy had been personally verified before the change. */
  wasVerified: boolean;
}

/**
 * Folds newly fetched, verified certificates into the buddy's record. Returns the new record and the key change,
 * if the fingerprint differs from the one we had.
 */
export function updateRecord(
  prev: BuddyRecord | undefined,
  next: Omit<BuddyRecord, 'firstSeen' | 'since' | 'verifiedFingerprint' | 'previousFingerprint' | 'modernSince'>,
  now = new Date(),
): { record: BuddyRecord; change?: KeyChange } {
  const iso = now.toISOString();
  if (!prev) return { record: { ...next, firstSeen: iso, since: iso } };
  if (prev.fingerprint === next.fingerprint) {
    return { record: { ...prev, ...next, firstSeen: prev.firstSeen, since: prev.since, verifiedFingerprint: prev.verifiedFingerprint, previousFingerprint: prev.previousFingerprint } };
  }
  const record: BuddyRecord = {
    ...next,
    firstSeen: prev.firstSeen,
    since: iso,
    previousFingerprint: prev.fingerprint,
    ...(prev.verifiedFingerprint !== undefined ? { verifiedFingerprint: prev.verifiedFingerprint } : {}),
    // A new key does not lift the modern-profile pin: only the user's acknowledgement does.
    ...(prev.modernSince !== undefined ? { modernSince: prev.modernSince } : {}),
  };
  return {
    record,
    change: { screenName: next.screenName, oldFingerprint: prev.fingerprint, newFingerprint: next.fingerprint, wasVerified: prev.verifiedFingerprint === prev.fingerprint },
  };
}

/**
 * Marks the buddy's current certificate as personally verified when `fingerprint` matches it. Verifying a changed
 * key acknowledges the change, which also resets the modern-profile pin (it is set again when next seen).
 */
export function verifyRecord(rec: BuddyRecord, fingerprint: string): { ok: true; record: BuddyRecord } | { ok: false; expected: string } {
  const fp = parseFingerprint(fingerprint);
  if (fp !== rec.fingerprint) return { ok: false, expected: rec.fingerprint };
  const { previousFingerprint, modernSince, ...rest } = rec;
  const keepPin = previousFingerprint === undefined && modernSince !== undefined ? { modernSince } : {};
  return { ok: true, record: { ...rest, ...keepPin, verifiedFingerprint: fp } };
}

/**
 * Accepts a changed key without personal verification (`certim trust accept`): the record drops to `ca`, the
 * old verification and the modern-profile pin are cleared. Undefined when there is no change to accept.
 */
export function acceptRecord(rec: BuddyRecord): BuddyRecord | undefined {
  if (rec.previousFingerprint === undefined) return undefined;
  const { previousFingerprint: _p, verifiedFingerprint: _v, modernSince: _m, ...rest } = rec;
  return rest;
}

/**
 * The key change a record still holds (seen, not yet verified or accepted), as {@link updateRecord} reported it;
 * undefined when there is none. Lets a UI warn again after a restart until the user acts.
 */
export function pendingKeyChange(rec: BuddyRecord): KeyChange | undefined {
  if (rec.previousFingerprint === undefined) return undefined;
  return { screenName: rec.screenName, oldFingerprint: rec.previousFingerprint, newFingerprint: rec.fingerprint, wasVerified: rec.verifiedFingerprint === rec.previousFingerprint };
}

/** True when the buddy was personally verified and its key changed since: sending must wait for the user. */
export function verifiedKeyChanged(rec: BuddyRecord): boolean {
  return rec.previousFingerprint !== undefined && rec.verifiedFingerprint !== undefined && rec.verifiedFingerprint !== rec.fingerprint;
}

/**
 * Why nothing goes to a buddy whose verified key changed ({@link verifiedKeyChanged}), and what the user can do: one
 * text for IMs and peer connections (direct IM, file transfer, Get File) alike. `what`: what was refused.
 */
export function keyChangedRefusal(rec: BuddyRecord, what: string): string {
  return `${rec.screenName}'s key changed since you personally verified it (verified ${formatFingerprint(rec.verifiedFingerprint ?? '')}, now ${formatFingerprint(rec.fingerprint)}); ${what}. ` +
    `Check the new fingerprint with ${rec.screenName}, then run \`certim trust verify ${rec.screenName} FINGERPRINT\`, or accept it unverified with \`certim trust accept ${rec.screenName}\``;
}

/** Sets the modern-profile pin when the record says the buddy announces the modern profile. */
export function pinModern(rec: BuddyRecord, now: Date): BuddyRecord {
  return rec.modern && rec.modernSince === undefined ? { ...rec, modernSince: now.toISOString() } : rec;
}
