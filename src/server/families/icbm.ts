/**
 * ICBM (0x0004) handlers (PROTOCOL §3.4): parameters, IM relay, offline storage, host acks, typing, client errors.
 *
 * - Channel-1 payloads are relayed byte for byte (encrypted IMs stay ciphertext). Only the TLVs a client may set
 *   reach the recipient (`isClientSettableIcbmTlv`, docs/protocol.md §3.4): 0x0003/0x0006 are consumed here, and
 *   server-owned fields (0x0016 offline timestamp, ...) are added by the server alone, also on offline delivery.
 * - Channel 2: proposals with TLV 0x0003 get the observed-address rewrite of §8.1.
 * - Offline recipient + TLV 0x0006: stored durably BEFORE the 04/0C ack, delivered after their next client ready.
 * - Errors (04/01): 0x04 offline/unknown/blocks-you, 0x10 you block them, 0x0E malformed/too long.
 */
import {
  ICBM_FAMILY as F, IcbmSubtype as S, IcbmTlv, decodeChannelMsgToHost, decodeClientAddressed,
  encodeDelivery, encodeClientAddressed, encodeHostAck, encodeParameterReply,
  rewriteRendezvousAddress, type SNAC_0x04_0x06_ICBMChannelMsgToHost,
} from '../../wire/families/icbm.js';
import { SnacErrorCode } from '../../wire/snac.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { permits } from '../session/privacy.js';
import { storedPermits } from '../session/stored-privacy.js';
import { visibleTo } from '../session/presence.js';
import { userInfoBlock } from '../session/user-info-block.js';
import { errorReply, reply, type BosContext, type BosFamily, type Reply } from './family.js';

const EMPTY: ReadonlySet<string> = new Set();

/** 04/06. Synchronous for online recipients (the hot path); a promise only when the store is involved. */
function sendIm(ctx: BosContext, body: Uint8Array): Reply[] | Promise<Reply[]> {
  const { engine, session: me } = ctx;
  const m = decodeChannelMsgToHost(body);
  const wantsAck = m.tlvs.has(IcbmTlv.REQUEST_HOST_ACK);
  const imData = m.tlvs.bytes(IcbmTlv.IM_DATA);
  if (imData !== undefined && imData.length > engine.config.maxMessageLength) return [errorReply(F, SnacErrorCode.MalformedPayload)];
  const toKey = normalizeScreenName(m.screenName);
  if (!permits(me.privacy, toKey, me.privacy.mode === 5 ? me.buddies() : EMPTY)) return [errorReply(F, SnacErrorCode.InLocalPermitDeny)];

  const target = engine.registry.byKey(toKey);
  if (target && target.ready && !target.closed) {
    if (!visibleTo(target, me.key)) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
    let replace: Map<number, Uint8Array> | undefined;
    const rv = m.channel === 2 ? m.tlvs.bytes(IcbmTlv.RENDEZVOUS) : undefined;
    if (rv !== undefined && me.link.remoteIpv4 !== undefined) {
      const rewritten = rewriteRendezvousAddress(rv, me.link.remoteIpv4);
      if (rewritten) replace = new Map([[IcbmTlv.RENDEZVOUS, rewritten]]);
    }
    const out = encodeDelivery(m.cookie, m.channel, userInfoBlock(me, engine.clock.now()), m.tlvs, replace);
    if (!engine.relay.sendToUser(target.key, F, S.CHANNEL_MSG_TO_CLIENT, out)) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
    engine.counters.imsRelayed++;
    return wantsAck ? hostAck(m) : [];
  }

  // Not signed on (or not ready yet): store only when asked to and only plain IMs of existing accounts.
  if (m.channel !== 1 || !m.tlvs.has(IcbmTlv.STORE_OFFLINE)) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
  return storeOffline(ctx, m, wantsAck);
}

function hostAck(m: SNAC_0x04_0x06_ICBMChannelMsgToHost): Reply[] {
  return [reply(F, S.HOST_ACK, encodeHostAck(m.cookie, m.channel, m.screenName))];
}

async function storeOffline(ctx: BosContext, m: SNAC_0x04_0x06_ICBMChannelMsgToHost, wantsAck: boolean): Promise<Reply[]> {
  const { engine, session: me } = ctx;
  const to = m.screenName;
  const account = await engine.ports.accounts.get(to);
  if (!account || !(await storedPermits(engine, to, me.key))) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
  try {
    // Durable before the ack: once acknowledged, the IM survives a crash (the store commits before resolving).
    await engine.ports.offline.enqueue(
      { recipient: account.screenName, sender: me.screenName, channel: 1, cookie: m.cookie.slice(), payload: m.tlvBytes.slice(), sentAt: engine.clock.now() },
      engine.config.maxOfflinePerRecipient,
    );
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'STORE_LIMIT') return [errorReply(F, SnacErrorCode.QueueFull)];
    if (code === 'STORE_NOT_FOUND') return [errorReply(F, SnacErrorCode.NotLoggedOn)];
    throw e;
  }
  engine.counters.imsStored++;
  return wantsAck ? hostAck(m) : [];
}

/** Relays 04/0B / 04/14 to the peer with the sender's SN substituted; silently dropped when not deliverable. */
function relayAddressed(ctx: BosContext, body: Uint8Array, subtype: number): Reply[] | void {
  const { engine, session: me } = ctx;
  const m = decodeClientAddressed(body);
  const target = engine.registry.get(m.screenName);
  if (!target || !target.ready || !visibleTo(target, me.key) || !permits(me.privacy, target.key, () => me.buddies())) {
    return subtype === S.CLIENT_ERR ? [errorReply(F, SnacErrorCode.NotLoggedOn)] : undefined;
  }
  engine.relay.sendToUser(target.key, F, subtype, encodeClientAddressed({ ...m, screenName: me.screenName }));
}

/** ICBM on BOS. */
export const icbmFamily: BosFamily = {
  family: F,
  version: 1,
  handlers: {
    [S.PARAMETER_QUERY]: (ctx) =>
      [reply(F, S.PARAMETER_REPLY, encodeParameterReply(100, {
        channel: 0, flags: 0x0b, maxMessageLength: ctx.engine.config.maxMessageLength, maxSenderWarn: 999, maxReceiverWarn: 999, minInterval: 0,
      }))],
    // Parameters are accepted and not enforced per client (we always relay typing events and long IMs).
    [S.ADD_PARAMETERS]: () => {},
    [S.CHANNEL_MSG_TO_HOST]: sendIm,
    [S.CLIENT_ERR]: (ctx, body) => relayAddressed(ctx, body, S.CLIENT_ERR),
    [S.CLIENT_EVENT]: (ctx, body) => relayAddressed(ctx, body, S.CLIENT_EVENT),
    [S.EVIL_REQUEST]: () => [errorReply(F, SnacErrorCode.NotSupportedByHost)],
  },
};
