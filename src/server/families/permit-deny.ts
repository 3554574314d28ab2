/**
 * PermitDeny (0x0009) handlers for clients without a feedbag (PROTOCOL §3.5). Adding permits switches the mode to
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
  const set = list === 'permit' ? s.privacy.permit : s.privacy.deny;
  if (add) {
    if (set.size + names.length > engine.config.maxPermitDeny) return [errorReply(F, SnacErrorCode.ListOverflow)];
    await engine.ports.permitDeny.add(s.screenName, list, names, engine.config.maxPermitDeny);
    for (const n of names) set.add(n);
    const mode = list === 'permit' ? 3 : 4;
    if (s.privacy.mode !== mode) {
      s.privacy.mode = mode;
      await engine.ports.permitDeny.setMode(s.screenName, mode);
    }
  } else {
    await engine.ports.permitDeny.remove(s.screenName, list, names);
    for (const n of names) set.delete(n);
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
