/**
 * Session start and end: what happens at BOS sign-on (load persisted state, take over an older session), at
 * client ready (arrivals both ways, queued offline IMs), and at close (departures).
 */
import { SignOffReason } from '../../wire/flap.js';
import { ICBM_FAMILY, IcbmSubtype, IcbmTlv, encodeDelivery } from '../../wire/families/icbm.js';
import { ByteReader } from '../../wire/bytes.js';
import { readTlvRestList, tlvU32 } from '../../wire/tlv.js';
import type { Engine } from '../engine.js';
import { LogEvent } from '../log.js';
import { privacyFrom } from './privacy.js';
import { Session, type SessionLink } from './session.js';
import { offlineUserInfoBlock, userInfoBlock } from './user-info-block.js';

/** Creates and registers a session for an authenticated BOS connection; signs off an older one of the same SN. */
export async function startSession(engine: Engine, screenName: string, link: SessionLink): Promise<Session> {
  const s = new Session(screenName, link, engine.clock.now());
  const [info, pd] = await Promise.all([engine.ports.userInfo.get(screenName), engine.ports.permitDeny.get(screenName)]);
  if (info.certHash) s.certHash = info.certHash;
  s.privacy = privacyFrom(pd.mode, pd.permit, pd.deny);
  const old = engine.registry.add(s);
  if (old) {
    // Classic behaviour: the newest sign-on wins; the old session is told why (ch-4 TLV 0x0009 = 1).
    old.closed = true;
    old.link.signOff(SignOffReason.SignedOnElsewhere);
    engine.log('info', LogEvent.SESSION_TAKEN_OVER, { screenName });
  }
  return s;
}

/** 01/02 client ready: presence both ways, then queued offline IMs (each removed once handed to the socket). */
export async function clientReady(engine: Engine, s: Session): Promise<void> {
  if (s.ready || s.closed) return;
  s.ready = true;
  engine.presence.reindex(s);
  engine.presence.arrivalsFor(s);
  engine.presence.broadcast(s);
  await deliverOffline(engine, s);
}

async function deliverOffline(engine: Engine, s: Session): Promise<void> {
  // Cert hashes of senders who are not online, read once per sender however many IMs they left.
  const storedHashes = new Map<string, Uint8Array | undefined>();
  const storedHash = async (sender: string): Promise<Uint8Array | undefined> => {
    if (!storedHashes.has(sender)) storedHashes.set(sender, (await engine.ports.userInfo.get(sender)).certHash ?? undefined);
    return storedHashes.get(sender);
  };
  for (let round = 0; round < 100 && !s.closed; round++) {
    const batch = await engine.ports.offline.fetch(s.screenName, 50);
    if (batch.length === 0 || s.closed) return;
    const handed: number[] = [];
    for (const m of batch) {
      const sender = engine.registry.get(m.sender);
      // The sender's cert hash matters even when they are gone: it names the certificate to verify a secure IM with.
      const info = sender && !sender.closed
        ? userInfoBlock(sender, engine.clock.now())
        : offlineUserInfoBlock(m.sender, await storedHash(m.sender));
      const tlvs = readTlvRestList(new ByteReader(m.payload));
      const body = encodeDelivery(m.cookie, m.channel, info, tlvs, undefined, [tlvU32(IcbmTlv.OFFLINE_TIMESTAMP, Math.floor(m.sentAt / 1000))]);
      // Only what reached the socket is acked: a connection that closed meanwhile (during the sender lookup,
      // or as a slow reader) keeps the rest stored for the next sign-on.
      if (!s.link.sendSnac(ICBM_FAMILY, IcbmSubtype.CHANNEL_MSG_TO_CLIENT, body)) break;
      handed.push(m.id);
    }
    if (handed.length > 0) await engine.ports.offline.ack(s.screenName, handed);
    if (handed.length < 50) return;
  }
}

/** Connection closed: unregister and tell watchers, unless the session was already replaced. */
export function endSession(engine: Engine, s: Session): void {
  const wasReady = s.ready;
  s.closed = true;
  const current = engine.registry.remove(s);
  if (current && wasReady) engine.presence.departed(s);
}
