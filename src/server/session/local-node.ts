/**
 * This node's side of the delivery directory: the {@link NodeEndpoint} that turns envelopes into SNACs on local
 * sessions (after the receiving-side filters: readiness, service, excluded session, the sender's privacy standing,
 * a required capability) and hands presence events to the local fan-out.
 */
import { normalizeScreenName } from '../../pki/screen-name.js';
import { sameSession, type Envelope, type NodeEndpoint, type PresenceEvent } from '../cluster/directory.js';
import type { Presence } from './presence.js';
import { visibleTo } from './presence.js';
import type { SessionRegistry } from './registry.js';
import type { Session, SnacSendOptions } from './session.js';

/** The local endpoint of one node. */
export class LocalNode implements NodeEndpoint {
  /** @param registry this node's sessions; @param presence local fan-out; @param onError faults (never thrown into the directory) */
  constructor(
    private readonly registry: SessionRegistry,
    private readonly presence: Presence,
    private readonly onError: (what: string, e: unknown) => void = () => {},
    /** This node's name (only entries of this node are its sessions: session ids are unique per node). */
    private readonly node?: string,
    /** A feedbag edit of another session (13/08, 13/09, 13/0A) reached this session: its node re-reads the feedbag. */
    private readonly onFeedbagPushed: (s: Session) => void = () => {},
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
      const options = d.requestId !== undefined ? { flags: d.flags ?? 0, requestId: d.requestId } : d.flags ? { flags: d.flags } : NO_FLAGS;
      const sent = s.link.sendSnac(d.family, d.subtype, d.body, options);
      if (sent && d.family === FEEDBAG_FAMILY && d.subtype >= FEEDBAG_INSERT && d.subtype <= FEEDBAG_DELETE) this.onFeedbagPushed(s);
      return sent;
    } catch (e) {
      this.onError('delivery', e);
      return false;
    }
  }

  /** {@inheritDoc NodeEndpoint.presenceChanged} */
  presenceChanged(event: PresenceEvent): void {
    if (event.lost) this.roomMemberLost(event);
    try {
      this.presence.fanOut(event);
    } catch (e) {
      this.onError('presence fan-out', e);
    }
  }

  /**
   * A room member's connection was lost with its node (the directory reaped it): that node cannot tell the room,
   * so every node tells its own members of the room with `0E/04`, unless the user is still in the room from
   * another connection (docs/protocol.md §3.8). Room entries are those under a room key (cluster/rooms.ts).
   */
  private roomMemberLost(event: PresenceEvent): void {
    const gone = event.changed.presence;
    if (!event.removed || !gone || event.changed.service !== 'chat' || !event.user.startsWith('room_') || this.node === undefined) return;
    const who = normalizeScreenName(gone.screenName);
    if (event.sessions.some((e) => e.presence && normalizeScreenName(e.presence.screenName) === who)) return;
    for (const e of event.sessions) {
      if (e.address.node !== this.node) continue;
      this.deliver(e.address.sessionId, { delivery: { kind: 'snac', family: CHAT_FAMILY, subtype: CHAT_USERS_LEFT, body: gone.info }, service: 'chat' });
    }
  }
}

/** Feedbag `13/08`..`13/0A`: insert, update, delete (docs/protocol.md §3.9). */
const FEEDBAG_FAMILY = 0x0013;
const FEEDBAG_INSERT = 0x0008;
const FEEDBAG_DELETE = 0x000a;

/** Chat `0E/04` users left (docs/protocol.md §3.8). */
const CHAT_FAMILY = 0x000e;
const CHAT_USERS_LEFT = 0x0004;

/** The send options of most deliveries (flags 0, a fresh request id): one shared object, not one per delivery. */
const NO_FLAGS: SnacSendOptions = Object.freeze({ flags: 0 });

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
