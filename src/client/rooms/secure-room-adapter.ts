/**
 * Plugs {@link SecureRoomCodec} into the rooms transport's codec seam (room-codec.ts): the three seam methods plus
 * the hooks for the member list's key column, membership changes (rekey on a leave), invitations and `/kick`
 * (docs/protocol.md §16). Key updates travel like invitations (ICBM channel 2 with the security block, §7.2,
 * §16.2), sent through the injected {@link KeyBlockSender}; a received invitation for a room whose key we hold is a
 * key update, which {@link SecureRoomAdapter.takeKeyUpdate} applies without asking the user.
 */
import { Capability } from '../../wire/capabilities.js';
import { encodeText } from '../../wire/bytes.js';
import { randomBytes } from 'node:crypto';
import { sameScreenName } from '../../pki/screen-name.js';
import type { CertimClient } from '../client.js';
import { encodeInvitationBlock, type RoomInvitation } from './invitation.js';
import { failedVerdict, type RoomCodecWithHooks, type RoomContext, type RoomMember, type RoomMessageTlvs, type RoomMessageVerdict } from './room-codec.js';
import { SecureRoomCodec, type MemberKeys, type OutgoingKeyBlock, type SecureRoomContext } from './secure-room-codec.js';
import { CLASSIC_PRESENT_TEXT } from './secure-room-state.js';

/** Sends one key block to one member (an invitation-shaped ICBM for the room in `ctx`). */
export type KeyBlockSender = (to: string, block: Uint8Array, ctx: RoomContext) => Promise<void>;

/** Sends key blocks as invitation-shaped ICBMs through a signed-on client (docs/protocol.md §7.2, §16.2). */
export function keyBlockSenderFor(client: CertimClient): KeyBlockSender {
  return async (to, block, ctx) => {
    await client.sendRendezvous(to, encodeInvitationBlock({
      cookie: randomBytes(8), room: { exchange: ctx.exchange, cookie: ctx.cookie, instance: ctx.instance },
      text: `room key for ${ctx.name}`, secure: true, securityBlock: block,
    }));
  };
}

/** A member announced certim's secure-room capability (docs/protocol.md §16.1). */
export function announcesCertimRooms(m: Pick<RoomMember, 'capabilities'>): boolean {
  return m.capabilities.some((c) => c.toUpperCase() === Capability.CertimSecureRooms);
}

/** The transport's room context as the secure codec sees it: the room cookie names the room in every binding. */
export function secureContext(ctx: RoomContext): SecureRoomContext {
  return {
    room: { exchange: ctx.exchange, cookie: encodeText(ctx.cookie), instance: ctx.instance },
    roomName: ctx.cookie,
    members: ctx.members.map((m) => ({ screenName: m.screenName, certimRooms: announcesCertimRooms(m), ...(m.certInfoHash !== undefined ? { certInfoHash: m.certInfoHash } : {}) })),
  };
}

/** See the file comment. */
export class SecureRoomAdapter implements RoomCodecWithHooks {
  readonly contentType: string;
  /** Notes for the user (mode switches, dropped keys, refused key updates). */
  onNote: (room: string, note: string) => void = () => undefined;

  constructor(readonly codec: SecureRoomCodec, private readonly send: KeyBlockSender) {
    this.contentType = codec.contentType;
  }

  /** The adapter for a signed-on client: its identity, its certificate checks, its buddies' certificates. */
  static forClient(client: CertimClient, send: KeyBlockSender, opts: { clock?: () => Date } = {}): SecureRoomAdapter {
    const identity = client.identity;
    if (!identity) throw new Error('secure rooms need an identity (enroll first)');
    // While a member's announced hash is unchanged its certificates come from the verified cache, as a buddy's do
    // for IMs, instead of a Locate query per received room message.
    const keysOf = async (sn: string, certInfoHash?: string): Promise<MemberKeys | undefined> => {
      const c = await client.buddyCerts(sn, false, certInfoHash).catch(() => undefined);
      if (!c) return undefined;
      return { encryptionCert: c.encryptionDer, certs: [c.encryptionDer, c.signingDer], certimRooms: c.record.modern === true };
    };
    return new SecureRoomAdapter(new SecureRoomCodec({ identity, trust: client.trustCallback(), keysOf, ...(opts.clock ? { clock: opts.clock } : {}) }), send);
  }

  private async distribute(blocks: OutgoingKeyBlock[], ctx: RoomContext): Promise<void> {
    for (const b of blocks) await this.send(b.to, b.block, ctx);
  }

  /** Starts the key of a room we just created (certim mode; a classic member switches it to AIM mode later). */
  async createRoom(ctx: RoomContext): Promise<void> {
    if (this.codec.state(ctx.cookie)?.hasKey) return;
    await this.codec.createRoom(ctx.cookie);
    await this.membersChanged({ joined: ctx.members, left: [] }, ctx);
  }

  async encode(text: string, ctx: RoomContext): Promise<RoomMessageTlvs> {
    const sctx = secureContext(ctx);
    const tlvs = await this.codec.encode(text, sctx);
    // The 1,000-message / 7-day limits: the leader rekeys after the message that reached them.
    await this.distribute(await this.codec.rekeyIfDue(sctx), ctx);
    return tlvs.map((t) => ({ type: t.type, value: t.value }));
  }

  async decode(msg: RoomMessageTlvs, ctx: RoomContext, sender: string): Promise<RoomMessageVerdict> {
    const sctx = secureContext(ctx);
    const v = await this.codec.decode(msg.map((t) => ({ ...t, offset: -1 })), sctx, sender);
    if (v.verdict !== 'failed') this.distribute(await this.codec.rekeyIfDue(sctx), ctx).catch((e: unknown) => this.onNote(ctx.name, `rekey failed: ${(e as Error).message}`));
    if (v.verdict === 'failed') return failedVerdict(v.code, v.reason, true);
    return {
      verdict: v.verdict, code: v.code, reason: v.epoch !== undefined ? `${v.reason} (key epoch ${v.epoch})` : v.reason, secure: true,
      ...(v.text !== undefined ? { text: v.text } : {}),
    };
  }

  memberKeyStatus(member: RoomMember, ctx: RoomContext): string {
    const s = this.codec.state(ctx.cookie);
    return s ? s.keyStatus(member.screenName) : 'no key — cannot read';
  }

  async membersChanged(_change: { joined: readonly RoomMember[]; left: readonly RoomMember[] }, ctx: RoomContext): Promise<void> {
    if (!this.codec.state(ctx.cookie)?.hasKey && ctx.members.length === 1 && sameScreenName(ctx.members[0]!.screenName, ctx.me)) {
      // Alone in a secure room nobody holds a key for (we just created it, or everyone left): make the key. Anyone
      // who joins later gets it only by invitation (docs/protocol.md §16.2).
      await this.codec.createRoom(ctx.cookie);
      this.onNote(ctx.name, 'new room key (epoch 1): invite members with /invite NAME');
    }
    const { updates, notes } = await this.codec.membersChanged(secureContext(ctx));
    for (const n of notes) this.onNote(ctx.name, n);
    await this.distribute(updates, ctx);
  }

  async invitationSecurityBlock(invitee: string, ctx: RoomContext): Promise<Uint8Array | undefined> {
    const sctx = secureContext(ctx);
    const { invitation, updates } = await this.codec.invite(sctx, invitee);
    await this.distribute(updates, ctx);
    return invitation;
  }

  async acceptInvitation(inviter: string, securityBlock: Uint8Array, ctx: RoomContext): Promise<void> {
    const r = await this.codec.acceptKeyBlock(securityBlock, inviter, ctx.cookie);
    if (!r.ok) throw new Error(`the invitation's room key was refused: ${r.reason}`);
  }

  /**
   * A received invitation for a room whose key we hold is a key update (docs/protocol.md §16.2): applied at once.
   * Returns true when it was one (applied or refused, with a note), false when it is a real invitation.
   */
  async takeKeyUpdate(inv: RoomInvitation): Promise<boolean> {
    const s = this.codec.state(inv.room.cookie);
    if (!s || !inv.securityBlock) return false;
    const r = await this.codec.acceptKeyBlock(inv.securityBlock, inv.peer, inv.room.cookie);
    this.onNote(inv.room.cookie, r.ok ? `new room key from ${inv.peer} (epoch ${r.state.epoch})` : `key update from ${inv.peer} refused: ${r.reason}`);
    return true;
  }

  /** `/kick NAME`: a new epoch without `member` (certim mode; refused in AIM mode, which cannot cut anyone off). */
  async kick(member: string, ctx: RoomContext): Promise<void> {
    const s = this.codec.state(ctx.cookie);
    if (!s) throw new Error('no key — cannot read');
    if (s.mode === 'aim') throw new Error(CLASSIC_PRESENT_TEXT);
    s.exclude(member);
    await this.distribute(await this.codec.rekeyNow(secureContext(ctx)), ctx);
  }
}
