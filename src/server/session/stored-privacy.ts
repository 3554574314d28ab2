/**
 * Privacy of a user who is not signed on, from what is stored: feedbag permit/deny/PD-info items when the user
 * keeps any (feedbag clients), else the PermitDeny lists. Also derives a session's buddies and privacy from its
 * feedbag.
 */
import { FeedbagClass, pdModeOf } from '../../wire/families/feedbag.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { HandlerEnv } from '../handler-env.js';
import type { FeedbagItemRecord } from '../ports.js';
import { permits, privacyFrom, type Privacy } from './privacy.js';

/** Buddies and privacy described by feedbag items; privacy undefined when the feedbag has no privacy items. */
export function fromFeedbag(items: readonly FeedbagItemRecord[]): { buddies: Set<string>; privacy: Privacy | undefined } {
  const buddies = new Set<string>();
  const permit: string[] = [];
  const deny: string[] = [];
  let mode: number | undefined;
  for (const it of items) {
    if (it.classId === FeedbagClass.BUDDY) buddies.add(normalizeScreenName(it.name));
    else if (it.classId === FeedbagClass.PERMIT) permit.push(it.name);
    else if (it.classId === FeedbagClass.DENY) deny.push(it.name);
    else if (it.classId === FeedbagClass.PD_INFO) mode = pdModeOf(it.attributes) ?? mode;
  }
  const hasPrivacy = mode !== undefined || permit.length > 0 || deny.length > 0;
  // A feedbag with lists but no PD-info item: AIM's default mode is "deny some" when a deny list exists.
  const privacy = hasPrivacy ? privacyFrom(mode ?? (deny.length > 0 ? 4 : 1), permit, deny) : undefined;
  return { buddies, privacy };
}

/** The stored privacy and buddy set of a (possibly offline) user. */
export async function storedPrivacy(engine: Pick<HandlerEnv, 'ports'>, screenName: string): Promise<{ privacy: Privacy; buddies: Set<string> }> {
  const bag = await engine.ports.feedbag.get(screenName);
  const fb = fromFeedbag(bag.items);
  if (fb.privacy) return { privacy: fb.privacy, buddies: fb.buddies };
  const pd = await engine.ports.permitDeny.get(screenName);
  return { privacy: privacyFrom(pd.mode, pd.permit, pd.deny), buddies: fb.buddies };
}

/** Whether a (possibly offline) user's stored privacy lets `viewerKey` see them or send them IMs. */
export async function storedPermits(engine: Pick<HandlerEnv, 'ports'>, screenName: string, viewerKey: string): Promise<boolean> {
  const { privacy, buddies } = await storedPrivacy(engine, screenName);
  return permits(privacy, viewerKey, buddies);
}
