/**
 * Feedbag / SSI (0x0013) handlers (docs/protocol.md §3.9): rights, query (split across SNACs with flag 0x0001 when
 * large), query-if-modified, use (start presence from the feedbag), insert/update/delete through the store with
 * 13/0E status codes, transactions. After each edit the session's buddies and privacy are recomputed, and the
 * items that were applied are pushed as the same 13/08, 13/09 or 13/0A to the user's other BOS sessions, on any
 * node (never echoed to the editing session; docs/protocol.md §3.9.1), whose node then recomputes their buddies and
 * privacy too ({@link refreshFeedbag}).
 */
import {
  FEEDBAG_FAMILY as F, FeedbagSubtype as S, decodeItems, decodeQueryIfModified, encodeItems, encodeNotModified, encodeReply,
  encodeRights, encodeStatus, type FeedbagItemWire,
} from '../../wire/families/feedbag.js';
import { SnacFlag } from '../../wire/snac.js';
import type { HandlerEnv } from '../handler-env.js';
import type { Session } from '../session/session.js';
import { fromFeedbag } from '../session/stored-privacy.js';
import { reply, type BosContext, type BosFamily, type Reply } from './family.js';

/** Items per 13/06 SNAC before splitting (keeps each well under a 64 KiB FLAP frame). */
const ITEMS_PER_REPLY = 200;
const REPLY_BYTES_BUDGET = 60_000;

function replies(items: readonly FeedbagItemWire[], lastModifiedMs: number): Reply[] {
  const lm = Math.floor(lastModifiedMs / 1000);
  const out: Reply[] = [];
  let chunk: FeedbagItemWire[] = [];
  let bytes = 0;
  for (const it of items) {
    const size = 10 + Buffer.byteLength(it.name) + it.attributes.length;
    if (chunk.length > 0 && (chunk.length >= ITEMS_PER_REPLY || bytes + size > REPLY_BYTES_BUDGET)) {
      // joscar treats last-modified != 0 as final, so intermediate parts carry 0 and flag 0x0001.
      out.push(reply(F, S.REPLY, encodeReply(chunk, 0), { flags: SnacFlag.MoreReplies }));
      chunk = [];
      bytes = 0;
    }
    chunk.push(it);
    bytes += size;
  }
  out.push(reply(F, S.REPLY, encodeReply(chunk, lm)));
  return out;
}

/**
 * Another session of the user edited the feedbag (its node pushed the edit here): re-reads it for this session,
 * if the session uses the feedbag.
 */
export async function refreshFeedbag(engine: HandlerEnv, s: Session): Promise<void> {
  if (s.feedbagActive && !s.closed) await refresh(engine, s);
}

/** Re-reads the feedbag and applies buddies/privacy to an activated session, with presence updates. */
async function refresh(engine: HandlerEnv, s: Session, edited = false): Promise<void> {
  const bag = await engine.ports.feedbag.get(s.screenName);
  const { buddies, privacy } = fromFeedbag(bag.items);
  const added = [...buddies].filter((k) => !s.feedbagBuddies.has(k));
  s.feedbagBuddies = buddies;
  if (privacy) s.privacy = privacy;
  engine.presence.reindex(s);
  await engine.presence.arrivalsFor(s, added);
  if (privacy) await (edited ? engine.presence.privacyEdited(s) : engine.presence.privacyChanged(s));
  else await engine.presence.broadcast(s);
}

async function change(ctx: BosContext, body: Uint8Array, op: 'insert' | 'update' | 'delete'): Promise<Reply[]> {
  const { engine, session: s } = ctx;
  const items = decodeItems(body, engine.config.maxFeedbagItems);
  const codes = await engine.ports.feedbag.apply(s.screenName, items.map((item) => ({ op, item })), { maxItems: engine.config.maxFeedbagItems, maxBytes: engine.config.maxFeedbagBytes });
  if (s.feedbagActive) await refresh(engine, s, true);
  const applied = items.filter((_, i) => codes[i] === 0);
  if (applied.length > 0) {
    const subtype = op === 'insert' ? S.INSERT_ITEM : op === 'update' ? S.UPDATE_ITEM : S.DELETE_ITEM;
    await engine.directory.sendToUser(s.key, { delivery: { kind: 'snac', family: F, subtype, body: encodeItems(applied) }, except: s.address, service: 'bos' });
  }
  return [reply(F, S.STATUS, encodeStatus(codes))];
}

/** Feedbag on BOS. */
export const feedbagFamily: BosFamily = {
  family: F,
  version: 4,
  handlers: {
    [S.RIGHTS_QUERY]: (ctx) => {
      const max = new Array<number>(0x15).fill(0);
      max[0] = ctx.engine.config.maxBuddies;
      max[1] = 200;
      max[2] = ctx.engine.config.maxPermitDeny;
      max[3] = ctx.engine.config.maxPermitDeny;
      max[4] = 1;
      max[5] = 1;
      max[9] = 1;
      return [reply(F, S.RIGHTS_REPLY, encodeRights(max))];
    },
    [S.QUERY]: async (ctx) => {
      const bag = await ctx.engine.ports.feedbag.get(ctx.session.screenName);
      return replies(bag.items, bag.lastModified);
    },
    [S.QUERY_IF_MODIFIED]: async (ctx, body) => {
      const q = decodeQueryIfModified(body);
      const bag = await ctx.engine.ports.feedbag.get(ctx.session.screenName);
      const lm = Math.floor(bag.lastModified / 1000);
      if (lm === q.lastModified && bag.items.length === q.count) return [reply(F, S.REPLY_NOT_MODIFIED, encodeNotModified(lm, bag.items.length))];
      return replies(bag.items, bag.lastModified);
    },
    [S.USE]: async (ctx) => {
      ctx.session.feedbagActive = true;
      await refresh(ctx.engine, ctx.session);
    },
    [S.INSERT_ITEM]: (ctx, body) => change(ctx, body, 'insert'),
    [S.UPDATE_ITEM]: (ctx, body) => change(ctx, body, 'update'),
    [S.DELETE_ITEM]: (ctx, body) => change(ctx, body, 'delete'),
    [S.START_CLUSTER]: () => {},
    [S.END_CLUSTER]: () => {},
  },
};
