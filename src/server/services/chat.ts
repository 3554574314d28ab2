/**
 * The Chat service (docs/protocol.md §3.7, §3.8): one connection per room, reached by `01/04` for family 0x000E
 * with TLV 0x0001 naming the room; the `01/05` cookie carries that room's cookie, signed, so a cookie for one room
 * never opens another.
 *
 * Membership lives in the delivery directory: each chat connection is an entry under the room's directory key
 * (cluster/rooms.ts `roomDirectoryKey`), never under the user's own name (a chat connection is not the user being
 * online, and IMs never reach it). Its presence snapshot carries the member's formatted name and user-info block,
 * so any node lists the room's members with `sessionsOf(room key)` and reaches them all with
 * `sendToUser(room key)`. Occupancy is counted in the room registry (`enter`/`leave`), atomically per room.
 *
 * - Redeeming the cookie: the room must still exist and have room, and the user fewer than
 *   `maxRoomConnectionsPerMember` connections in it (else the connection is signed off); the session is registered
 *   under the room key, not yet ready, and closed if it is not ready within `roomReadyTimeoutMs` (so nobody fills a
 *   room with connections that never join).
 * - Client ready: the member's block is the user's published BOS block (capabilities, certificate hash 0x001B —
 *   what a secure-room member needs to fetch the others' certificates), else one built from the stored data. A
 *   classic client (no multi-conn flag) rejoining displaces its own older connection to the room; a multi-session
 *   client may be in the room from several devices. The joiner gets `0E/03` with every member (once per user)
 *   and `0E/02` with the room info; the others get `0E/03` for the joiner unless that user was already present.
 * - Close: leave (occupancy), unregister; the others get `0E/04` once the user's last connection to the room is
 *   gone — a reconnect that displaces the old connection is never seen as leaving. In a secure room the entry of
 *   a closed connection is kept `secureRoomRejoinGraceMs` first, so a member whose connection dropped and who
 *   rejoins within it is neither a leave nor a join: secure-room membership survives a reconnect (§7).
 */
import { ByteReader, encodeText } from '../../wire/bytes.js';
import { CONTENT_TYPE_SECURE, RoomTlv, cookieText, readMiniRoomInfo } from '../../wire/families/chat-nav.js';
import { decodeTlvRestList } from '../../wire/tlv.js';
import { ServiceTlv } from '../../wire/families/oservice.js';
import { SnacErrorCode } from '../../wire/snac.js';
import { CHAT_FAMILY, ChatSubtype, encodeUserInfoBlocks } from '../../wire/families/chat.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { CookieClaims } from '../auth/cookie.js';
import { DirectoryError, representative, sameSession, type Envelope, type PresenceSnapshot } from '../cluster/directory.js';
import type { RoomRecord } from '../cluster/rooms.js';
import type { Engine } from '../engine.js';
import type { HandlerEnv } from '../handler-env.js';
import { LogEvent } from '../log.js';
import { roomInfoBody } from '../families/chat-nav.js';
import { chatFamily, memberAddresses, membershipOf, setMembership } from '../families/chat.js';
import { oserviceFamily } from '../families/oservice.js';
import { Session, type SessionLink } from '../session/session.js';
import { userInfoBlock } from '../session/user-info-block.js';
import type { OscarService } from './service.js';

const SIGNED_ON_ELSEWHERE = 1;

function chatSnac(subtype: number, body: Uint8Array, extra: Omit<Envelope, 'delivery'> = {}): Envelope {
  return { delivery: { kind: 'snac', family: CHAT_FAMILY, subtype, body }, service: 'chat', ...extra };
}

async function start(engine: Engine, claims: CookieClaims, link: SessionLink): Promise<Session> {
  if (!claims.room) throw new Error('chat cookie without a room');
  const now = engine.clock.now();
  const s = new Session(claims.screenName, link, now, { id: engine.nextSessionId(), node: engine.directory.node, service: 'chat', multiConn: claims.multiConn, exclusive: false });
  const room = await engine.rooms.enter(cookieText(claims.room), s.key, now);
  setMembership(s, { room });
  try {
    const info = await engine.ports.userInfo.get(claims.screenName);
    if (info.certHash) s.certHash = info.certHash;
    engine.registry.add(s);
    await engine.directory.register({ address: s.address, user: room.key, service: 'chat', exclusive: false });
  } catch (e) {
    engine.registry.remove(s);
    await engine.rooms.leave(room.cookie, s.key, engine.clock.now());
    throw e;
  }
  // An occupant that never becomes ready must not hold its place (and the room) for ever.
  const readyTimer = setTimeout(() => {
    if (!s.ready && !s.closed) link.signOff();
  }, engine.config.roomReadyTimeoutMs).unref();
  membershipOf(s)!.cancelReadyTimer = () => clearTimeout(readyTimer);
  return s;
}

/**
 * Secure-room members whose connection dropped and whose entry still stands for the rejoin grace, per engine:
 * room key + NUL + member -> ends the grace now. One per member and room, so churning connections (join, drop,
 * join again) cannot pile entries under the room's key, where every join and every message walks them.
 */
const lingering = new WeakMap<object, Map<string, () => void>>();

function lingeringOf(engine: object): Map<string, () => void> {
  let m = lingering.get(engine);
  if (!m) lingering.set(engine, (m = new Map()));
  return m;
}

async function clientReady(env: HandlerEnv, s: Session): Promise<void> {
  const m = membershipOf(s);
  if (s.ready || s.closed || !m) return;
  m.cancelReadyTimer?.();
  const now = env.clock.now();
  const rep = representative(await env.directory.sessionsOf(s.key));
  const block = rep ? rep.presence.info : userInfoBlock(s, now);
  const before = await env.directory.sessionsOf(m.room.key);
  const mine = before.filter((e) => e.presence && normalizeScreenName(e.presence.screenName) === s.key && !sameSession(e.address, s.address));
  if (s.multiConn !== 1) {
    for (const e of mine) await env.directory.sendTo(e.address, { delivery: { kind: 'sign-off', reason: SIGNED_ON_ELSEWHERE } });
  }
  s.ready = true;
  m.block = block;
  const presence: PresenceSnapshot = {
    screenName: s.screenName, info: block, at: now, signedOnAt: s.signedOnAt * 1000, idle: false, away: false,
    privacy: { mode: 1, permit: [], deny: [], buddies: [], changedAt: now },
  };
  await env.directory.update(s.address, presence);
  const seen = new Set<string>();
  const blocks: Uint8Array[] = [];
  for (const e of await env.directory.sessionsOf(m.room.key)) {
    if (!e.presence) continue;
    const k = normalizeScreenName(e.presence.screenName);
    if (seen.has(k)) continue;
    seen.add(k);
    blocks.push(e.presence.info);
  }
  await env.directory.sendTo(s.address, chatSnac(ChatSubtype.USERS_JOINED, encodeUserInfoBlocks(blocks)));
  await env.directory.sendTo(s.address, chatSnac(ChatSubtype.ROOM_INFO_UPDATE, roomInfoBody(m.room, env.config)));
  // A connection that closed meanwhile was never announced, so its close tells nobody either (no ghost member).
  if (s.closed) return;
  m.announced = true;
  if (mine.length === 0) await env.directory.sendToUser(m.room.key, chatSnac(ChatSubtype.USERS_JOINED, block, { except: s.address }));
  // Back within the grace: the entry of the dropped connection has served (nobody was told of a leave or a join).
  lingeringOf(env).get(`${m.room.key}\u0000${s.key}`)?.();
}

function end(engine: Engine, s: Session): void {
  s.closed = true;
  if (!engine.registry.remove(s)) return;
  const m = membershipOf(s);
  if (!m) return;
  m.cancelReadyTimer?.();
  const leave = async (): Promise<void> => {
    await engine.directory.unregister(s.address);
    if (!m.announced || !m.block || (await memberAddresses({ engine }, m.room.key, s.key)).length > 0) return;
    await engine.directory.sendToUser(m.room.key, chatSnac(ChatSubtype.USERS_LEFT, m.block));
  };
  const failed = (e: unknown): void => {
    if (!DirectoryError.is(e, 'DIRECTORY_CLOSED')) engine.log('error', LogEvent.DELIVERY_FAILED, { operation: 'leave room', error: String(e) });
  };
  engine.rooms.leave(m.room.cookie, s.key, engine.clock.now()).catch(failed);
  // A secure-room member whose connection dropped stays listed (its entry stays, deliveries to it fail) for a
  // grace period: a rejoin within it finds the member present and is announced to nobody.
  const grace = m.announced && isSecure(m.room) ? engine.config.secureRoomRejoinGraceMs : 0;
  if (grace <= 0) return void leave().catch(failed);
  const waiting = lingeringOf(engine);
  const k = `${m.room.key}\u0000${s.key}`;
  // An earlier dropped connection of this member still lingering leaves now: this one's entry stands in for it.
  waiting.get(k)?.();
  const endGrace = (): void => {
    clearTimeout(timer);
    if (waiting.get(k) === endGrace) waiting.delete(k);
    void leave().catch(failed);
  };
  const timer = setTimeout(endGrace, grace).unref();
  waiting.set(k, endGrace);
}

function isSecure(room: RoomRecord): boolean {
  return decodeTlvRestList(room.tlvs).string(RoomTlv.CONTENT_TYPE)?.trim().toLowerCase().startsWith(CONTENT_TYPE_SECURE) ?? false;
}

/** Chat. */
export const chatService: OscarService = {
  id: 'chat',
  families: [oserviceFamily, chatFamily],
  requestFamily: CHAT_FAMILY,
  request: async (ctx, tlvs) => {
    const raw = tlvs.bytes(ServiceTlv.ROOM);
    if (raw === undefined) return SnacErrorCode.MalformedPayload;
    // Lenient about bytes after the mini room info, as about other clients' extras (docs/protocol.md §1.3).
    const mini = readMiniRoomInfo(new ByteReader(raw));
    const room = await ctx.engine.rooms.get(cookieText(mini.cookie), ctx.engine.clock.now());
    if (!room || room.exchange !== mini.exchange) return SnacErrorCode.NoMatch;
    if (room.occupants >= ctx.engine.config.maxRoomOccupancy) return SnacErrorCode.RequestDenied;
    return { room: encodeText(room.cookie) };
  },
  start,
  clientReady,
  end,
};
