/**
 * ICBM (0x0004) handlers (docs/protocol.md §3.4): parameters, IM relay, offline storage, host acks, typing,
 * client errors. Every delivery goes through the delivery directory, to every session of the recipient.
 *
 * - Channel-1 payloads are relayed byte for byte (encrypted IMs stay ciphertext). Only the TLVs a client may set
 *   reach the recipient (`isClientSettableIcbmTlv`, docs/protocol.md §3.4): 0x0003/0x0006 are consumed here, and
 *   server-owned fields (0x0016 offline timestamp, ...) are added by the server alone, also on offline delivery.
 * - Channel 2: proposals with TLV 0x0003 get the observed-address rewrite of §8.1, and every rendezvous block is
 *   reported to `engine.rendezvous` (proposals are remembered for the rendezvous proxy, cancels forget them; §8.3).
 * - Recipient online nowhere (no ready session on any node) + TLV 0x0006: stored durably BEFORE the 04/0C ack,
 *   delivered after their next client ready.
 * - A channel-1 IM from a certim session is also copied to the sender's OTHER certim sessions (those announcing
 *   certim's capability), with the sender's own user-info block and TLV 0x7C02 naming the original recipient
 *   (`IcbmTlv.CERTIM_SENT_TO`); certim clients encrypt to their own key as a second recipient so those sessions
 *   can read it. Classic sessions of the sender get no copy.
 * - Errors (04/01): 0x04 offline/unknown/blocks-you, 0x10 you block them, 0x0E malformed/too long.
 */
import {
  ICBM_FAMILY as F, IcbmSubtype as S, IcbmTlv, decodeChannelMsgToHost, decodeClientAddressed,
  encodeDelivery, encodeDeliveryFromScan, encodeClientAddressed, encodeHostAck, encodeParameterReply,
  rewriteRendezvousAddress, scanChannelMsgToHost, type IcbmChannelMsgToHostScan,
} from '../../wire/families/icbm.js';
import { Capability } from '../../wire/capabilities.js';
import { SnacErrorCode } from '../../wire/snac.js';
import { tlvString } from '../../wire/tlv.js';
import { TextMemo } from '../../wire/bytes.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { deliverToUser, type DeliveryResult, type Envelope } from '../cluster/directory.js';
import { visibleTo } from '../session/presence.js';
import { storedPermits } from '../session/stored-privacy.js';
import type { Session } from '../session/session.js';
import { userInfoBlock } from '../session/user-info-block.js';
import { errorReply, reply, type BosContext, type BosFamily, type Reply } from './family.js';

/** certim's capability as the directory's envelopes name it (lowercase hex). */
const CERTIM_CAPABILITY = Capability.CertimModernSecureIm.replace(/-/g, '').toLowerCase();
const CERTIM_CAPABILITY_BYTES = Buffer.from(CERTIM_CAPABILITY, 'hex');

/**
 * 04/06: delivered to every ready session of the recipient on any node, else stored when asked. Synchronous when
 * the directory can deliver without waiting (in-process: the hot path allocates no promise). The body is scanned in
 * place (`scanChannelMsgToHost`) and the 04/07 built straight from it; the rare paths (rendezvous, offline storage,
 * copies to the sender's other sessions) decode it fully.
 */
function sendIm(ctx: BosContext, body: Uint8Array): Reply[] | void | Promise<Reply[] | void> {
  const { engine, session: me } = ctx;
  const names = (me.recipients ??= new TextMemo(normalizeScreenName));
  const m = scanChannelMsgToHost(body, names);
  if (m.imDataLength > engine.config.maxMessageLength) return [errorReply(F, SnacErrorCode.MalformedPayload)];
  const toKey = names.key(m.screenName);
  if (!visibleTo(me, toKey)) return [errorReply(F, SnacErrorCode.InLocalPermitDeny)];

  let out: Uint8Array;
  if (m.channel === 2 && m.hasRendezvous) {
    const full = decodeChannelMsgToHost(body);
    const rv = full.tlvs.bytes(IcbmTlv.RENDEZVOUS)!;
    let replace: Map<number, Uint8Array> | undefined;
    const senderIp = me.link.remoteIpv4;
    if (senderIp !== undefined) {
      const rewritten = rewriteRendezvousAddress(rv, senderIp);
      if (rewritten) replace = new Map([[IcbmTlv.RENDEZVOUS, rewritten]]);
    }
    // Remembered before delivery: the recipient may reach the rendezvous proxy before the directory resolves (§8.3).
    engine.rendezvous?.observe(me.key, toKey, rv);
    out = encodeDelivery(full.cookie, full.channel, userInfoBlock(me, engine.clock.now()), full.tlvs, replace);
  } else {
    out = encodeDeliveryFromScan(m, userInfoBlock(me, engine.clock.now()));
  }
  // The receiving node checks each session's privacy against the sender (`from`): hidden sessions don't count.
  const envelope: Envelope = { delivery: { kind: 'snac', family: F, subtype: S.CHANNEL_MSG_TO_CLIENT, body: out }, from: me.key, service: me.service };
  // Dispatched now, in the client's order; what follows waits for the session's earlier IMs (afterEarlierIms).
  return afterEarlierIms(me, deliverToUser(engine.directory, toKey, envelope), (r) => afterDelivery(ctx, m, r));
}

/**
 * Runs `then` on an IM's delivery result once every earlier IM of this session has finished its own (04/06 and
 * 04/0B/04/14 are pipelined: the connection starts the next while one waits on another node). So an IM stored
 * offline is stored after the one before it, and a copy to the sender's other sessions follows the order sent.
 * The in-process hot path (nothing pending, a synchronous result) allocates nothing.
 */
function afterEarlierIms<R>(me: Session, delivered: DeliveryResult | Promise<DeliveryResult>, then: (r: DeliveryResult) => R | Promise<R>): R | Promise<R> {
  const prior = me.imOrder;
  let out: R | Promise<R>;
  if (prior !== undefined) out = Promise.all([prior, delivered]).then((both) => then(both[1]));
  else if (delivered instanceof Promise) out = delivered.then(then);
  else {
    out = then(delivered);
    if (!(out instanceof Promise)) return out;
  }
  // Settles after the earlier IMs too, even when this one failed first (its delivery rejected): the next waits for all.
  const settled: Promise<void> = (prior === undefined ? out : prior.then(() => out)).then(clear, clear);
  function clear(): void {
    if (me.imOrder === settled) me.imOrder = undefined;
  }
  me.imOrder = settled;
  return out;
}

function afterDelivery(ctx: BosContext, m: IcbmChannelMsgToHostScan, r: DeliveryResult): Reply[] | void | Promise<Reply[] | void> {
  if (r.accepted > 0) {
    ctx.engine.counters.imsRelayed++;
    const copied = m.channel === 1 ? copyToOwnSessions(ctx, m) : undefined;
    if (copied) return copied.then(() => (m.requestsAck ? hostAck(m) : undefined));
    // No reply unless asked for one (no empty array per IM).
    return m.requestsAck ? hostAck(m) : undefined;
  }
  // Online somewhere but nobody took it (blocks us, or left meanwhile): an error, never silently stored.
  if (r.targeted > 0) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
  // Online nowhere: store only when asked to and only plain IMs of existing accounts.
  if (m.channel !== 1 || !m.storeOffline) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
  return storeOffline(ctx, m);
}

/**
 * The sender's other certim sessions get the IM too, marked with the original recipient (TLV 0x7C02); undefined
 * (nothing to wait for) when the sender has no other ready session or is not a certim client.
 */
function copyToOwnSessions(ctx: BosContext, scanned: IcbmChannelMsgToHostScan): Promise<unknown> | undefined {
  const { engine, session: me } = ctx;
  if (engine.presence.readySessionCount(me.key) < 2 || !hasCertimCapability(me)) return undefined;
  const m = decodeChannelMsgToHost(scanned.body);
  const body = encodeDelivery(m.cookie, m.channel, userInfoBlock(me, engine.clock.now()), m.tlvs, undefined, [tlvString(IcbmTlv.CERTIM_SENT_TO, m.screenName)]);
  return engine.directory.sendToUser(me.key, {
    delivery: { kind: 'snac', family: F, subtype: S.CHANNEL_MSG_TO_CLIENT, body }, except: me.address, capability: CERTIM_CAPABILITY, service: me.service,
  });
}

function hasCertimCapability(s: Session): boolean {
  for (const c of s.capabilities) if (c.length === 16 && Buffer.compare(c, CERTIM_CAPABILITY_BYTES) === 0) return true;
  return false;
}

function hostAck(m: IcbmChannelMsgToHostScan): Reply[] {
  return [reply(F, S.HOST_ACK, encodeHostAck(m.body.subarray(0, 8), m.channel, m.screenName))];
}

async function storeOffline(ctx: BosContext, scanned: IcbmChannelMsgToHostScan): Promise<Reply[]> {
  const { engine, session: me } = ctx;
  const m = decodeChannelMsgToHost(scanned.body);
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
  await copyToOwnSessions(ctx, scanned);
  return scanned.requestsAck ? hostAck(scanned) : [];
}

/** Relays 04/0B / 04/14 to every session of the peer with the sender's SN substituted; dropped when not deliverable. */
function relayAddressed(ctx: BosContext, body: Uint8Array, subtype: number): Reply[] | void | Promise<Reply[] | void> {
  const { engine, session: me } = ctx;
  const m = decodeClientAddressed(body);
  const toKey = normalizeScreenName(m.screenName);
  let delivered: DeliveryResult | Promise<DeliveryResult> = NOT_DELIVERED;
  if (visibleTo(me, toKey)) {
    const out = encodeClientAddressed({ ...m, screenName: me.screenName });
    delivered = deliverToUser(engine.directory, toKey, { delivery: { kind: 'snac', family: F, subtype, body: out }, from: me.key, service: me.service });
  }
  return afterEarlierIms(me, delivered, (r) => (r.accepted === 0 && subtype === S.CLIENT_ERR ? [errorReply(F, SnacErrorCode.NotLoggedOn)] : undefined));
}

const NOT_DELIVERED: DeliveryResult = { accepted: 0, targeted: 0 };

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
  // The next IM or client event does not wait for the last one's answer from another node (connection.ts, drainAfter).
  pipelined: [S.CHANNEL_MSG_TO_HOST, S.CLIENT_ERR, S.CLIENT_EVENT],
};
