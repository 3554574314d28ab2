/**
 * The `certim chat` screen: state, key decoding and rendering, kept free of sockets so it can be reasoned about
 * (and tested) alone. Plain ANSI: alternate screen, cursor moves, reverse video for the selected buddy; no
 * dependencies. Every message line carries its security marker; warnings stay on screen until dismissed.
 */
import type { IncomingIm } from '../../client/client.js';
import type { TrustLevel } from '../../client/trust.js';
import { normalizeScreenName } from '../../pki/screen-name.js';

/** One line of a conversation. */
export interface ChatLine {
  /** When. */
  time: Date;
  /** Who wrote it ('me' for us, '*' for system notes). */
  who: string;
  /** Text (empty for rejected messages). */
  text: string;
  /** Security marker shown before the text. */
  marker: string;
}

/** One entry of the buddy list. */
export interface ChatBuddy {
  /** Screen name. */
  screenName: string;
  /** Signed on. */
  online: boolean;
  /** Away. */
  away: boolean;
  /** Has a verified certificate in our cache. */
  hasCert: boolean;
  /** Trust in that certificate. */
  trust: TrustLevel | undefined;
  /** Unread messages. */
  unread: number;
}

/** Everything the screen shows. */
export interface ChatState {
  /** Our screen name. */
  me: string;
  /** Connection status text. */
  status: string;
  /** Buddies in display order. */
  buddies: ChatBuddy[];
  /** Index of the selected buddy (the open conversation), or -1. */
  selected: number;
  /** Conversations by normalized screen name. */
  conversations: Map<string, ChatLine[]>;
  /** Buddies (normalized) for which the user allowed plaintext in this session. */
  plaintextAllowed: Set<string>;
  /** Warnings shown above the input (key changes, failures), newest last. */
  notices: string[];
  /** The input line being typed. */
  input: string;
}

/** Said after every aim-legacy message (docs/protocol.md §11.2): what that profile does not protect. */
export const LEGACY_MARK = 'LEGACY: weak MD5, no replay/recipient binding';

/** The marker for an incoming IM. */
export function markerFor(m: Pick<IncomingIm, 'secure' | 'verdict' | 'trust' | 'reason'> & { legacy?: boolean }): string {
  if (!m.secure) return '[PLAINTEXT]';
  if (m.verdict === 'failed') return `[FAILED: ${m.reason}]`;
  const legacy = m.legacy ? `, ${LEGACY_MARK}` : '';
  if (m.verdict === 'untrusted') return `[UNTRUSTED: ${m.reason}${legacy}]`;
  return `${m.trust === 'personal' ? '[secure, verified' : m.trust === 'changed' ? '[secure, KEY CHANGED' : '[secure'}${legacy}]`;
}

/** Marker for our own sent IM. */
export function sentMarker(secure: boolean, trust: TrustLevel | undefined, legacy = false): string {
  if (!secure) return '[PLAINTEXT]';
  return `${trust === 'personal' ? '[secure, verified' : trust === 'changed' ? '[secure, KEY CHANGED' : '[secure'}${legacy ? `, ${LEGACY_MARK}` : ''}]`;
}

/** A decoded key press. */
export type Key =
  | { kind: 'char'; ch: string }
  | { kind: 'enter' | 'backspace' | 'up' | 'down' | 'tab' | 'escape' | 'ctrl-c' | 'ctrl-l' };

/** Splits raw terminal input into key presses (ANSI/VT100 arrows, control keys, UTF-8 text). */
export function decodeKeys(data: string): Key[] {
  const keys: Key[] = [];
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === '\x1b') {
      const seq = data.slice(i, i + 3);
      if (seq === '\x1b[A' || seq === '\x1bOA') { keys.push({ kind: 'up' }); i += 2; continue; }
      if (seq === '\x1b[B' || seq === '\x1bOB') { keys.push({ kind: 'down' }); i += 2; continue; }
      if (seq === '\x1b[C' || seq === '\x1b[D' || seq === '\x1bOC' || seq === '\x1bOD') { i += 2; continue; }
      keys.push({ kind: 'escape' });
      continue;
    }
    if (c === '\r' || c === '\n') keys.push({ kind: 'enter' });
    else if (c === '\x7f' || c === '\b') keys.push({ kind: 'backspace' });
    else if (c === '\t') keys.push({ kind: 'tab' });
    else if (c === '\x03') keys.push({ kind: 'ctrl-c' });
    else if (c === '\x0c') keys.push({ kind: 'ctrl-l' });
    else if (c >= ' ') keys.push({ kind: 'char', ch: c });
  }
  return keys;
}

function fit(s: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...s];
  return chars.length > width ? `${chars.slice(0, Math.max(0, width - 1)).join('')}…` : s + ' '.repeat(width - chars.length);
}

function wrap(s: string, width: number): string[] {
  if (width <= 1) return [s];
  const out: string[] = [];
  let rest = [...s];
  while (rest.length > width) {
    out.push(rest.slice(0, width).join(''));
    rest = rest.slice(width);
  }
  out.push(rest.join(''));
  return out;
}

function hhmm(d: Date): string {
  return d.toTimeString().slice(0, 5);
}

/** Strips control characters from remote text so a buddy cannot drive our terminal. */
export function sanitize(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '?').replace(/\n/g, ' ');
}

/** Renders the whole screen as one string of ANSI output for a terminal of `cols` x `rows`. */
export function render(st: ChatState, cols: number, rows: number): string {
  const listW = Math.min(28, Math.max(16, Math.floor(cols / 4)));
  const convW = Math.max(10, cols - listW - 3);
  const sel = st.buddies[st.selected];
  const key = sel ? normalizeScreenName(sel.screenName) : '';
  const header = `certim chat — ${st.me} — ${st.status}`;
  const convTitle = sel
    ? `${sel.screenName}: ${sel.hasCert ? (sel.trust === 'personal' ? 'secure, personally verified' : sel.trust === 'changed' ? 'secure, KEY CHANGED (not verified)' : 'secure, CA-certified') : st.plaintextAllowed.has(key) ? 'NO KEY — PLAINTEXT ALLOWED' : 'no certificate known yet'}`
    : 'no conversation — /msg NAME to start one';
  const bodyRows = Math.max(3, rows - 4 - Math.min(st.notices.length, 3));
  const listLines: string[] = st.buddies.map((b, i) => {
    const dot = b.online ? (b.away ? '~' : '*') : '-';
    const tag = b.hasCert ? (b.trust === 'changed' ? ' !KEY' : b.trust === 'personal' ? ' ok' : ' key') : '';
    const unread = b.unread > 0 ? ` (${b.unread})` : '';
    const line = `${i === st.selected ? '>' : ' '} ${dot} ${b.screenName}${tag}${unread}`;
    return i === st.selected ? `\x1b[7m${fit(line, listW)}\x1b[0m` : fit(line, listW);
  });
  const conv = (st.conversations.get(key) ?? []).flatMap((l) =>
    wrap(sanitize(`${hhmm(l.time)} ${l.who === 'me' ? 'me' : l.who} ${l.marker} ${l.text}`), convW));
  const convLines = conv.slice(Math.max(0, conv.length - bodyRows));
  const out: string[] = [];
  out.push(`\x1b[1m${fit(header, cols)}\x1b[0m`);
  out.push(`${fit(' Buddies', listW)} | ${fit(convTitle, convW)}`);
  for (let r = 0; r < bodyRows; r++) out.push(`${listLines[r] ?? ' '.repeat(listW)} | ${fit(convLines[r] ?? '', convW)}`);
  for (const n of st.notices.slice(-3)) out.push(`\x1b[1;33m${fit(`! ${sanitize(n)}`, cols)}\x1b[0m`);
  out.push(fit('Up/Down pick a buddy · /msg NAME · /trust · /verify NAME FP · /plaintext · /add NAME · /quit', cols));
  const prompt = `${sel ? sel.screenName : ''}> ${st.input}`;
  out.push(fit(prompt, cols));
  return `\x1b[H\x1b[2J${out.join('\r\n')}`;
}
