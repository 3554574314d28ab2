/**
 * The hand-off point for delivery (STYLE example 2): handlers never write to sockets; they give a SNAC for a
 * user to a MessageRelay. The in-process relay below serves one node; a NATS relay can implement the same
 * interface to reach users signed on elsewhere.
 */
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { SessionRegistry } from '../session/registry.js';
import type { SnacSendOptions } from '../session/session.js';

/** Delivers server-originated SNACs to users wherever they are signed on. */
export interface MessageRelay {
  /** Sends a SNAC to the user's current session; false when the user is not signed on (or not ready). */
  sendToUser(screenName: string, family: number, subtype: number, body: Uint8Array, options?: SnacSendOptions): boolean;
  /** True when the user has a ready (client-ready) session. */
  isOnline(screenName: string): boolean;
}

/** A MessageRelay over this process's session registry. */
export class InProcessRelay implements MessageRelay {
  /** @param registry the node's online sessions */
  constructor(private readonly registry: SessionRegistry) {}

  /** {@inheritDoc MessageRelay.sendToUser} */
  sendToUser(screenName: string, family: number, subtype: number, body: Uint8Array, options?: SnacSendOptions): boolean {
    const s = this.registry.byKey(normalizeScreenName(screenName));
    if (!s || s.closed || !s.ready) return false;
    s.link.sendSnac(family, subtype, body, options);
    return true;
  }

  /** {@inheritDoc MessageRelay.isOnline} */
  isOnline(screenName: string): boolean {
    const s = this.registry.byKey(normalizeScreenName(screenName));
    return s !== undefined && !s.closed && s.ready;
  }
}
