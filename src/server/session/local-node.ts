/**
 * This node's side of the delivery directory: the {@link NodeEndpoint} that turns envelopes into SNACs on local
 * sessions (after the receiving-side filters: readiness, service, excluded session, the sender's privacy standing,
 * a required capability) and hands presence events to the local fan-out.
 */
import { sameSession, type Envelope, type NodeEndpoint, type PresenceEvent } from '../cluster/directory.js';
import type { Presence } from './presence.js';
import { visibleTo } from './presence.js';
import type { SessionRegistry } from './registry.js';
import type { Session } from './session.js';

/** The local endpoint of one node. */
export class LocalNode implements NodeEndpoint {
  /** @param registry this node's sessions; @param presence local fan-out; @param onError faults (never thrown into the directory) */
  constructor(
    private readonly registry: SessionRegistry,
    private readonly presence: Presence,
    private readonly onError: (what: string, e: unknown) => void = () => {},
  ) {}

  /** {@inheritDoc NodeEndpoint.deliver} */
  deliver(sessionId: string, envelope: Envelope): boolean {
    const s = this.registry.session(sessionId);
    if (!s || s.closed) return false;
    const d = envelope.delivery;
    if (d.kind === 'sign-off') {
      // Takeover: the session is dead from now on for presence and deliveries; its close unregisters it. Clients
      // that sent no multi-conn flag get the old bare ch-4 frame without TLVs (docs/protocol.md §1.1).
      s.closed = true;
      s.link.signOff(s.multiConn === 0 ? undefined : d.reason);
      return true;
    }
    if (!accepts(s, envelope)) return false;
    try {
      return s.link.sendSnac(d.family, d.subtype, d.body, d.requestId === undefined ? { flags: d.flags ?? 0 } : { flags: d.flags ?? 0, requestId: d.requestId });
    } catch (e) {
      this.onError('delivery', e);
      return false;
    }
  }

  /** {@inheritDoc NodeEndpoint.presenceChanged} */
  presenceChanged(event: PresenceEvent): void {
    try {
      this.presence.fanOut(event);
    } catch (e) {
      this.onError('presence fan-out', e);
    }
  }
}

function accepts(s: Session, e: Envelope): boolean {
  if (!e.includeNotReady && !s.ready) return false;
  if (e.service !== undefined && s.service !== e.service) return false;
  if (e.except !== undefined && sameSession(e.except, s.address)) return false;
  if (e.from !== undefined && !visibleTo(s, e.from)) return false;
  if (e.capability !== undefined && !hasCapability(s, e.capability)) return false;
  return true;
}

function hasCapability(s: Session, hex: string): boolean {
  for (const c of s.capabilities) if (Buffer.from(c).toString('hex') === hex) return true;
  return false;
}
