/**
 * What one client knows about one secure room (docs/protocol.md §16): its mode, the members the server lists, the
 * key epochs it holds, who holds the current key, and when the key must change. Pure state with an injected clock:
 * no I/O, no timers — the caller asks {@link SecureRoomState.rekeyDue} and acts.
 *
 * Modes:
 * - `certim`: every member announced certim's room capability. Keys have epochs; a new epoch is made whenever a
 *   keyholder leaves or is removed, when a member invites someone, and at least every 7 days or 1,000 messages. A
 *   key update comes only from a keyholder of the current epoch; it names the new keyholders, so every member can
 *   show who has the key and who does not ("no key — cannot read").
 * - `aim`: a classic member is (or was) present. There is one key for the life of the room, distributed in AIM's
 *   invitation format; nobody can be cut off by a rekey, which the room says ("classic member present: no rekey on
 *   leave"). Sticky: a room never goes back to `certim`, because the classic member keeps the key.
 */
import { normalizeScreenName } from '../../pki/screen-name.js';
import { generateRoomKey, type RoomProfile } from '../../pki/cms/secure-room.js';

/** Room mode (see the file comment). */
export type RoomMode = RoomProfile;

/** What the UI shows for a member without the current key. */
export const NO_KEY_TEXT = 'no key — cannot read';
/** What an AIM-mode room says about rekeying. */
export const CLASSIC_PRESENT_TEXT = 'classic member present: no rekey on leave';

/** A member as the server lists it, with what it announced. */
export interface RoomMember {
  screenName: string;
  /** Announced certim's secure-room capability (docs/protocol.md §16.1). */
  certimRooms: boolean;
  /** Hex MD5 of the member's certificate-info block as the chat service announced it (§4.2), if any. */
  certInfoHash?: string;
}

/** Per-member key status, as shown in the CLI/TUI key column. */
export type KeyStatus = 'has key' | typeof NO_KEY_TEXT | 'AIM key (unverifiable)';

/** Why a new epoch is due. */
export type RekeyReason = 'member-left' | 'epoch-age' | 'message-count';

/** Rekey thresholds (docs/protocol.md §16.2). */
export interface RoomKeyLimits {
  /** Oldest an epoch may get. Default 7 days. */
  maxEpochAgeMs: number;
  /** Most messages one epoch may carry. Default 1,000. */
  maxEpochMessages: number;
  /** How long the previous epoch's key still decrypts (messages in flight during a rekey). Default 2 minutes. */
  previousEpochGraceMs: number;
}

/** Default {@link RoomKeyLimits}. */
export const DEFAULT_ROOM_KEY_LIMITS: RoomKeyLimits = {
  maxEpochAgeMs: 7 * 24 * 3600_000,
  maxEpochMessages: 1000,
  previousEpochGraceMs: 120_000,
};

/** One epoch's key. */
interface Epoch {
  epoch: number;
  key: Uint8Array;
  /** Normalized screen names. */
  keyholders: Set<string>;
  /** Normalized screen name of who made it. */
  distributor: string;
  since: number;
  messages: number;
  /** When it stopped being current (grace for in-flight messages). */
  retiredAt?: number;
}

/** A key to hand out: to each of `keyholders` (the distributor excepted) as a key block. */
export interface KeyDistribution {
  mode: RoomMode;
  /** 0 in aim mode. */
  epoch: number;
  key: Uint8Array;
  /** Display names of everyone who gets this key (self included). */
  keyholders: string[];
}

/** A key block's content, as {@link SecureRoomState.acceptKey} takes it. */
export interface ReceivedKey {
  /** Sender per the server (already checked to be the signer). */
  from: string;
  profile: RoomProfile;
  key: Uint8Array;
  /** certim blocks. */
  epoch?: number;
  keyholders?: string[];
}

/** Outcome of a membership update. */
export interface MembershipChange {
  joined: string[];
  left: string[];
  /** Set when the update made a rekey due (certim mode, a keyholder left). */
  rekey?: RekeyReason;
  /** Set when a classic member made the room switch to aim mode. */
  switchedToAim?: boolean;
  /** Set when our key was dropped because the inviter is not in the room. */
  droppedKey?: string;
}

const n = normalizeScreenName;

/** See the file comment. */
export class SecureRoomState {
  mode: RoomMode;
  private readonly members = new Map<string, RoomMember>();
  private readonly epochs = new Map<number, Epoch>();
  private current: Epoch | undefined;
  private aimKey: Uint8Array | undefined;
  private displayNames = new Map<string, string>();
  /** Inviter whose membership is still to be confirmed when we first see the member list. */
  private pendingInviter: string | undefined;
  private keyholderLeft = false;
  /** Normalized names seen leaving since the current epoch began: excluded from the next one. */
  private readonly departed = new Set<string>();
  private readonly limits: RoomKeyLimits;

  constructor(
    /** The room's name as used in bindings (the room cookie text). */
    readonly roomName: string,
    /** Our screen name. */
    readonly self: string,
    private readonly clock: () => Date,
    opts: { mode?: RoomMode; limits?: Partial<RoomKeyLimits> } = {},
  ) {
    this.mode = opts.mode ?? 'certim';
    this.limits = { ...DEFAULT_ROOM_KEY_LIMITS, ...opts.limits };
    this.displayNames.set(n(self), self);
  }

  /** A room we create: a fresh key (epoch 1 in certim mode), held by us alone. */
  static async create(roomName: string, self: string, clock: () => Date, opts: { mode?: RoomMode; limits?: Partial<RoomKeyLimits> } = {}): Promise<SecureRoomState> {
    const s = new SecureRoomState(roomName, self, clock, opts);
    const key = await generateRoomKey();
    if (s.mode === 'aim') s.aimKey = key;
    else s.install({ epoch: 1, key, keyholders: new Set([n(self)]), distributor: n(self), since: clock().getTime(), messages: 0 });
    return s;
  }

  private now(): number {
    return this.clock().getTime();
  }

  private waiters: { epoch: number; resolve: (ok: boolean) => void }[] = [];

  /**
   * Resolves true once we hold the key of `epoch` (a key update travels on the BOS connection, the message on the
   * chat connection: the message may come first), false after `ms`.
   */
  waitForEpoch(epoch: number, ms: number): Promise<boolean> {
    if (this.keyFor(epoch)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { epoch, resolve: (ok: boolean) => { clearTimeout(t); resolve(ok); } };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve(false);
      }, ms);
      this.waiters.push(w);
    });
  }

  private install(e: Epoch): void {
    if (this.current) this.current.retiredAt = this.now();
    this.epochs.set(e.epoch, e);
    this.current = e;
    this.keyholderLeft = false;
    this.departed.clear();
    // Keep only the current and the previous epoch.
    for (const k of [...this.epochs.keys()]) {
      if (k < e.epoch - 1) {
        this.epochs.get(k)!.key.fill(0);
        this.epochs.delete(k);
      }
    }
    const ready = this.waiters.filter((w) => w.epoch <= e.epoch);
    this.waiters = this.waiters.filter((w) => w.epoch > e.epoch);
    for (const w of ready) w.resolve(w.epoch === e.epoch);
  }

  private remember(name: string): string {
    const k = n(name);
    if (!this.displayNames.has(k)) this.displayNames.set(k, name);
    return k;
  }

  /** Current epoch (0 in aim mode or without a key). */
  get epoch(): number {
    return this.mode === 'aim' ? 0 : this.current?.epoch ?? 0;
  }

  /** True when we can read and write. */
  get hasKey(): boolean {
    return this.mode === 'aim' ? this.aimKey !== undefined : this.current !== undefined;
  }

  /** The members the server lists, by display name. */
  memberNames(): string[] {
    return [...this.members.values()].map((m) => m.screenName);
  }

  /** True when the server lists `screenName` in the room. */
  isMember(screenName: string): boolean {
    return this.members.has(n(screenName));
  }

  /**
   * Applies the server's member list (after `0E/03` / `0E/04`). Detects keyholders who left (rekey due in certim
   * mode), a classic member (switch to aim mode, once and for good) and an invitation from someone not in the room.
   */
  setMembers(list: readonly RoomMember[]): MembershipChange {
    const next = new Map(list.map((m) => [n(m.screenName), m] as const));
    const joined = [...next.keys()].filter((k) => !this.members.has(k)).map((k) => next.get(k)!.screenName);
    const left = [...this.members.keys()].filter((k) => !next.has(k)).map((k) => this.members.get(k)!.screenName);
    for (const k of this.members.keys()) if (!next.has(k)) this.departed.add(k);
    this.members.clear();
    for (const [k, m] of next) { this.members.set(k, m); this.remember(m.screenName); }
    const change: MembershipChange = { joined, left };
    if (this.pendingInviter !== undefined && next.size > 0) {
      if (!next.has(this.pendingInviter)) {
        change.droppedKey = `the inviter ${this.displayNames.get(this.pendingInviter) ?? this.pendingInviter} is not a member of the room`;
        this.dropKeys();
      }
      this.pendingInviter = undefined;
    }
    // Only a classic member who HOLDS the key (it was invited) moves the room to AIM mode; a classic client that
    // joined uninvited has no key and changes nothing (else any intruder could force the weaker mode).
    if (this.mode === 'certim' && this.current && list.some((m) => !m.certimRooms && this.current!.keyholders.has(n(m.screenName)))) {
      this.switchToAim();
      change.switchedToAim = true;
    }
    if (this.mode === 'certim' && this.current) {
      for (const k of this.current.keyholders) {
        if (k !== n(this.self) && this.departed.has(k)) { this.keyholderLeft = true; break; }
      }
      if (this.keyholderLeft) change.rekey = 'member-left';
    }
    return change;
  }

  /** Removes a member from the key (`/kick`): the next epoch leaves it out, and sending waits for that epoch. */
  exclude(screenName: string): void {
    const k = this.remember(screenName);
    if (k === n(this.self)) throw new Error('cannot remove ourselves from the key');
    this.departed.add(k);
    if (this.current?.keyholders.has(k)) this.keyholderLeft = true;
  }

  /** A classic member joins or is invited: from now on one key, AIM's format, no rekeys (sticky). The current
   *  epoch's key becomes the room's AIM key. */
  switchToAim(): void {
    if (this.mode === 'aim') return;
    this.mode = 'aim';
    if (this.current) this.aimKey = this.current.key;
    this.keyholderLeft = false;
  }

  private dropKeys(): void {
    for (const e of this.epochs.values()) e.key.fill(0);
    this.epochs.clear();
    this.current = undefined;
    this.aimKey?.fill(0);
    this.aimKey = undefined;
  }

  /** Key status of one member (the CLI/TUI key column). */
  keyStatus(screenName: string): KeyStatus {
    if (n(screenName) === n(this.self)) return this.hasKey ? 'has key' : NO_KEY_TEXT;
    if (this.mode === 'aim') return 'AIM key (unverifiable)';
    return this.current?.keyholders.has(n(screenName)) ? 'has key' : NO_KEY_TEXT;
  }

  /** One line about the room's key policy. */
  statusLine(): string {
    if (this.mode === 'aim') return CLASSIC_PRESENT_TEXT;
    if (!this.current) return NO_KEY_TEXT;
    const pending = this.keyholderLeft ? ', rekey pending' : '';
    return `certim secure room, key epoch ${this.current.epoch} (${this.current.messages} messages)${pending}`;
  }

  /** Why a new epoch is due now, if it is (certim mode only; never in aim mode). */
  rekeyDue(): RekeyReason | undefined {
    if (this.mode !== 'certim' || !this.current) return undefined;
    if (this.keyholderLeft) return 'member-left';
    if (this.now() - this.current.since >= this.limits.maxEpochAgeMs) return 'epoch-age';
    if (this.current.messages >= this.limits.maxEpochMessages) return 'message-count';
    return undefined;
  }

  /**
   * Whether we are the one to rekey: the first (by normalized screen name) of the current keyholders still in the
   * room. One deterministic choice, so members do not all rekey at once.
   */
  isRekeyLeader(): boolean {
    if (!this.current) return false;
    const candidates = [...this.current.keyholders].filter((k) => k === n(this.self) || (this.members.has(k) && !this.departed.has(k))).sort();
    return candidates[0] === n(this.self);
  }

  /** The keyholders of the next epoch: current keyholders except those seen leaving (an invitee who has not
   *  joined yet keeps its place), plus us. */
  private remaining(): Set<string> {
    const out = new Set<string>([n(this.self)]);
    for (const k of this.current?.keyholders ?? []) if (!this.departed.has(k)) out.add(k);
    return out;
  }

  private async newEpoch(keyholders: Set<string>): Promise<KeyDistribution> {
    const key = await generateRoomKey();
    const epoch = (this.current?.epoch ?? 0) + 1;
    this.install({ epoch, key, keyholders, distributor: n(this.self), since: this.now(), messages: 0 });
    return { mode: 'certim', epoch, key, keyholders: [...keyholders].map((k) => this.displayNames.get(k) ?? k) };
  }

  /** Makes and installs the next epoch for the remaining keyholders (certim mode; throws otherwise). */
  async rekey(): Promise<KeyDistribution> {
    if (this.mode !== 'certim') throw new Error(CLASSIC_PRESENT_TEXT);
    if (!this.current) throw new Error(NO_KEY_TEXT);
    return this.newEpoch(this.remaining());
  }

  /**
   * Prepares the key for an invitee. Only a keyholder can invite. certim mode: a new epoch for the remaining
   * keyholders plus the invitee (so every member learns the invitee holds the key; a classic invitee gets it in
   * AIM's format and, once it is in the room, every member moves to AIM mode); aim mode: the room's one key.
   */
  async invite(invitee: string): Promise<KeyDistribution> {
    if (!this.hasKey) throw new Error(`${NO_KEY_TEXT}: only a member holding the key can invite`);
    if (this.mode === 'aim') return { mode: 'aim', epoch: 0, key: this.aimKey!, keyholders: [this.self, invitee] };
    const holders = this.remaining();
    holders.add(this.remember(invitee));
    return this.newEpoch(holders);
  }

  /**
   * Takes a key from a verified key block. Rules (docs/protocol.md §16.2): certim — the block names this room (the
   * caller checked), an epoch above ours (or equal, from a distributor sorting first: concurrent rekeys converge),
   * us among the keyholders, and a sender who holds our current key (or, when we have none, an inviter who must
   * turn out to be in the room); aim — accepted only when we have no key, or in an aim-mode room.
   */
  acceptKey(k: ReceivedKey): { ok: true } | { ok: false; reason: string } {
    const from = this.remember(k.from);
    if (k.profile === 'aim') {
      if (this.mode === 'certim' && this.current) return { ok: false, reason: 'AIM key block for a room that runs certim keys (downgrade)' };
      if (this.mode === 'aim' && this.aimKey) {
        return Buffer.compare(Buffer.from(this.aimKey), Buffer.from(k.key)) === 0 ? { ok: true } : { ok: false, reason: 'a classic room has one key; a different one was offered' };
      }
      this.mode = 'aim';
      this.aimKey = Uint8Array.from(k.key);
      if (!this.members.size) this.pendingInviter = from;
      return { ok: true };
    }
    if (k.epoch === undefined || !k.keyholders) return { ok: false, reason: 'certim key block without epoch' };
    if (this.mode === 'aim') return { ok: false, reason: `${CLASSIC_PRESENT_TEXT}: certim key updates are ignored` };
    const holders = new Set(k.keyholders.map((h) => this.remember(h)));
    if (!holders.has(n(this.self))) return { ok: false, reason: 'the key update does not name us as a keyholder' };
    if (!holders.has(from)) return { ok: false, reason: 'the distributor is not among the keyholders it names' };
    const cur = this.current;
    if (cur) {
      if (!cur.keyholders.has(from)) return { ok: false, reason: `${k.from} does not hold the current key: only a member holding it can rekey or invite` };
      if (this.members.size && !this.members.has(from)) return { ok: false, reason: `${k.from} is not a member of the room` };
      if (k.epoch < cur.epoch || (k.epoch === cur.epoch && !(from < cur.distributor))) {
        return { ok: false, reason: `stale key update (epoch ${k.epoch}, ours ${cur.epoch})` };
      }
    } else if (this.members.size) {
      if (!this.members.has(from)) return { ok: false, reason: `${k.from} is not a member of the room` };
    } else {
      this.pendingInviter = from;
    }
    this.install({ epoch: k.epoch, key: Uint8Array.from(k.key), keyholders: holders, distributor: from, since: this.now(), messages: 0 });
    return { ok: true };
  }

  /**
   * The key to send with: epoch and key, or a reason we must not send (no key; a keyholder left and the new key
   * has not arrived — sending under the old key would let the leaver read it).
   */
  sendingKey(): { ok: true; epoch: number; key: Uint8Array } | { ok: false; reason: string } {
    if (this.mode === 'aim') return this.aimKey ? { ok: true, epoch: 0, key: this.aimKey } : { ok: false, reason: NO_KEY_TEXT };
    if (!this.current) return { ok: false, reason: NO_KEY_TEXT };
    if (this.keyholderLeft) return { ok: false, reason: 'a member left: waiting for the new room key before sending' };
    return { ok: true, epoch: this.current.epoch, key: this.current.key };
  }

  /** The key of an epoch (undefined = the AIM key), honouring the previous epoch's grace period. */
  keyFor(epoch: number | undefined): Uint8Array | undefined {
    if (epoch === undefined) return this.mode === 'aim' ? this.aimKey : undefined;
    const e = this.epochs.get(epoch);
    if (!e) return undefined;
    if (e.retiredAt !== undefined && this.now() - e.retiredAt > this.limits.previousEpochGraceMs) return undefined;
    return e.key;
  }

  /** Counts a message sent or received under an epoch (the 1,000-message limit). */
  noteMessage(epoch: number | undefined): void {
    if (epoch !== undefined && this.current?.epoch === epoch) this.current.messages++;
  }
}
