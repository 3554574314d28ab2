/**
 * The user-info block the server emits for a session (docs/protocol.md §4.1): class, online-since, idle, status, and —
 * in every block, so buddies notice changes — capabilities (0x000D) and the cert-info hash (0x001B, §4.2).
 */
import { UserClass, UserInfoBuilder } from '../../wire/user-info.js';
import type { Session } from './session.js';

/**
 * Encodes the session's user-info block as of `nowMs`. The bytes are cached on the session (every relayed IM
 * carries the sender's block) until `session.touch()` or the idle minute changes.
 */
export function userInfoBlock(s: Session, nowMs: number): Uint8Array {
  const idleMinutes = s.idleSince > 0 ? Math.min(0xffff, Math.floor((nowMs - s.idleSince) / 60_000)) : -1;
  const cached = s.infoCache;
  if (cached && cached.idleMinutes === idleMinutes) return cached.bytes;
  const bytes = buildBlock(s, idleMinutes);
  s.infoCache = { idleMinutes, bytes };
  return bytes;
}

function buildBlock(s: Session, idleMinutes: number): Uint8Array {
  const b = new UserInfoBuilder(s.screenName).warningLevel(s.warning);
  b.userClass(UserClass.Aim | (s.away !== undefined ? UserClass.Away : 0));
  b.onlineSince(s.signedOnAt);
  if (idleMinutes >= 0) b.idleMinutes(idleMinutes);
  b.status(s.status >>> 0);
  b.capabilities(s.capabilities);
  if (s.certHash !== undefined) b.certInfoHash(s.certHash);
  return b.encode().slice();
}

/** A minimal block for a user who is not signed on (offline IM senders, cert queries for offline users). */
export function offlineUserInfoBlock(screenName: string, certHash?: Uint8Array): Uint8Array {
  const b = new UserInfoBuilder(screenName).userClass(UserClass.Aim).capabilities([]);
  if (certHash !== undefined) b.certInfoHash(certHash);
  return b.encode();
}
