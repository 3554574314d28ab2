/**
 * `certim chat`: an interactive terminal client. Buddy list with presence, away and idle state and typing
 * (Up/Down to pick), one conversation at a time with its own scrollback (PgUp/PgDn), a security marker on every
 * message and the delivery state of ours, key-change warnings, a bell when an IM arrives while the terminal is
 * not focused (focus reporting, `CSI ? 1004 h`), and slash commands (see HELP). Keys are decoded by Node's
 * `readline.emitKeypressEvents`; the input line (src/cli/tui/line-editor.ts) takes Home/End/Delete and bracketed
 * paste, so a pasted paragraph is one message (sent in parts when long, docs/protocol.md §3.4). Rendering is in
 * chat-screen.ts.
 *
 * Sends to a buddy whose certificate is revoked, whose revocation status is unknown, or whose verified key changed
 * are refused with the reason in the conversation (`/accept NAME` takes a changed key of a personally verified
 * buddy without verifying it; prefer `/verify`); aim-legacy messages carry a LEGACY marker. Our own IMs sent from
 * another session show as "me" in the conversation with their recipient.
 */
import { emitKeypressEvents } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import type { CertimClient, IncomingIm } from '../../client/client.js';
import { ClientError } from '../../client/errors.js';
import { addBuddy, block, buddyListOf, readFeedbag, removeBuddy, unblock } from '../../client/feedbag.js';
import { IdleTracker, setIdle } from '../../client/idle.js';
import { getDetails, setAway, setProfile } from '../../client/locate-info.js';
import { ChatHistory } from '../../client/node/history.js';
import type { ProfileDir } from '../../client/node/profile.js';
import { acceptRecord, formatFingerprint, isSha256Fingerprint, trustLevel, verifyRecord } from '../../client/trust.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { RoomInvitation } from '../../client/rooms/invitation.js';
import { defaultRoomCodecs } from '../../client/rooms/room-codec.js';
import { RoomClient, type ChatRoom } from '../../client/rooms/room-client.js';
import { LineEditor, type Keypress } from '../tui/line-editor.js';
import { markerFor, render, roomEntryName, roomMarker, SCROLLBACK_LINES, sentMarker, type ChatBuddy, type ChatLine, type ChatRoomView, type ChatState } from './chat-screen.js';
import { roomCodecsFor } from './room-codecs.js';
import { COMMON_OPTIONS, connectFromProfile, reportError, UsageError } from './client-options.js';
import { publishSavedPresence, writeSaved } from './presence-settings.js';
import { ChatPeer, directMarker, PEER_HELP } from './chat-direct.js';
import { ChatFiles } from './chat-files.js';
import { tuneHeapForStreaming } from '../heap-tuning.js';

const USAGE = `usage: certim chat [--history] [--profile DIR] [BUDDY...]
  Interactive chat. Up/Down pick a buddy, PgUp/PgDn scroll, Enter sends, Ctrl-C quits; /help lists commands.
  --history  keep conversations in the profile, encrypted with your key (history.jsonl), and show them next time`;

/** The slash commands and keys, one line each, as /help shows them. */
export const HELP = [
  '/msg NAME [TEXT]     open a conversation (and send)',
  '/add NAME [GROUP]    add to your buddy list · /remove NAME  take off the list',
  '/block NAME          no IMs either way, not seen online · /unblock NAME',
  '/away [TEXT] · /back  away message · /profile TEXT · /info [NAME]  profile and away message',
  '/trust [NAME]        fingerprint and trust · /verify NAME FINGERPRINT  mark as checked in person',
  '/accept NAME         take a changed key of a verified buddy WITHOUT verifying it (prefer /verify)',
  '/send PATH           offer a file or directory · /accept · /decline  this buddy\'s file offer · /cancel  transfers',
  '/join ROOM · /create ROOM [--secure]  enter a chat room (listed as #ROOM, members beside it; * = certim client)',
  '/invite BUDDY · /leave  in a room: invite a buddy, leave · /accept [ROOM]  join the room you were invited to',
  '/kick BUDDY          certim secure rooms: drop BUDDY from the room key (the server cannot remove anyone)',
  '/plaintext [on|off]  allow unencrypted IMs to a buddy without a key · //text sends "/text" · /quit',
  ...PEER_HELP,
  'keys: Up/Down buddy · PgUp/PgDn scroll · Home/End/Left/Right/Delete edit · Ctrl-U/K/W cut · Esc clear warnings',
];

const TYPING_PAUSE_MS = 5000;

class ChatApp {
  readonly st: ChatState;
  private readonly order: string[] = [];
  /** Group of each buddy on the stored list (normalized name -> group), in the list's group order. */
  private groups = new Map<string, string>();
  private groupOrder: string[] = [];
  private readonly editor = new LineEditor();
  private redrawPending = false;
  private readonly typing = new Set<string>();
  private lastTypingSent = 0;
  private typingState: 'typing' | 'paused' | 'none' = 'none';
  private pauseTimer: ReturnType<typeof setTimeout> | undefined;
  private focused = true;
  private readonly idle = new IdleTracker();
  private idleTimer: ReturnType<typeof setInterval> | undefined;
  private online = true;
  private started = false;
  private closed = false;
  private resolveDone!: (code: number) => void;
  readonly done = new Promise<number>((r) => {
    this.resolveDone = r;
  });

  /** Where messages are remembered (`--history`), once the keys are loaded. */
  private history: ChatHistory | undefined;
  /** Messages that arrived during sign-on, before the history could be opened. */
  private readonly unsaved: Array<[string, ChatLine]> = [];
  /** `--history` was given. */
  keepHistory = false;
  /** Direct IM and Get File (chat-direct.ts). */
  private peer: ChatPeer | undefined;
  /** File offers and transfers (chat-files.ts). */
  private files: ChatFiles | undefined;

  /** Chat rooms (docs/protocol.md §17); created in attach(), secure codecs added once the keys are loaded. */
  rooms!: RoomClient;
  /** Room invitations not yet accepted, newest last. */
  private readonly invitations: RoomInvitation[] = [];

  constructor(private readonly client: CertimClient, private readonly profile: ProfileDir, initial: string[]) {
    this.st = { me: client.screenName, status: 'online', buddies: [], selected: -1, conversations: new Map(), plaintextAllowed: new Set(), notices: [], input: '', scroll: new Map(), rooms: new Map() };
    for (const b of [...profile.all().map((r) => r.screenName), ...initial]) this.ensureBuddy(b);
    if (this.order.length > 0) this.st.selected = 0;
    this.refreshBuddies();
  }

  private ensureBuddy(name: string): void {
    if (!this.order.some((o) => normalizeScreenName(o) === normalizeScreenName(name))) this.order.push(name);
  }

  private refreshBuddies(): void {
    const selectedName = this.st.buddies[this.st.selected]?.screenName;
    const presence = new Map(this.client.buddies().map((p) => [normalizeScreenName(p.screenName), p]));
    this.profile.reload();
    // Conversations with buddies not on the stored list ("Others") first, then the list's groups in their order.
    const rank = (name: string): number => {
      const g = this.groups.get(normalizeScreenName(name));
      return g === undefined ? -1 : this.groupOrder.indexOf(g);
    };
    const ordered = this.order.map((name, i) => ({ name, i })).sort((a, b) => rank(a.name) - rank(b.name) || a.i - b.i).map((x) => x.name);
    this.st.buddies = ordered.map((name): ChatBuddy => {
      const k = normalizeScreenName(name);
      const p = presence.get(k);
      const rec = this.profile.get(name);
      const prev = this.st.buddies.find((b) => normalizeScreenName(b.screenName) === k);
      return {
        screenName: p?.screenName ?? rec?.screenName ?? name, online: p?.online ?? false, away: p?.away ?? false,
        ...(p?.idleMinutes ? { idleMinutes: p.idleMinutes } : {}), typing: this.typing.has(k),
        hasCert: rec !== undefined, trust: rec ? trustLevel(rec) : undefined, unread: prev?.unread ?? 0,
        ...(this.groups.has(k) ? { group: this.groups.get(k)! } : {}),
      };
    });
    // Joined rooms first, under "Rooms".
    const roomEntries = [...this.st.rooms!.values()].map((v): ChatBuddy => {
      const name = roomEntryName(v.name);
      const prev = this.st.buddies.find((b) => b.room && normalizeScreenName(b.screenName) === normalizeScreenName(name));
      return { screenName: name, online: v.joined, away: false, hasCert: false, trust: undefined, unread: prev?.unread ?? 0, room: true, group: 'Rooms' };
    });
    this.st.buddies = [...roomEntries, ...this.st.buddies];
    if (selectedName !== undefined) this.select(selectedName, false);
  }

  private select(name: string, redraw = true): void {
    const i = this.st.buddies.findIndex((b) => normalizeScreenName(b.screenName) === normalizeScreenName(name));
    if (i >= 0) {
      this.st.selected = i;
      this.st.buddies[i]!.unread = 0;
    }
    if (redraw) this.redraw();
  }

  private lines(name: string): ChatLine[] {
    const k = normalizeScreenName(name);
    let l = this.st.conversations.get(k);
    if (!l) {
      l = [];
      this.st.conversations.set(k, l);
    }
    return l;
  }

  private push(name: string, line: ChatLine): ChatLine {
    const l = this.lines(name);
    l.push(line);
    if (l.length > SCROLLBACK_LINES) l.splice(0, l.length - SCROLLBACK_LINES);
    return line;
  }

  /** Remembers a message in the encrypted history (with `--history`). */
  private remember(name: string, line: ChatLine): void {
    if (!this.keepHistory || line.who === '*') return;
    if (!this.history) {
      this.unsaved.push([name, line]);
      return;
    }
    try {
      this.history.append({ time: line.time.toISOString(), with: name, who: line.who, text: line.text, marker: line.marker, ...(line.status ? { status: line.status } : {}) });
    } catch (e) {
      this.notice(`history not saved: ${(e as Error).message}`);
    }
  }

  /** Shows the remembered conversations (with `--history`). */
  openHistory(history: ChatHistory): void {
    this.history = history;
    const { entries, unreadable } = history.load();
    for (const e of entries) {
      this.ensureBuddy(e.with);
      this.push(e.with, { time: new Date(e.time), who: e.who, text: e.text, marker: `${e.marker} (history)`, ...(e.status ? { status: e.status } : {}) });
    }
    // What arrived during sign-on is newer than the history: keep conversations in time order, then save it.
    for (const lines of this.st.conversations.values()) lines.sort((a, b) => a.time.getTime() - b.time.getTime());
    for (const [name, line] of this.unsaved.splice(0)) this.remember(name, line);
    if (unreadable > 0) this.notice(`${unreadable} history entries could not be read (written with another key, or damaged)`);
    if (this.st.selected < 0 && this.order.length > 0) this.st.selected = 0;
    this.refreshBuddies();
  }

  private note(name: string, text: string, marker = '*'): void {
    this.push(name, { time: new Date(), who: '*', text, marker });
    this.redraw();
  }

  /** Shows a warning above the input until Esc. */
  notice(text: string): void {
    this.st.notices.push(text);
    if (this.st.notices.length > 20) this.st.notices.shift();
    this.redraw();
  }

  redraw(): void {
    if (this.redrawPending || this.closed || !this.started) return;
    this.redrawPending = true;
    setImmediate(() => {
      this.redrawPending = false;
      if (this.closed) return;
      this.st.input = this.editor.text;
      this.st.inputGraphemes = this.editor.graphemes;
      this.st.cursor = this.editor.cursor;
      process.stdout.write(render(this.st, process.stdout.columns || 100, process.stdout.rows || 30));
    });
  }

  /** Subscribes to the client's events (before sign-on, so nothing delivered at sign-on is missed). */
  attach(): void {
    this.files = new ChatFiles(this.client, { note: (peer, text, marker) => { this.ensureBuddy(peer); this.note(peer, text, marker); }, notice: (t) => this.notice(t) });
    const c = this.client;
    this.rooms = new RoomClient(c, { codecs: defaultRoomCodecs() });
    this.rooms.on('invitation', (inv) => {
      this.invitations.push(inv);
      if (this.invitations.length > 20) this.invitations.shift();
      const room = inv.name ?? inv.room.cookie;
      this.ensureBuddy(inv.peer);
      this.refreshBuddies();
      this.push(inv.peer, { time: new Date(), who: '*', text: `${inv.peer} invites you to room ${room}${inv.text ? `: ${inv.text}` : ''} — /accept ${room} to join`, marker: inv.secure ? '[invitation, secure room]' : '[invitation]' });
      this.notice(`${inv.peer} invites you to ${room}${inv.secure ? ' (secure room)' : ''}: /accept ${room}`);
      if (this.started && !this.focused) process.stdout.write('\x07');
    });
    this.rooms.on('warning', (w) => this.notice(w.message));
    c.on('buddy', (p) => {
      this.ensureBuddy(p.screenName);
      if (!p.online) this.typing.delete(normalizeScreenName(p.screenName));
      this.refreshBuddies();
      this.updateStatus();
      // The client checks a new certificate in the background (the same fetch, not a second one): show the
      // buddy's key state once it is known.
      if (p.online && p.certInfoHash !== undefined) {
        c.buddyCerts(p.screenName, false, p.certInfoHash).then(() => {
          this.refreshBuddies();
          this.redraw();
        }, () => undefined);
      }
    });
    // Server IMs and Direct IMs (chat-direct.ts) take the same path.
    const onIm = (m: IncomingIm): void => {
      // Our own IM sent from another session goes in the conversation with its recipient, as "me".
      const own = m.to !== undefined;
      const peer = m.to ?? m.from;
      this.ensureBuddy(peer);
      if (!own) this.typing.delete(normalizeScreenName(m.from));
      this.refreshBuddies();
      const line = this.push(peer, { time: m.time, who: own ? 'me' : m.from, text: m.text, marker: ('direct' in m ? directMarker(m.trust) : markerFor(m)) + (m.offline ? ' (offline)' : '') });
      if (m.verdict !== 'failed') this.remember(peer, line);
      if (m.code === 'REVOKED') this.notice(`${m.from}'s signing key is REVOKED: ${m.reason}`);
      const sel = this.st.buddies[this.st.selected];
      if (!sel) this.select(peer, false);
      else if (normalizeScreenName(sel.screenName) !== normalizeScreenName(peer)) {
        const b = this.st.buddies.find((x) => normalizeScreenName(x.screenName) === normalizeScreenName(peer));
        if (b) b.unread++;
      }
      if (m.verdict === 'failed') this.notice(`a message from ${m.from} was rejected: ${m.reason}`);
      // Not looking at the terminal: ring the bell (terminals turn it into an urgent hint or a notification).
      if (this.started && !this.focused && !own) process.stdout.write('\x07');
      this.updateStatus();
    };
    c.on('im', onIm);
    c.on('key-change', (k) => {
      this.refreshBuddies();
      this.push(k.screenName, { time: new Date(), who: '*', text: `${k.screenName}'s key changed: new fingerprint ${formatFingerprint(k.newFingerprint)}`, marker: '[KEY CHANGED]' });
      this.notice(`WARNING: ${k.screenName}'s key changed! Verify the new fingerprint, then /verify ${k.screenName} FINGERPRINT`);
    });
    c.on('warning', (w) => this.notice(w.message));
    const onTyping = ({ from, event }: { from: string; event: 'none' | 'paused' | 'typing' }): void => {
      const k = normalizeScreenName(from);
      if (event === 'typing') this.typing.add(k);
      else this.typing.delete(k);
      this.refreshBuddies();
      this.updateStatus();
    };
    c.on('typing', onTyping);
    this.peer = new ChatPeer(c, {
      note: (name, text, marker) => this.note(name, text, marker), notice: (t) => this.notice(t), incoming: onIm, typing: onTyping,
      push: (name, line) => this.push(name, line), redraw: () => this.redraw(),
    });
    c.on('disconnected', ({ willReconnect }) => {
      this.online = false;
      this.st.status = willReconnect ? 'disconnected, reconnecting…' : 'disconnected';
      this.redraw();
    });
    c.on('signed-on', ({ screenName }) => {
      this.st.me = screenName;
      this.online = true;
      this.updateStatus();
    });
  }

  /** Loads the server-stored buddy list into the list (buddies there get presence from the server). */
  async loadBuddyList(): Promise<void> {
    try {
      const list = buddyListOf(await readFeedbag(this.client));
      this.groups = new Map(list.groups.flatMap((g) => g.buddies.map((b) => [normalizeScreenName(b), g.name] as const)));
      this.groupOrder = list.groups.map((g) => g.name);
      for (const g of list.groups) for (const b of g.buddies) this.ensureBuddy(b);
      if (this.st.selected < 0 && this.order.length > 0) this.st.selected = 0;
      this.refreshBuddies();
      this.redraw();
    } catch (e) {
      this.notice(`could not read your buddy list: ${(e as Error).message}`);
    }
  }

  private updateStatus(): void {
    if (!this.online) return;
    const sel = this.current();
    const typing = sel !== undefined && this.typing.has(normalizeScreenName(sel));
    this.st.status = typing ? `online — ${sel} is typing…` : 'online';
    this.redraw();
  }

  /**
   * Typing notifications to the open conversation's buddy (ICBM 04/14, docs/protocol.md §3.4): "typing" at most
   * every 3 s while keys come, "paused" after 5 s without a key, "none" once the line is empty or sent.
   */
  private typingTo(event: 'typing' | 'paused' | 'none'): void {
    const to = this.current();
    if (!to || this.currentRoom() !== undefined) return;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    if (event === 'typing') {
      this.pauseTimer = setTimeout(() => this.typingTo('paused'), TYPING_PAUSE_MS);
      this.pauseTimer.unref();
      const now = Date.now();
      if (this.typingState === 'typing' && now - this.lastTypingSent < 3000) return;
      this.lastTypingSent = now;
    } else if (this.typingState === event || (event === 'paused' && this.typingState === 'none')) {
      return;
    }
    this.typingState = event;
    if (!this.peer?.typing(to, event)) this.client.sendTyping(to, event);
  }

  /** Takes over the terminal: alternate screen, focus reporting, bracketed paste, raw keys. */
  start(): void {
    this.started = true;
    const stdin = process.stdin;
    emitKeypressEvents(stdin);
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('keypress', (str: string | undefined, key: Keypress | undefined) => this.onKey(str, key ?? { sequence: str ?? '' }));
    stdin.resume();
    process.stdout.on('resize', () => this.redraw());
    process.stdout.write('\x1b[?1049h\x1b[?1004h\x1b[?2004h');
    // After 10 quiet minutes buddies see us idle (01/11); the next key makes us active again.
    this.idleTimer = setInterval(() => {
      const seconds = this.idle.check();
      if (seconds !== undefined && this.client.connected) setIdle(this.client, seconds).catch(() => undefined);
    }, 30_000);
    this.idleTimer.unref();
    this.redraw();
  }

  stop(code: number): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.peer?.stop();
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stdout.write('\x1b[?2004l\x1b[?1004l\x1b[?1049l');
    this.resolveDone(code);
  }

  private onKey(str: string | undefined, key: Keypress): void {
    // Focus reports (CSI I / CSI O) decide whether a new IM rings the bell.
    if (key.sequence === '\x1b[I' || key.sequence === '\x1b[O') {
      this.focused = key.sequence === '\x1b[I';
      return;
    }
    if (this.idle.activity() && this.client.connected) setIdle(this.client, 0).catch(() => undefined);
    const conv = (): string => normalizeScreenName(this.current() ?? '');
    const page = Math.max(1, (process.stdout.rows || 30) - 8);
    if (!this.editor.pasting) {
      if (key.ctrl && key.name === 'c') return this.stop(0);
      if ((key.name === 'up' || key.name === 'down' || key.name === 'tab') && this.typingState !== 'none') this.typingTo('none'); // leaving this conversation
      switch (key.name) {
        case 'up':
          if (this.st.buddies.length) this.select(this.st.buddies[Math.max(0, this.st.selected - 1)]!.screenName, false);
          return this.updateStatus();
        case 'down':
        case 'tab':
          if (this.st.buddies.length) this.select(this.st.buddies[Math.min(this.st.buddies.length - 1, this.st.selected + 1)]!.screenName, false);
          return this.updateStatus();
        case 'pageup':
          this.st.scroll!.set(conv(), (this.st.scroll!.get(conv()) ?? 0) + page);
          return this.redraw();
        case 'pagedown':
          this.st.scroll!.set(conv(), Math.max(0, (this.st.scroll!.get(conv()) ?? 0) - page));
          return this.redraw();
        case 'escape':
          this.st.notices = [];
          return this.redraw();
        default:
          if (key.ctrl && key.name === 'l') return this.redraw();
      }
    }
    const r = this.editor.key(str, key);
    if (r === 'submit') {
      const line = this.editor.text;
      this.editor.set('');
      if (this.typingState !== 'none') this.typingTo('none');
      if (line.trim()) void this.submit(line.trim().startsWith('/') ? line.trim() : line);
    } else if (r === 'edited') {
      const text = this.editor.text;
      if (text === '') this.typingTo('none');
      else if (!text.startsWith('/')) this.typingTo('typing');
    }
    this.redraw();
  }

  private current(): string | undefined {
    return this.st.buddies[this.st.selected]?.screenName;
  }

  /** The open room, when the selected entry is one. */
  private currentRoom(): ChatRoomView | undefined {
    const sel = this.st.buddies[this.st.selected];
    return sel?.room ? this.st.rooms!.get(normalizeScreenName(sel.screenName)) : undefined;
  }

  /** Shows a joined room: its entry, members, messages. */
  private watchRoom(r: ChatRoom): void {
    const entry = roomEntryName(r.name);
    const key = normalizeScreenName(entry);
    const view: ChatRoomView = { name: r.name, secure: r.secure, readable: r.readable, joined: true, members: [] };
    const refresh = (): void => {
      view.members = r.members().map((m) => ({ screenName: m.screenName, certim: m.certim, keyStatus: r.keyStatus(m) }));
    };
    refresh();
    this.st.rooms!.set(key, view);
    this.refreshBuddies();
    this.select(entry, false);
    this.note(entry, r.secure
      ? (r.readable ? `joined secure room ${r.name}` : `joined SECURE room ${r.name}, but this client cannot read or write it (no secure-room codec)`)
      : `joined ${r.name}: a plain room — messages are NOT encrypted; anyone in it (and the server) can read them`, r.secure ? '[room, secure]' : '[room, PLAINTEXT]');
    r.on('members', ({ joined, left }) => {
      refresh();
      for (const m of joined) this.push(entry, { time: new Date(), who: '*', text: `${m.screenName} joined${m.certim ? '' : ' (classic client)'}`, marker: '[room]' });
      for (const m of left) this.push(entry, { time: new Date(), who: '*', text: `${m.screenName} left`, marker: '[room]' });
      this.redraw();
    });
    r.on('message', (m) => {
      this.push(entry, { time: m.time, who: m.from, text: m.text, marker: roomMarker(m) + (m.whisper ? ' (whisper)' : '') });
      const sel = this.st.buddies[this.st.selected];
      if (!sel || normalizeScreenName(sel.screenName) !== key) {
        const b = this.st.buddies.find((x) => normalizeScreenName(x.screenName) === key);
        if (b) b.unread++;
      }
      if (this.started && !this.focused) process.stdout.write('\x07');
      this.redraw();
    });
    r.on('warning', (w) => this.notice(w.message));
    r.on('closed', ({ byUser, error }) => {
      view.joined = false;
      this.refreshBuddies();
      this.note(entry, byUser ? `you left ${r.name}` : `the connection to ${r.name} closed${error ? `: ${error.message}` : ''} — /join ${r.name} to go back`, '[room]');
    });
  }

  private async sendRoom(view: ChatRoomView, text: string): Promise<void> {
    const entry = roomEntryName(view.name);
    const r = this.rooms.room(view.name);
    const line = this.push(entry, { time: new Date(), who: 'me', text, marker: '[…]', status: 'sending…' });
    this.st.scroll!.delete(normalizeScreenName(entry));
    this.redraw();
    try {
      if (!r) throw new ClientError('NOT_IN_ROOM', `not in ${view.name}: /join ${view.name}`);
      await r.send(text);
      line.marker = r.secure ? '[secure]' : '[PLAINTEXT]';
      line.status = 'sent to the room';
    } catch (e) {
      line.marker = '[NOT SENT]';
      line.status = undefined;
      line.who = '*';
      line.text = `not sent: ${(e as Error).message}`;
    }
    this.redraw();
  }

  private async submit(line: string): Promise<void> {
    if (!line.startsWith('/') || line.startsWith('//')) {
      const to = this.current();
      if (!to) return this.notice('no conversation open: /msg NAME first');
      const room = this.currentRoom();
      if (room) return this.sendRoom(room, line.startsWith('//') ? line.slice(1) : line);
      return this.send(to, line.startsWith('//') ? line.slice(1) : line); // "//text" sends "/text"
    }
    const [cmd, ...args] = line.slice(1).split(/\s+/);
    const rest = line.slice(1 + (cmd ?? '').length).trim();
    try {
      if (this.peer?.command(cmd, args, this.current())) return this.redraw();
      switch (cmd) {
        case 'quit':
        case 'q':
          return this.stop(0);
        case 'msg': {
          const name = args[0];
          if (!name) return this.notice('usage: /msg NAME [TEXT]');
          this.open(name);
          if (args.length > 1) await this.send(name, rest.slice(name.length).trim());
          return;
        }
        case 'add': {
          const [name, ...group] = args;
          if (!name) return this.notice('usage: /add NAME [GROUP]');
          this.open(name);
          const added = await addBuddy(this.client, name, group.length ? group.join(' ') : undefined);
          await this.loadBuddyList();
          return this.note(name, added ? `${name} added to your buddy list` : `${name} is already on your buddy list`);
        }
        case 'remove': {
          const name = args[0] ?? this.current();
          if (!name) return this.notice('usage: /remove NAME');
          const n = await removeBuddy(this.client, name);
          await this.loadBuddyList();
          return this.note(name, n > 0 ? `${name} removed from your buddy list` : `${name} was not on your buddy list`);
        }
        case 'block':
        case 'unblock': {
          const name = args[0] ?? this.current();
          if (!name) return this.notice(`usage: /${cmd} NAME`);
          const changed = cmd === 'block' ? await block(this.client, name) : await unblock(this.client, name);
          return this.note(name, cmd === 'block'
            ? (changed ? `${name} is blocked: no IMs either way, and you no longer see each other online` : `${name} was already blocked`)
            : (changed ? `${name} is unblocked` : `${name} was not blocked`));
        }
        case 'away': {
          const text = rest || 'I am away from my computer right now.';
          await setAway(this.client, text);
          writeSaved(this.profile, 'away', text);
          this.st.notices.push(`you are away: ${text} (/back to return)`);
          return this.redraw();
        }
        case 'back':
          await setAway(this.client, undefined);
          writeSaved(this.profile, 'away', undefined);
          this.st.notices = this.st.notices.filter((n) => !n.startsWith('you are away'));
          return this.notice('you are back');
        case 'profile':
          await setProfile(this.client, rest);
          writeSaved(this.profile, 'profile', rest === '' ? undefined : rest);
          return this.notice(rest ? 'profile updated' : 'profile cleared');
        case 'info': {
          const name = args[0] ?? this.current();
          if (!name) return this.notice('usage: /info NAME');
          const d = await getDetails(this.client, name);
          const idle = d.idleMinutes ? `, idle ${d.idleMinutes} min` : '';
          return this.note(name, `${d.screenName}: ${d.away ? `away: ${d.away}` : 'available'}${idle}${d.profile ? `\nprofile: ${d.profile}` : ''}`, '[info]');
        }
        case 'plaintext': {
          const to = this.current();
          if (!to) return this.notice('no conversation open');
          const k = normalizeScreenName(to);
          const on = args[0] === undefined ? !this.st.plaintextAllowed.has(k) : args[0] === 'on';
          if (on) this.st.plaintextAllowed.add(k);
          else this.st.plaintextAllowed.delete(k);
          return this.note(to, on ? 'plaintext ALLOWED for this conversation when no key is available' : 'plaintext forbidden again', on ? '[PLAINTEXT ALLOWED]' : '[secure only]');
        }
        case 'trust': {
          const name = args[0] ?? this.current();
          if (!name) return this.notice('usage: /trust NAME');
          await this.client.buddyCerts(name, true);
          this.profile.reload();
          const rec = this.profile.get(name);
          this.refreshBuddies();
          if (!rec) return this.notice(`${name} has no certificate`);
          return this.note(name, `${rec.screenName} fingerprint ${formatFingerprint(rec.fingerprint)}${rec.previousFingerprint ? ` (was ${formatFingerprint(rec.previousFingerprint)})` : ''}`, `[trust: ${trustLevel(rec)}]`);
        }
        case 'verify': {
          const [name, ...fp] = args;
          if (!name || fp.length === 0) return this.notice('usage: /verify NAME FINGERPRINT');
          if (!isSha256Fingerprint(fp.join(''))) return this.notice(`not a fingerprint: type the 64 hex digits ${name} reads to you (groups as /trust ${name} shows them; spaces and case do not matter)`);
          this.profile.reload();
          const rec = this.profile.get(name);
          if (!rec) return this.notice(`no certificate known for ${name}: /trust ${name} first`);
          const r = verifyRecord(rec, fp.join(''));
          if (!r.ok) return this.notice(`fingerprint does NOT match ${name}'s current certificate — not verified`);
          this.profile.put(r.record);
          this.refreshBuddies();
          return this.note(name, `${name} is now personally verified`, '[trust: personal]');
        }
        case 'send':
          return await this.files?.send(this.current(), rest);
        case 'decline':
          return await this.files?.decline(this.current());
        case 'cancel':
          return this.files?.cancel();
        case 'join':
        case 'create': {
          const secure = args.includes('--secure');
          const name = args.filter((a) => a !== '--secure').join(' ').trim();
          if (!name) return this.notice(`usage: /${cmd} ROOM${cmd === 'create' ? ' [--secure]' : ''}`);
          if (cmd === 'join' && secure) return this.notice('usage: /join ROOM (a room is secure or not from its creation: /create ROOM --secure)');
          if (secure && !this.rooms.codecs.secureAvailable) return this.notice('secure rooms not available in this client yet (no secure-room codec): nothing was created');
          const existing = this.rooms.room(name);
          if (existing) return this.select(roomEntryName(existing.name));
          const r = cmd === 'create' ? await this.rooms.join(await this.rooms.create(name, { secure })) : await this.rooms.join(name);
          return this.watchRoom(r);
        }
        case 'invite': {
          const room = this.currentRoom();
          const buddy = args[0];
          if (!room || !buddy) return this.notice('usage: /invite BUDDY, in the room you are inviting to');
          const r = this.rooms.room(room.name);
          if (!r) return this.notice(`you are not in ${room.name}: /join ${room.name}`);
          await this.rooms.invite(r, buddy, rest.slice(buddy.length).trim() || undefined);
          return this.note(roomEntryName(room.name), `invited ${buddy}`, '[room]');
        }
        case 'leave': {
          const room = this.currentRoom();
          if (!room) return this.notice('/leave works in a room (select its #ROOM entry)');
          const r = this.rooms.room(room.name);
          if (!r) return this.notice(`you already left ${room.name}`);
          r.leave();
          return;
        }
        case 'kick': {
          const room = this.currentRoom();
          const buddy = args[0];
          if (!room || !buddy) return this.notice('usage: /kick BUDDY, in a certim secure room');
          const r = this.rooms.room(room.name);
          const kick = r?.codecHooks?.kick;
          if (!r || !r.secure || !kick) {
            return this.note(roomEntryName(room.name), `/kick only works in certim secure rooms: it gives everyone else a new room key without ${buddy}, so ${buddy} can no longer read or write; the server cannot remove anyone from a room${r?.secure ? ' (not available: this client has no secure-room codec)' : ` (${room.name} is a plain room)`}`, '[kick]');
          }
          await kick.call(r.codecHooks, buddy, r.context());
          return this.note(roomEntryName(room.name), `${buddy} was removed from the room key`, '[room]');
        }
        case 'accept': {
          // Without a name and with a file offer waiting, /accept takes the open conversation's offer (a key change
          // needs the name).
          if (args[0] === undefined && this.files?.pending()) return await this.files.accept(this.current());
          // A pending room invitation (by room name, or the newest with no name given) before a changed key.
          const wanted = args.join(' ').trim();
          const inv = wanted === '' ? this.invitations[this.invitations.length - 1]
            : this.invitations.find((i) => normalizeScreenName(i.name ?? i.room.cookie) === normalizeScreenName(wanted));
          if (inv) {
            this.invitations.splice(this.invitations.indexOf(inv), 1);
            return this.watchRoom(await this.rooms.accept(inv));
          }
          const name = args[0] ?? this.current();
          if (!name) return this.notice('usage: /accept NAME');
          this.profile.reload();
          const rec = this.profile.get(name);
          const next = rec ? acceptRecord(rec) : undefined;
          if (!rec || !next) return this.notice(`${name}'s key has not changed; nothing to accept`);
          this.profile.put(next);
          this.refreshBuddies();
          return this.note(name, `accepted ${name}'s new key ${formatFingerprint(rec.fingerprint)} WITHOUT verifying it`, '[trust: ca]');
        }
        case 'help': {
          const to = this.current();
          if (!to) return this.notice(HELP.join(' · '));
          for (const h of HELP) this.push(to, { time: new Date(), who: '*', text: h, marker: '[help]' });
          return this.redraw();
        }
        default:
          return this.notice(`unknown command /${cmd ?? ''} (try /help)`);
      }
    } catch (e) {
      return this.notice(`/${cmd}: ${(e as Error).message}`);
    }
  }

  private open(name: string): void {
    this.ensureBuddy(name);
    this.client.addBuddy(name);
    this.refreshBuddies();
    this.select(name);
    this.updateStatus();
  }

  private async send(to: string, text: string): Promise<void> {
    const direct = await this.peer?.trySend(to, text); // over a Direct IM connection while one is up
    if (direct) {
      this.remember(to, direct);
      return this.redraw();
    }
    const allow = this.st.plaintextAllowed.has(normalizeScreenName(to));
    // The line shows at once; its status follows the IM (paced and, when long, sent in parts).
    const line = this.push(to, { time: new Date(), who: 'me', text, marker: '[…]', status: text.length > 3000 ? `sending ${text.length} characters in parts…` : 'sending…' });
    this.st.scroll!.delete(normalizeScreenName(to));
    this.redraw();
    try {
      const r = await this.client.sendIm(to, text, { allowPlaintext: allow });
      this.refreshBuddies();
      line.marker = sentMarker(r.secure, r.trust, r.profile === 'aim-legacy');
      const parts = r.parts > 1 ? ` in ${r.parts} parts` : '';
      line.status = r.delivery === 'delivered' ? `delivered${parts}` : `stored${parts}: ${to} is offline`;
      this.remember(to, line);
      for (const n of r.notes ?? []) this.push(to, { time: new Date(), who: '*', text: n, marker: '[NOTE]' });
    } catch (e) {
      line.marker = '[NOT SENT]';
      line.status = undefined;
      const message = (e as Error).message;
      line.text = ClientError.is(e, 'BUDDY_REVOKED') ? `NOT SENT — ${message}`
        : ClientError.is(e, 'KEY_CHANGED') ? `not sent: ${message.replace(/`certim trust verify (\S+) FINGERPRINT`/, '/verify $1 FINGERPRINT').replace(/`certim trust accept (\S+)`/, '/accept $1')}`
        : ClientError.is(e, 'PLAINTEXT_REFUSED') ? `not sent: ${to} has no valid certificate. Type /plaintext to allow unencrypted messages in this conversation.`
        : message.replace(/^not (sent|delivered): /, 'not sent: ');
      if (!/^not sent/i.test(line.text)) line.text = `not sent: ${line.text}`;
      line.who = '*';
    }
    this.redraw();
  }
}

/** `certim chat`. */
export const chatCommand: Command = {
  summary: 'interactive terminal chat with secure IMs',
  async run(argv) {
    let client: CertimClient | undefined;
    try {
      const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, history: { type: 'boolean' } }, allowPositionals: true });
      if (values.help) {
        console.log(USAGE);
        return 0;
      }
      if (!process.stdout.isTTY) throw new UsageError('certim chat needs a terminal (use `certim send` / `certim listen` in scripts)');
      tuneHeapForStreaming(); // /send and /get move files through this process
      let app!: ChatApp;
      const connected = await connectFromProfile(values, {
        reconnect: true,
        consume: true,
        buddies: positionals,
        setup: (c, profile) => {
          app = new ChatApp(c, profile, positionals);
          app.keepHistory = values.history === true;
          app.attach();
        },
      });
      client = connected.client;
      if (values.history) {
        const id = connected.identity;
        if (!id) throw new UsageError('--history needs your keys (certim keys init first): the history is encrypted with them');
        app.openHistory(new ChatHistory(connected.profile.path('history.jsonl'), [id.encryption, ...(id.previous ?? [])]));
      }
      roomCodecsFor(client, connected.identity, app.rooms.codecs, (room, note) => app.notice(`${room}: ${note}`));
      publishSavedPresence(client, connected.profile, (m) => app.notice(m));
      app.start();
      void app.loadBuddyList();
      process.once('SIGTERM', () => app.stop(0));
      return await app.done;
    } catch (e) {
      return reportError('chat', e);
    } finally {
      client?.close();
    }
  },
};
