/**
 * BOS session start and end: what happens when a BOS cookie is redeemed (load persisted state, register with the
 * delivery directory, which applies the takeover rule), at client ready (arrivals both ways, queued offline IMs),
 * and at close (unregister: watchers on every node see a departure when it was the user's last session).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ICBM_FAMILY, IcbmSubtype, IcbmTlv, encodeDelivery } from '../../wire/families/icbm.js';
import { ByteReader } from '../../wire/bytes.js';
import { readTlvRestList, tlvU32 } from '../../wire/tlv.js';
import type { CookieClaims } from '../auth/cookie.js';
import type { Engine } from '../engine.js';
import type { HandlerEnv } from '../handler-env.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { LogEvent } from '../log.js';
import { privacyFrom } from './privacy.js';
import { Session, type SessionLink } from './session.js';
import { offlineUserInfoBlock, userInfoBlock } from './user-info-block.js';

/**
 * Creates and registers a BOS session for a redeemed cookie. The directory displaces the user's other sessions
 * as its rule says (an exclusive sign-on displaces all; a multi-session one only exclusive ones); each displaced
 * session is sent ch-4 reason 0x0001 (signed on elsewhere, docs/protocol.md §1.1) wherever it is.
 */
export async function startSession(
  engine: Engine,
  claims: Pick<CookieClaims, 'screenName' | 'multiConn'> & { service?: string; exclusive?: boolean },
  link: SessionLink,
): Promise<Session> {
  const { screenName } = claims;
  const s = new Session(screenName, link, engine.clock.now(), {
    id: engine.nextSessionId(), node: engine.directory.node, service: claims.service ?? 'bos', multiConn: claims.multiConn,
    ...(claims.exclusive !== undefined ? { exclusive: claims.exclusive } : {}),
  });
  const [info, pd] = await Promise.all([engine.ports.userInfo.get(screenName), engine.ports.permitDeny.get(screenName)]);
  if (info.certHash) s.certHash = info.certHash;
  s.privacy = privacyFrom(pd.mode, pd.permit, pd.deny);
  engine.registry.add(s);
  engine.onSessionStart();
  try {
    const displaced = await engine.directory.register(
      { address: s.address, user: s.key, service: s.service, exclusive: s.exclusive },
      s.service === 'bos' ? { maxSessions: engine.config.maxSessionsPerUser } : {},
    );
    if (displaced.length > 0) engine.log('info', LogEvent.SESSION_TAKEN_OVER, { screenName, count: displaced.length });
  } catch (e) {
    engine.registry.remove(s);
    throw e;
  }
  return s;
}

/** 01/02 client ready: presence both ways, then queued offline IMs (each removed once handed to the socket). */
export async function clientReady(engine: HandlerEnv, s: Session): Promise<void> {
  if (s.ready || s.closed) return;
  s.ready = true;
  engine.presence.reindex(s);
  await engine.presence.arrivalsFor(s);
  await engine.presence.broadcast(s);
  await deliverOffline(engine, s);
}

/** Offline IMs stop being written while the connection holds more than this not yet sent (a quarter of the slow-reader limit's default). */
export const OFFLINE_PACE_BYTES = 1024 * 1024;
/** How often a paced delivery looks at the connection again, and how long it waits for it in all before it leaves the rest stored. */
const OFFLINE_PACE_POLL_MS = 20;
const OFFLINE_PACE_GIVE_UP_MS = 60_000;

/**
 * Hands the user's stored IMs to the new session in rounds of 50, acking each round once it is written. Paced: while
 * the connection holds more than {@link OFFLINE_PACE_BYTES} not yet sent, it waits for the client to read, so a full
 * queue (500 IMs of up to ~9 KB) never trips the slow-reader limit by itself. A round is acked only while the
 * connection is open: one that closed under it (a slow reader's socket is destroyed with its unsent output) keeps
 * the round stored, so a message may come twice but is never acked unsent.
 */
async function deliverOffline(engine: HandlerEnv, s: Session): Promise<void> {
  // Cert hashes of senders who are not online, read once per sender however many IMs they left.
  const storedHashes = new Map<string, Uint8Array | undefined>();
  const storedHash = async (sender: string): Promise<Uint8Array | undefined> => {
    if (!storedHashes.has(sender)) storedHashes.set(sender, (await engine.ports.userInfo.get(sender)).certHash ?? undefined);
    return storedHashes.get(sender);
  };
  for (let round = 0; round < 1000 && !s.closed; round++) {
    if (!(await writable(s))) return;
    const batch = await engine.ports.offline.fetch(s.screenName, 50);
    if (batch.length === 0 || s.closed) return;
    const handed: number[] = [];
    let backedUp = false;
    for (const m of batch) {
      if (s.link.pendingOutput > OFFLINE_PACE_BYTES) {
        backedUp = true;
        break;
      }
      const sender = engine.registry.readyByKey(normalizeScreenName(m.sender));
      // The sender's cert hash matters even when they are gone: it names the certificate to verify a secure IM with.
      const info = sender
        ? userInfoBlock(sender, engine.clock.now())
        : offlineUserInfoBlock(m.sender, await storedHash(m.sender));
      const tlvs = readTlvRestList(new ByteReader(m.payload));
      const body = encodeDelivery(m.cookie, m.channel, info, tlvs, undefined, [tlvU32(IcbmTlv.OFFLINE_TIMESTAMP, Math.floor(m.sentAt / 1000))]);
      // Only what reached the socket is acked: a connection that closed meanwhile (during the sender lookup,
      // or as a slow reader) keeps the rest stored for the next sign-on.
      const envelope = { delivery: { kind: 'snac' as const, family: ICBM_FAMILY, subtype: IcbmSubtype.CHANNEL_MSG_TO_CLIENT, body } };
      if (!(await engine.directory.sendTo(s.address, envelope))) break;
      handed.push(m.id);
    }
    if (s.link.closed) return;
    if (handed.length > 0) await engine.ports.offline.ack(s.screenName, handed);
    if (!backedUp && handed.length < 50) return;
  }
}

/** Resolves true once the session's connection holds at most {@link OFFLINE_PACE_BYTES} unsent, false if it closes or stays backed up for a minute. */
async function writable(s: Session): Promise<boolean> {
  for (let waited = 0; s.link.pendingOutput > OFFLINE_PACE_BYTES; waited += OFFLINE_PACE_POLL_MS) {
    if (s.closed || s.link.closed || waited >= OFFLINE_PACE_GIVE_UP_MS) return false;
    await sleep(OFFLINE_PACE_POLL_MS);
  }
  return !s.closed && !s.link.closed;
}

/** Connection closed: unregister locally and from the directory (which tells watchers on every node). */
export function endSession(engine: Engine, s: Session): void {
  s.closed = true;
  if (!engine.registry.remove(s)) return;
  engine.directory.unregister(s.address).catch((e: unknown) => engine.log('error', LogEvent.DELIVERY_FAILED, { operation: 'directory unregister', error: String(e) }));
}
