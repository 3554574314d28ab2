/** Buddy (0x0003) handlers: rights and the client-side buddy list (03/04 add, 03/05 remove). */
import { BUDDY_FAMILY as F, BuddySubtype as S, decodeScreenNameList, encodeRights } from '../../wire/families/buddy.js';
import { SnacErrorCode } from '../../wire/snac.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { errorReply, reply, type BosFamily, type Reply } from './family.js';

/** Buddy on BOS. */
export const buddyFamily: BosFamily = {
  family: F,
  version: 1,
  handlers: {
    [S.RIGHTS_QUERY]: (ctx) => [reply(F, S.RIGHTS_REPLY, encodeRights(ctx.engine.config.maxBuddies, ctx.engine.config.maxWatchers))],
    [S.ADD_BUDDIES]: (ctx, body) => {
      const s = ctx.session;
      const added: string[] = [];
      let overflow = false;
      for (const name of decodeScreenNameList(body, ctx.engine.config.maxBuddies)) {
        const k = normalizeScreenName(name);
        if (s.clientBuddies.has(k)) continue;
        if (s.clientBuddies.size >= ctx.engine.config.maxBuddies) {
          overflow = true;
          break;
        }
        s.clientBuddies.add(k);
        added.push(k);
      }
      const full = (): Reply[] => [errorReply(F, SnacErrorCode.ListOverflow)];
      // Re-indexing walks every buddy: only when the list changed. Names added before an overflow are watched too.
      if (added.length === 0) return overflow ? full() : undefined;
      ctx.engine.presence.reindex(s);
      const arrivals = ctx.engine.presence.arrivalsFor(s, added);
      return overflow ? arrivals.then(full) : arrivals;
    },
    [S.DEL_BUDDIES]: (ctx, body) => {
      const s = ctx.session;
      let removed = 0;
      for (const name of decodeScreenNameList(body, ctx.engine.config.maxBuddies)) if (s.clientBuddies.delete(normalizeScreenName(name))) removed++;
      if (removed > 0) ctx.engine.presence.reindex(s);
    },
    [S.ADD_TEMP_BUDDIES]: () => {},
    [S.DEL_TEMP_BUDDIES]: () => {},
  },
};
