/**
 * The `certim chat` screen: state and rendering, kept free of sockets so it can be reasoned about (and tested)
 * alone. Plain ANSI: alternate screen, cursor moves, reverse video for the selected buddy. Every width is measured
 * in terminal cells (src/cli/tui/text.ts), so emoji and CJK text keep the layout. Every message line carries its
 * security marker and, for our own IMs, where it went (sending, delivered, stored, refused); warnings stay on
 * screen until dismissed; each conversation keeps its own scrollback (PgUp/PgDn).
 */
import type { IncomingIm } from '../../client/client.js';
import type { TrustLevel } from '../../client/trust.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { cellWidth, fitCells, inputWindow, wrapCells } from '../tui/text.js';

/** One line of a conversation. */
export interface ChatLine {
  /** When. */
  time: Date;
  /** Who wrote it ('me' for us, '*' for system notes). */
  who: string;
  /** Text (empty for rejected messages; may hold newlines). */
  text: string;
  /** Security marker shown before the text. */
  marker: string;
  /** For our own IMs: `sending…`, `delivered`, `stored: bob is offline`, `NOT SENT: why`. */
  status?: string;
}

/** One entry of the buddy list. */
export interface ChatBuddy {
  /** Screen name. */
  screenName: string;
  /** Signed on. */
  online: boolean;
  /** Away. */
  away: boolean;
  /** Minutes idle, when idle. */
  idleMinutes?: number;
  /** Typing to us right now. */
  typing?: boolean;
  /** Has a verified certificate in our cache. */
  hasCert: boolean;
  /** Trust in that certificate. */
  trust: TrustLevel | undefined;
  /** Unread messages. */
  unread: number;
  /** The buddy-list group it is in (server-stored list), if any; buddies come ordered by group. */
  group?: string;
  /** A chat room (`screenName` is `#` + the room's name; its members are in {@link ChatState.rooms}). */
  room?: boolean;
}

/** A joined chat room as the screen shows it (docs/protocol.md §15). */
export interface ChatRoomView {
  /** Room name. */
  name: string;
  /** A secure room (`application/pkcs7-mime`). */
  secure: boolean;
  /** This client has a codec for it (false: a secure room without the secure codec — unreadable). */
  readable: boolean;
  /** Still joined. */
  joined: boolean;
  /** Members: certim client or classic, and the codec's key status (`-` in a plain room). */
  members: { screenName: string; certim: boolean; keyStatus: string }[];
}

/** The list entry name of a room: `#` + its name (never a screen name). */
export function roomEntryName(room: string): string {
  return `#${room}`;
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
  /** Cursor in the input, as a grapheme index (default: the end). */
  cursor?: number;
  /** The input as graphemes (default: split from `input`). */
  inputGraphemes?: readonly string[];
  /** Rows scrolled up from the bottom, per conversation (normalized name). */
  scroll?: Map<string, number>;
  /** Joined rooms by the normalized list entry name (`#` + room name). */
  rooms?: Map<string, ChatRoomView>;
}

/** Said after every aim-legacy message (docs/protocol.md §11.2): what that profile does not protect. */
export const LEGACY_MARK = 'LEGACY: weak MD5, no replay/recipient binding';
/** Lines kept per conversation (older ones are dropped). */
export const SCROLLBACK_LINES = 5000;

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

function hhmm(d: Date): string {
  return d.toTimeString().slice(0, 5);
}

/** Strips control characters from remote text so a buddy cannot drive our terminal (newlines are kept). */
export function sanitize(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '?');
}

/** The rows a conversation takes at `width` cells (each message wrapped, newlines honoured). */
export function conversationRows(lines: readonly ChatLine[], width: number): string[] {
  return lines.flatMap((l) => {
    const head = `${hhmm(l.time)} ${l.who} ${l.marker} `;
    const rows = sanitize(l.text).split('\n').flatMap((p, i) => wrapCells(i === 0 ? head + p : `      ${p}`, width, 6));
    if (l.status) {
      // The delivery state: after the text when it fits on the last row, else on a row of its own.
      const status = `  (${sanitize(l.status)})`;
      const last = rows[rows.length - 1]!;
      if (cellWidth(last + status) <= width) rows[rows.length - 1] = last + status;
      else rows.push(...wrapCells(`      ${status.trim()}`, width, 6));
    }
    return rows;
  });
}

/** The marker of a room message: the same words as an IM's (a plain room's messages are PLAINTEXT). */
export function roomMarker(m: { secure: boolean; verdict: 'verified' | 'untrusted' | 'failed'; reason: string; trust?: TrustLevel | null | undefined }): string {
  return markerFor({ secure: m.secure, verdict: m.verdict, reason: m.reason, trust: m.trust ?? null });
}

function buddyLine(b: ChatBuddy, selected: boolean): string {
  if (b.room) return `${selected ? '>' : ' '} ${b.screenName}${b.unread > 0 ? ` (${b.unread})` : ''}`;
  const dot = b.online ? (b.away ? '~' : '*') : '-';
  const tag = b.hasCert ? (b.trust === 'changed' ? ' !KEY' : b.trust === 'personal' ? ' ok' : ' key') : '';
  const state = !b.online ? '' : b.typing ? ' typing…' : b.away ? ' away' : b.idleMinutes ? ` idle ${idle(b.idleMinutes)}` : '';
  const unread = b.unread > 0 ? ` (${b.unread})` : '';
  return `${selected ? '>' : ' '} ${dot} ${b.screenName}${tag}${unread}${state}`;
}

function idle(min: number): string {
  return min >= 60 ? `${Math.floor(min / 60)}h${min % 60 ? `${min % 60}m` : ''}` : `${min}m`;
}

/**
 * Renders the whole screen as one string of ANSI output for a terminal of `cols` x `rows` cells, ending with the
 * cursor placed in the input line.
 */
export function render(st: ChatState, cols: number, rows: number): string {
  const listW = Math.min(32, Math.max(18, Math.floor(cols / 4)));
  const convW = Math.max(10, cols - listW - 3);
  const sel = st.buddies[st.selected];
  const key = sel ? normalizeScreenName(sel.screenName) : '';
  const header = `certim chat — ${st.me} — ${st.status}`;
  const openRoom = sel?.room ? st.rooms?.get(key) : undefined;
  const convTitle = openRoom
    ? `${sel!.screenName}: ${!openRoom.joined ? 'you left this room' : openRoom.secure ? (openRoom.readable ? 'secure room' : 'SECURE ROOM — this client cannot read it') : 'plain room — messages are NOT encrypted'}`
    : sel
    ? `${sel.screenName}: ${sel.hasCert ? (sel.trust === 'personal' ? 'secure, personally verified' : sel.trust === 'changed' ? 'secure, KEY CHANGED (not verified)' : 'secure, CA-certified') : st.plaintextAllowed.has(key) ? 'NO KEY — PLAINTEXT ALLOWED' : 'no certificate known yet'}`
    : 'no conversation — /msg NAME to start one';
  const notices = st.notices.slice(-3);
  const bodyRows = Math.max(3, rows - 4 - notices.length);
  // A header row above each group of the stored list (with how many are online); others follow under "Others".
  const grouped = st.buddies.some((b) => b.group !== undefined);
  const listLines: string[] = [];
  st.buddies.forEach((b, i) => {
    if (grouped && (i === 0 || st.buddies[i - 1]!.group !== b.group)) {
      const members = st.buddies.filter((x) => x.group === b.group);
      listLines.push(`\x1b[1m${fitCells(sanitize(`${b.group ?? 'Others'} (${members.filter((x) => x.online).length}/${members.length})`), listW)}\x1b[0m`);
    }
    const line = fitCells(sanitize(buddyLine(b, i === st.selected)), listW);
    listLines.push(i === st.selected ? `\x1b[7m${line}\x1b[0m` : line);
  });
  // A room shows its members beside the conversation: `*` marks a certim client, then the key status column.
  const memW = openRoom ? Math.min(30, Math.max(16, Math.floor(convW / 3))) : 0;
  const textW = openRoom ? Math.max(10, convW - memW - 3) : convW;
  const memberLines = openRoom ? [`Members (${openRoom.members.length}) key`, ...openRoom.members.map((m) => `${m.certim ? '*' : ' '} ${m.screenName} ${m.keyStatus}`)] : [];
  const conv = conversationRows(st.conversations.get(key) ?? [], textW);
  const maxScroll = Math.max(0, conv.length - bodyRows);
  const scroll = Math.min(st.scroll?.get(key) ?? 0, maxScroll);
  const convLines = conv.slice(Math.max(0, conv.length - bodyRows - scroll), conv.length - scroll);
  if (scroll > 0) convLines[convLines.length - 1] = `-- ${scroll} more row${scroll > 1 ? 's' : ''} below: PgDn --`;
  const out: string[] = [];
  out.push(`\x1b[1m${fitCells(sanitize(header), cols)}\x1b[0m`);
  out.push(`${fitCells(' Buddies', listW)} | ${fitCells(sanitize(convTitle), convW)}`);
  for (let r = 0; r < bodyRows; r++) {
    const text = fitCells(convLines[r] ?? '', textW);
    const members = openRoom ? ` | ${fitCells(sanitize(memberLines[r] ?? ''), memW)}` : '';
    out.push(`${listLines[r] ?? ' '.repeat(listW)} | ${text}${members}`);
  }
  for (const n of notices) out.push(`\x1b[1;33m${fitCells(`! ${sanitize(n).replace(/\n/g, ' ')}`, cols)}\x1b[0m`);
  out.push(fitCells(openRoom ? 'Up/Down · /invite BUDDY · /leave · /kick BUDDY · /join ROOM · /create ROOM · /help · /quit' : 'Up/Down buddy · PgUp/PgDn scroll · /msg NAME · /trust · /verify NAME FP · /away · /block · /join ROOM · /help · /quit', cols));
  // The input line: the prompt, then the window of the input that keeps the cursor visible, and a count for long texts.
  const prompt = `${sel ? sanitize(sel.screenName) : ''}> `;
  const chars = st.inputGraphemes ?? [...st.input];
  const count = chars.length >= 1000 ? ` [${chars.length} chars]` : '';
  const room = Math.max(4, cols - cellWidth(prompt) - cellWidth(count));
  const shown = chars.map((c) => (c === '\n' ? '↵' : sanitize(c)));
  const { start, column } = inputWindow(shown, st.cursor ?? shown.length, room);
  out.push(fitCells(prompt + fitCells(shown.slice(start).join(''), room).trimEnd(), cols - cellWidth(count)) + count);
  const cursorRow = out.length;
  const cursorCol = Math.min(cols, cellWidth(prompt) + column + 1);
  return `\x1b[H\x1b[2J${out.join('\r\n')}\x1b[${cursorRow};${cursorCol}H`;
}
