/**
 * Long messages: the server refuses an IM whose message data (TLV 0x0002) is over its maximum, 8000 bytes in
 * certim (docs/protocol.md §3.4: `04/05` says it, `04/01` 0x0E refuses more). A secure IM carries a CMS envelope
 * around the text, so the text that fits is smaller and depends on the keys. A longer text is sent as parts, each
 * one a complete IM (its own encryption and signature) whose text starts with a visible marker:
 *
 *     [part 2/3 k4x9q2] ...the text of part 2...
 *
 * A classic client shows the parts one after another, in order; certim joins them into one IM. The marker is
 * inside the signed text, so nobody on the way can reorder or relabel parts without breaking the signature.
 * Parts are cut at a whitespace when one is near the end, never inside a character, and joining is plain
 * concatenation, so the joined text is exactly the text sent.
 */
import { normalizeScreenName } from '../pki/screen-name.js';
import { ClientError } from './errors.js';

/** The most parts one message may be sent as. */
export const MAX_PARTS = 30;

/** How long a receiver waits for the missing parts of a message before showing what it has (ms). */
export const PART_TIMEOUT_MS = 120_000;
/**
 * Incomplete groups kept at once. A long IM is a handful of parts from one buddy; a server announcing part 1 of a
 * new group per IM, from made-up senders, would otherwise keep everything it sent for the timeout.
 */
export const MAX_PENDING_GROUPS = 64;

const PART_RE = /^\[part (\d{1,2})\/(\d{1,2}) ([0-9a-z]{6})\] /;
const PREFIX_RESERVE = '[part 30/30 xxxxxx] '.length;

/** The marker in front of part `index` (1-based) of `count`. */
export function partPrefix(index: number, count: number, id: string): string {
  return `[part ${index}/${count} ${id}] `;
}

/** A fresh part-group id: 6 characters of [0-9a-z]. */
export function newPartId(): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(6))].map((b) => (b % 36).toString(36)).join('');
}

/** Reads a part marker: `{index, count, id, text}` without the marker, or undefined for an ordinary text. */
export function parsePart(text: string): { index: number; count: number; id: string; text: string } | undefined {
  const m = PART_RE.exec(text);
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (index < 1 || count < 1 || index > count || count > MAX_PARTS) return undefined;
  return { index, count, id: m[3]!, text: text.slice(m[0].length) };
}

/** UTF-8 length of a string (a lone surrogate counts as the 3-byte replacement character, as encoders write it). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Cuts `text` into chunks of at most `budget` UTF-8 bytes, at a whitespace in the last third when there is one. */
export function cutText(text: string, budget: number): string[] {
  const chars = [...text];
  const out: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let bytes = 0;
    let end = start;
    while (end < chars.length && bytes + utf8Length(chars[end]!) <= budget) bytes += utf8Length(chars[end++]!);
    if (end === start) end = start + 1; // one character over budget: send it alone (cannot happen for budget >= 4)
    if (end < chars.length) {
      for (let i = end - 1; i > start + Math.floor((end - start) * 2 / 3); i--) {
        if (/\s/.test(chars[i]!)) {
          end = i + 1; // the whitespace stays with this chunk
          break;
        }
      }
    }
    out.push(chars.slice(start, end).join(''));
    start = end;
  }
  return out;
}

/**
 * Encodes `text` as one IM, or as parts when it does not fit `maxBytes` of message data. `encode` turns one text
 * into the TLV 0x0002 bytes (it encrypts and signs for a secure IM). Throws MESSAGE_TOO_LONG when more than
 * {@link MAX_PARTS} parts would be needed, saying how much fits.
 */
export async function encodeInParts(text: string, encode: (text: string) => Promise<Uint8Array>, maxBytes: number, id: string = newPartId()): Promise<Uint8Array[]> {
  const marked = PART_RE.test(text); // a text that looks like a part is sent as "part 1/1" so it is not mistaken
  if (!marked && utf8Length(text) <= 4 * maxBytes) {
    const whole = await encodeOrUndefined(encode, text);
    if (whole && whole.length <= maxBytes) return [whole];
  }
  // Overhead and bytes per text byte from two trial encodings; then cut with that budget, and shrink when a part
  // still does not fit (the CMS layers round up to cipher blocks and length fields grow).
  const empty = (await encode(partPrefix(MAX_PARTS, MAX_PARTS, id))).length;
  const sample = text.slice(0, 2000);
  const sampleBytes = utf8Length(sample);
  const perByte = sampleBytes > 0 ? Math.max(1, ((await encode(partPrefix(MAX_PARTS, MAX_PARTS, id) + sample)).length - empty) / sampleBytes) : 1;
  let budget = Math.floor((maxBytes - empty - 64) / perByte) - PREFIX_RESERVE;
  const tooLong = (): ClientError => new ClientError('MESSAGE_TOO_LONG',
    `the message is too long: ${[...text].length} characters; at most about ${Math.max(0, budget) * MAX_PARTS} fit (${MAX_PARTS} parts)`);
  if (budget < 16) throw new ClientError('MESSAGE_TOO_LONG', `the server's message limit (${maxBytes} bytes) is too small for a secure IM`);
  for (let attempt = 0; attempt < 6; attempt++) {
    if (utf8Length(text) > budget * MAX_PARTS) throw tooLong();
    const chunks = cutText(text, budget);
    if (chunks.length > MAX_PARTS) throw tooLong();
    const parts: Uint8Array[] = [];
    let fits = true;
    for (const [i, chunk] of chunks.entries()) {
      const enc = await encodeOrUndefined(encode, partPrefix(i + 1, chunks.length, id) + chunk);
      if (!enc || enc.length > maxBytes) {
        fits = false;
        break;
      }
      parts.push(enc);
    }
    if (fits) return parts;
    budget = Math.floor(budget * 0.9);
  }
  throw tooLong();
}

/** `encode(text)`, or undefined when the encoders refuse it as too large for their length fields (RangeError). */
async function encodeOrUndefined(encode: (text: string) => Promise<Uint8Array>, text: string): Promise<Uint8Array | undefined> {
  try {
    return await encode(text);
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}

/** The fields of an incoming IM the assembler reads and combines. */
export interface PartLike {
  /** Sender. */
  from: string;
  /** Text (with the part marker when it is a part). */
  text: string;
  /** Encrypted. */
  secure: boolean;
  /** Decoder verdict. */
  verdict: 'verified' | 'untrusted' | 'failed';
  /** Why, in words. */
  reason: string;
  /** Stable code. */
  code: string;
  /** Trust in the sender's certificate. */
  trust: 'ca' | 'personal' | 'changed' | null;
  /** When sent. */
  time: Date;
  /** Came from the offline store. */
  offline: boolean;
  /** The aim-legacy profile was used (weak digest, no replay protection, no recipient binding). */
  legacy?: boolean;
  /** Weak legacy algorithms were used. */
  weak?: boolean;
  /** Profile used, for secure messages. */
  profile?: 'modern' | 'aim-legacy';
  /** Our own IM from another session, sent to this recipient. */
  to?: string;
}

interface Group<T extends PartLike> {
  parts: Map<number, T>;
  count: number;
  firstSeen: number;
}

const VERDICT_RANK = { verified: 0, untrusted: 1, failed: 2 } as const;
const TRUST_RANK = { personal: 0, ca: 1, changed: 2 } as const;

/**
 * Joins parts back into one IM. `push` returns the IMs ready to show: an ordinary IM at once, a part only when its
 * group is complete. The joined IM is as secure as its weakest part (worst verdict, lowest trust, plaintext if any
 * part was). `expire` hands back incomplete groups older than {@link PART_TIMEOUT_MS}, saying what is missing.
 */
export class PartAssembler<T extends PartLike> {
  private readonly groups = new Map<string, Group<T>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Number of incomplete groups waiting. */
  get pending(): number {
    return this.groups.size;
  }

  /** Takes one incoming IM. */
  push(im: T): T[] {
    const p = im.verdict === 'failed' ? undefined : parsePart(im.text);
    if (!p) return [im];
    // Our own IMs copied from another session are grouped per recipient as well as per sender.
    const key = `${normalizeScreenName(im.from)}:${im.to !== undefined ? normalizeScreenName(im.to) : ''}:${p.id}:${p.count}`;
    let g = this.groups.get(key);
    const early: T[] = [];
    if (!g) {
      // Bounded: past MAX_PENDING_GROUPS the oldest incomplete group is shown now, saying what is missing.
      if (this.groups.size >= MAX_PENDING_GROUPS) {
        const [oldKey, oldest] = this.groups.entries().next().value!;
        this.groups.delete(oldKey);
        early.push(this.join(oldest));
      }
      g = { parts: new Map(), count: p.count, firstSeen: this.now() };
      this.groups.set(key, g);
    }
    g.parts.set(p.index, { ...im, text: p.text }); // a resent part replaces the first copy
    if (g.parts.size < g.count) return early;
    this.groups.delete(key);
    return [...early, this.join(g)];
  }

  /** Incomplete groups older than the timeout (all of them with `all`), joined with a note on what is missing. */
  expire(all = false): T[] {
    const out: T[] = [];
    const now = this.now();
    for (const [key, g] of this.groups) {
      if (!all && now - g.firstSeen < PART_TIMEOUT_MS) continue;
      this.groups.delete(key);
      out.push(this.join(g));
    }
    return out;
  }

  private join(g: Group<T>): T {
    const parts = [...g.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    const first = parts[0]!;
    let worst = first;
    for (const p of parts) {
      if (VERDICT_RANK[p.verdict] > VERDICT_RANK[worst.verdict] || (!p.secure && worst.secure)) worst = p;
    }
    const trusts = parts.map((p) => p.trust);
    const trust = trusts.includes(null) ? null : trusts.reduce((a, b) => (TRUST_RANK[b!] > TRUST_RANK[a!] ? b : a), trusts[0]!);
    const missing: number[] = [];
    for (let i = 1; i <= g.count; i++) if (!g.parts.has(i)) missing.push(i);
    let text = '';
    for (let i = 1; i <= g.count; i++) text += g.parts.get(i)?.text ?? '';
    if (missing.length > 0) text += ` [incomplete: part${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${g.count} did not arrive]`;
    return {
      ...first,
      text,
      secure: parts.every((p) => p.secure),
      verdict: worst.verdict,
      reason: worst.reason,
      code: worst.code,
      trust,
      offline: parts.some((p) => p.offline),
      // Legacy marks are never lost in the join: one aim-legacy part makes the whole message legacy.
      ...(parts.some((p) => p.legacy) ? { legacy: true } : {}),
      ...(parts.some((p) => p.weak) ? { weak: true } : {}),
      ...(parts.some((p) => p.profile === 'aim-legacy') ? { profile: 'aim-legacy' as const } : {}),
    };
  }
}
