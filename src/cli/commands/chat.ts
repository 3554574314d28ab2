/**
 * `certim chat`: an interactive terminal client. Buddy list with presence (Up/Down to pick), one conversation at
 * a time, a security marker on every message, key-change warnings, and slash commands:
 *   /msg NAME [TEXT]  open (and optionally send to) a conversation     /add NAME  watch a buddy
 *   /trust [NAME]     show the buddy's fingerprint and trust level     /verify NAME FINGERPRINT  mark as verified
 *   /plaintext [on|off]  allow or forbid plaintext for this conversation (needed only for buddies without a key)
 *   /quit
 * Plain typing sends to the open conversation. Rendering is in chat-screen.ts.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import type { CertimClient } from '../../client/client.js';
import { ClientError } from '../../client/errors.js';
import type { ProfileDir } from '../../client/node/profile.js';
import { formatFingerprint, trustLevel, verifyRecord } from '../../client/trust.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { decodeKeys, markerFor, render, sentMarker, type ChatBuddy, type ChatState } from './chat-screen.js';
import { COMMON_OPTIONS, connectFromProfile, reportError, UsageError } from './client-options.js';

const USAGE = 'usage: certim chat [--profile DIR] [BUDDY...]';

class ChatApp {
  readonly st: ChatState;
  private readonly order: string[] = [];
  private redrawPending = false;
  private readonly typing = new Set<string>();
  private lastTypingSent = 0;
  private online = true;
  private started = false;
  private closed = false;
  private resolveDone!: (code: number) => void;
  readonly done = new Promise<number>((r) => {
    this.resolveDone = r;
  });

  constructor(private readonly client: CertimClient, private readonly profile: ProfileDir, initial: string[]) {
    this.st = { me: client.screenName, status: 'online', buddies: [], selected: -1, conversations: new Map(), plaintextAllowed: new Set(), notices: [], input: '' };
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
    this.st.buddies = this.order.map((name): ChatBuddy => {
      const k = normalizeScreenName(name);
      const p = presence.get(k);
      const rec = this.profile.get(name);
      const prev = this.st.buddies.find((b) => normalizeScreenName(b.screenName) === k);
      return { screenName: p?.screenName ?? rec?.screenName ?? name, online: p?.online ?? false, away: p?.away ?? false, hasCert: rec !== undefined, trust: rec ? trustLevel(rec) : undefined, unread: prev?.unread ?? 0 };
    });
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

  private lines(name: string) {
    const k = normalizeScreenName(name);
    let l = this.st.conversations.get(k);
    if (!l) {
      l = [];
      this.st.conversations.set(k, l);
    }
    return l;
  }

  private notice(text: string): void {
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
      process.stdout.write(render(this.st, process.stdout.columns || 100, process.stdout.rows || 30));
    });
  }

  /** Subscribes to the client's events (before sign-on, so nothing delivered at sign-on is missed). */
  attach(): void {
    const c = this.client;
    c.on('buddy', (p) => {
      this.ensureBuddy(p.screenName);
      this.refreshBuddies();
      this.redraw();
    });
    c.on('im', (m) => {
      // Our own IM sent from another session goes in the conversation with its recipient.
      const peer = m.to ?? m.from;
      this.ensureBuddy(peer);
      this.refreshBuddies();
      this.lines(peer).push({ time: m.time, who: m.to !== undefined ? 'me' : m.from, text: m.text, marker: markerFor(m) + (m.offline ? ' (offline)' : '') });
      const sel = this.st.buddies[this.st.selected];
      if (!sel) this.select(peer, false);
      else if (normalizeScreenName(sel.screenName) !== normalizeScreenName(peer)) {
        const b = this.st.buddies.find((x) => normalizeScreenName(x.screenName) === normalizeScreenName(peer));
        if (b) b.unread++;
      }
      if (m.verdict === 'failed') this.notice(`a message from ${m.from} was rejected: ${m.reason}`);
      this.redraw();
    });
    c.on('key-change', (k) => {
      this.refreshBuddies();
      this.lines(k.screenName).push({ time: new Date(), who: '*', text: `${k.screenName}'s key changed: new fingerprint ${formatFingerprint(k.newFingerprint)}`, marker: '[KEY CHANGED]' });
      this.notice(`WARNING: ${k.screenName}'s key changed! Verify the new fingerprint, then /verify ${k.screenName} FINGERPRINT`);
    });
    c.on('warning', (w) => this.notice(w.message));
    c.on('typing', ({ from, event }) => {
      const k = normalizeScreenName(from);
      if (event === 'typing') this.typing.add(k);
      else this.typing.delete(k);
      this.updateStatus();
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

  private updateStatus(): void {
    if (!this.online) return;
    const sel = this.current();
    const typing = sel !== undefined && this.typing.has(normalizeScreenName(sel));
    this.st.status = typing ? `online — ${sel} is typing…` : 'online';
    this.redraw();
  }

  /** Tells the open conversation's buddy we are typing (at most every 3 s), or stopped. */
  private typingTo(event: 'typing' | 'none'): void {
    const to = this.current();
    if (!to) return;
    const now = Date.now();
    if (event === 'typing' && now - this.lastTypingSent < 3000) return;
    this.lastTypingSent = event === 'typing' ? now : 0;
    this.client.sendTyping(to, event);
  }

  /** Takes over the terminal. */
  start(): void {
    this.started = true;
    const stdin = process.stdin;
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.on('data', (d: string) => this.onInput(d));
    stdin.resume();
    process.stdout.on('resize', () => this.redraw());
    process.stdout.write('\x1b[?1049h');
    this.redraw();
  }

  stop(code: number): void {
    if (this.closed) return;
    this.closed = true;
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stdout.write('\x1b[?1049l');
    this.resolveDone(code);
  }

  private onInput(d: string): void {
    for (const k of decodeKeys(d)) {
      switch (k.kind) {
        case 'char':
          this.st.input += k.ch;
          if (!this.st.input.startsWith('/')) this.typingTo('typing');
          break;
        case 'backspace': this.st.input = [...this.st.input].slice(0, -1).join(''); break;
        case 'up':
          if (this.st.buddies.length) this.select(this.st.buddies[Math.max(0, this.st.selected - 1)]!.screenName, false);
          this.updateStatus();
          break;
        case 'down':
        case 'tab':
          if (this.st.buddies.length) this.select(this.st.buddies[Math.min(this.st.buddies.length - 1, this.st.selected + 1)]!.screenName, false);
          this.updateStatus();
          break;
        case 'escape': this.st.notices = []; break;
        case 'ctrl-c': this.stop(0); return;
        case 'ctrl-l': break;
        case 'enter': {
          const line = this.st.input.trim();
          this.st.input = '';
          if (this.lastTypingSent !== 0) this.typingTo('none');
          if (line) void this.submit(line);
          break;
        }
      }
    }
    this.redraw();
  }

  private current(): string | undefined {
    return this.st.buddies[this.st.selected]?.screenName;
  }

  private async submit(line: string): Promise<void> {
    if (!line.startsWith('/')) {
      const to = this.current();
      if (!to) return this.notice('no conversation open: /msg NAME first');
      return this.send(to, line);
    }
    const [cmd, ...args] = line.slice(1).split(/\s+/);
    switch (cmd) {
      case 'quit':
      case 'q':
        return this.stop(0);
      case 'msg':
      case 'add': {
        const name = args[0];
        if (!name) return this.notice(`usage: /${cmd} NAME${cmd === 'msg' ? ' [TEXT]' : ''}`);
        this.ensureBuddy(name);
        this.client.addBuddy(name);
        this.refreshBuddies();
        this.select(name);
        if (args.length > 1) await this.send(name, args.slice(1).join(' '));
        return;
      }
      case 'plaintext': {
        const to = this.current();
        if (!to) return this.notice('no conversation open');
        const k = normalizeScreenName(to);
        const on = args[0] === undefined ? !this.st.plaintextAllowed.has(k) : args[0] === 'on';
        if (on) this.st.plaintextAllowed.add(k);
        else this.st.plaintextAllowed.delete(k);
        this.lines(to).push({ time: new Date(), who: '*', text: on ? 'plaintext ALLOWED for this conversation when no key is available' : 'plaintext forbidden again', marker: on ? '[PLAINTEXT ALLOWED]' : '[secure only]' });
        return this.redraw();
      }
      case 'trust': {
        const name = args[0] ?? this.current();
        if (!name) return this.notice('usage: /trust NAME');
        try {
          await this.client.buddyCerts(name, true);
        } catch (e) {
          return this.notice((e as Error).message);
        }
        this.profile.reload();
        const rec = this.profile.get(name);
        this.refreshBuddies();
        if (!rec) return this.notice(`${name} has no certificate`);
        this.lines(name).push({ time: new Date(), who: '*', text: `${rec.screenName} fingerprint ${formatFingerprint(rec.fingerprint)}${rec.previousFingerprint ? ` (was ${formatFingerprint(rec.previousFingerprint)})` : ''}`, marker: `[trust: ${trustLevel(rec)}]` });
        return this.redraw();
      }
      case 'verify': {
        const [name, ...fp] = args;
        if (!name || fp.length === 0) return this.notice('usage: /verify NAME FINGERPRINT');
        this.profile.reload();
        const rec = this.profile.get(name);
        if (!rec) return this.notice(`no certificate known for ${name}: /trust ${name} first`);
        const r = verifyRecord(rec, fp.join(''));
        if (!r.ok) return this.notice(`fingerprint does NOT match ${name}'s current certificate — not verified`);
        this.profile.put(r.record);
        this.refreshBuddies();
        this.lines(name).push({ time: new Date(), who: '*', text: `${name} is now personally verified`, marker: '[trust: personal]' });
        return this.redraw();
      }
      case 'help':
        return this.notice('/msg NAME [TEXT] · /add NAME · /trust [NAME] · /verify NAME FP · /plaintext [on|off] · /quit · Esc clears warnings');
      default:
        return this.notice(`unknown command /${cmd ?? ''} (try /help)`);
    }
  }

  private async send(to: string, text: string): Promise<void> {
    const allow = this.st.plaintextAllowed.has(normalizeScreenName(to));
    try {
      const r = await this.client.sendIm(to, text, { allowPlaintext: allow });
      this.refreshBuddies();
      this.lines(to).push({ time: new Date(), who: 'me', text, marker: sentMarker(r.secure, r.trust) });
    } catch (e) {
      const why = ClientError.is(e, 'PLAINTEXT_REFUSED')
        ? `not sent: ${to} has no valid certificate. Type /plaintext to allow unencrypted messages in this conversation.`
        : `not sent: ${(e as Error).message}`;
      this.lines(to).push({ time: new Date(), who: '*', text: why, marker: '[NOT SENT]' });
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
      const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS }, allowPositionals: true });
      if (values.help) {
        console.error(USAGE);
        return 0;
      }
      if (!process.stdout.isTTY) throw new UsageError('certim chat needs a terminal (use `certim send` / `certim listen` in scripts)');
      let app!: ChatApp;
      const connected = await connectFromProfile(values, {
        reconnect: true,
        consume: true,
        buddies: positionals,
        setup: (c, profile) => {
          app = new ChatApp(c, profile, positionals);
          app.attach();
        },
      });
      client = connected.client;
      app.start();
      process.once('SIGTERM', () => app.stop(0));
      return await app.done;
    } catch (e) {
      return reportError('chat', e);
    } finally {
      client?.close();
    }
  },
};
