/**
 * PermitDeny (0x0009) handlers for clients without a feedbag (docs/protocol.md §3.5). Adding permits switches the mode to
 * "permit some", adding denies to "deny some" (classic AIM behaviour); lists persist through the PermitDeny port.
 * Changes are re-announced so watchers who are now hidden get a departure.
 */
import {
  PERMIT_DENY_FAMILY as F, PermitDenySubtype as S, decodePermitMask, decodeScreenNameList, encodeRights,
} from '../../wire/families/permit-deny.js';
import { SnacErrorCode } from '../../wire/snac.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { errorReply, reply, type BosContext, type BosFamily, type Reply } from './family.js';

async function edit(ctx: BosContext, body: Uint8Array, list: 'permit' | 'deny', add: boolean): Promise<Reply[] | void> {
  const { engine, session: s } = ctx;
  const names = decodeScreenNameList(body, engine.config.maxPermitDeny).map(normalizeScreenName);
  // Lists are shared and never changed in place (session/privacy.ts): an edit stores a changed copy.
  const privacy = s.privacy;
  const mode = list === 'permit' ? 3 : 4;
  // Nothing to change (names already listed, or not listed to remove, mode as it is): no write and no re-announce,
  // which costs a presence event per session of the user.
  const unchanged = add
    ? names.every((n) => privacy[list].has(n)) && privacy.mode === mode
    : names.every((n) => !privacy[list].has(n));
  if (unchanged) return;
  if (add) {
    if (privacy[list].size + names.length > engine.config.maxPermitDeny) return [errorReply(F, SnacErrorCode.ListOverflow)];
    await engine.ports.permitDeny.add(s.screenName, list, names, engine.config.maxPermitDeny);
    // From the lists as they are now: another session's edit may have been adopted during the await.
    const next = new Set(s.privacy[list]);
    for (const n of names) next.add(n);
    s.privacy = { ...s.privacy, [list]: next, mode };
    if (privacy.mode !== mode) await engine.ports.permitDeny.setMode(s.screenName, mode);
  } else {
    await engine.ports.permitDeny.remove(s.screenName, list, names);
    const next = new Set(s.privacy[list]);
    for (const n of names) next.delete(n);
    s.privacy = { ...s.privacy, [list]: next };
  }
  await engine.presence.privacyEdited(s);
}

/** PermitDeny on BOS. */
export const permitDenyFamily: BosFamily = {
  family: F,
  version: 1,
  handlers: {
    [S.RIGHTS_QUERY]: (ctx) => [reply(F, S.RIGHTS_REPLY, encodeRights(ctx.engine.config.maxPermitDeny, ctx.engine.config.maxPermitDeny))],
    [S.SET_GROUP_PERMIT_MASK]: (_ctx, body) => {
      decodePermitMask(body);
    },
    [S.ADD_PERMIT]: (ctx, body) => edit(ctx, body, 'permit', true),
    [S.DEL_PERMIT]: (ctx, body) => edit(ctx, body, 'permit', false),
    [S.ADD_DENY]: (ctx, body) => edit(ctx, body, 'deny', true),
    [S.DEL_DENY]: (ctx, body) => edit(ctx, body, 'deny', false),
    [S.ADD_TEMP_PERMIT]: () => {},
    [S.DEL_TEMP_PERMIT]: () => {},
  },
};
