/**
 * What the NATS directory puts on the wire: a user's directory record (a JetStream KV value) and a delivery
 * request to a node. Both are decoded from bytes another process wrote, so every field is checked; a record that
 * does not decode is a {@link DirectoryError} `DIRECTORY_UNAVAILABLE` (it can only come from a different certim
 * version or a foreign writer on our bucket).
 *
 * - **User record** (JSON): `{ v: 1, sessions: Entry[], changes: { entry, removed, event, reason? }[] }`, where
 *   `changes` lists what the write that produced this revision changed (the presence events it stands for) and
 *   `reason` the sign-off reason owed to a session removed by someone else. Byte arrays are base64.
 * - **Delivery request**: `u32 header length · header (JSON: session ids + envelope without the SNAC body) · body`;
 *   the SNAC body travels as raw bytes (the hot path: an 04/07 is mostly ciphertext), never base64.
 * - **Delivery reply**: `u32 accepted count`.
 */
import type { Delivery, Envelope, PresenceSnapshot, SessionAddress, SessionEntry } from './directory.js';
import { DirectoryError } from './directory.js';

/** One change recorded with a revision: the entry as it is now (or was last, when removed). */
export interface RecordChange {
  /** The entry. */
  entry: SessionEntry;
  /** True when it left the directory (or, with `event`, lost its presence: the session went invisible). */
  removed: boolean;
  /** True when this change is a presence event for every node (the entry had, or now has, a presence snapshot). */
  event: boolean;
  /** Sign-off reason owed to the session when someone other than its node removed it (displacement, reaping). */
  reason?: number;
}

/** A user's directory record: every current session, plus the changes of the write that made it. */
export interface UserRecord {
  /** Current sessions. */
  sessions: SessionEntry[];
  /** Changes of this revision, in order (empty for writes that change no presence). */
  changes: RecordChange[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function bad(what: string): never {
  throw new DirectoryError('DIRECTORY_UNAVAILABLE', `undecodable directory data: ${what}`);
}

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: unknown): Uint8Array => (typeof s === 'string' ? new Uint8Array(Buffer.from(s, 'base64')) : bad('bytes'));
const str = (v: unknown): string => (typeof v === 'string' ? v : bad('string'));
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : bad('number'));
const bool = (v: unknown): boolean => (typeof v === 'boolean' ? v : bad('boolean'));
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(str) : bad('string list'));
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : bad('object'));

function presenceToJson(p: PresenceSnapshot): unknown {
  return { ...p, info: b64(p.info) };
}

function presenceFromJson(v: unknown): PresenceSnapshot {
  const o = obj(v);
  const pv = obj(o.privacy);
  return {
    screenName: str(o.screenName), info: unb64(o.info), at: num(o.at), signedOnAt: num(o.signedOnAt), idle: bool(o.idle),
    away: bool(o.away), privacy: { mode: num(pv.mode), permit: strs(pv.permit), deny: strs(pv.deny), buddies: strs(pv.buddies) },
  };
}

function entryToJson(e: SessionEntry): unknown {
  return { address: e.address, user: e.user, service: e.service, exclusive: e.exclusive, ...(e.presence ? { presence: presenceToJson(e.presence) } : {}) };
}

function addressFromJson(v: unknown): SessionAddress {
  const o = obj(v);
  return { node: str(o.node), sessionId: str(o.sessionId) };
}

function entryFromJson(v: unknown): SessionEntry {
  const o = obj(v);
  const e: SessionEntry = { address: addressFromJson(o.address), user: str(o.user), service: str(o.service), exclusive: bool(o.exclusive) };
  if (o.presence !== undefined) e.presence = presenceFromJson(o.presence);
  return e;
}

/** Encodes a user record. */
export function encodeUserRecord(r: UserRecord): Uint8Array {
  return enc.encode(JSON.stringify({
    v: 1,
    sessions: r.sessions.map(entryToJson),
    changes: r.changes.map((c) => ({ entry: entryToJson(c.entry), removed: c.removed, event: c.event, ...(c.reason !== undefined ? { reason: c.reason } : {}) })),
  }));
}

/** Decodes a user record (DIRECTORY_UNAVAILABLE when malformed). */
export function decodeUserRecord(bytes: Uint8Array): UserRecord {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(bytes));
  } catch {
    bad('user record is not JSON');
  }
  const o = obj(v);
  if (o.v !== 1) bad('unknown user record version');
  if (!Array.isArray(o.sessions) || !Array.isArray(o.changes)) bad('user record lists');
  return {
    sessions: o.sessions.map(entryFromJson),
    changes: o.changes.map((c: unknown) => {
      const co = obj(c);
      return { entry: entryFromJson(co.entry), removed: bool(co.removed), event: bool(co.event), ...(co.reason !== undefined ? { reason: num(co.reason) } : {}) };
    }),
  };
}

/** A delivery request: which sessions of the receiving node, and the envelope. */
export interface DeliveryRequest {
  /** Session ids on the receiving node. */
  sessionIds: string[];
  /** The envelope, exactly as the caller gave it. */
  envelope: Envelope;
}

/** Encodes a delivery request (header JSON + raw SNAC body). */
export function encodeDeliveryRequest(r: DeliveryRequest): Uint8Array {
  const { delivery, ...filters } = r.envelope;
  const body = delivery.kind === 'snac' ? delivery.body : new Uint8Array(0);
  const d = delivery.kind === 'snac' ? { ...delivery, body: undefined } : delivery;
  const header = enc.encode(JSON.stringify({ s: r.sessionIds, f: filters, d }));
  const out = new Uint8Array(4 + header.length + body.length);
  new DataView(out.buffer).setUint32(0, header.length);
  out.set(header, 4);
  out.set(body, 4 + header.length);
  return out;
}

/** Decodes a delivery request; the SNAC body is a view into `bytes` (no copy). */
export function decodeDeliveryRequest(bytes: Uint8Array): DeliveryRequest {
  if (bytes.length < 4) bad('short delivery request');
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (4 + hlen > bytes.length) bad('delivery header length');
  let h: Record<string, unknown>;
  try {
    h = obj(JSON.parse(dec.decode(bytes.subarray(4, 4 + hlen))));
  } catch (e) {
    if (DirectoryError.is(e)) throw e;
    bad('delivery header is not JSON');
  }
  const f = obj(h.f);
  const d = obj(h.d);
  let delivery: Delivery;
  if (d.kind === 'snac') {
    delivery = { kind: 'snac', family: num(d.family), subtype: num(d.subtype), body: bytes.subarray(4 + hlen) };
    if (d.flags !== undefined) delivery.flags = num(d.flags);
    if (d.requestId !== undefined) delivery.requestId = num(d.requestId);
  } else if (d.kind === 'sign-off') {
    delivery = { kind: 'sign-off', reason: num(d.reason) };
  } else {
    bad('delivery kind');
  }
  const envelope: Envelope = { delivery };
  if (f.from !== undefined) envelope.from = str(f.from);
  if (f.except !== undefined) envelope.except = addressFromJson(f.except);
  if (f.capability !== undefined) envelope.capability = str(f.capability);
  if (f.service !== undefined) envelope.service = str(f.service);
  if (f.includeNotReady !== undefined) envelope.includeNotReady = bool(f.includeNotReady);
  return { sessionIds: strs(h.s), envelope };
}

/** Encodes a delivery reply. */
export function encodeDeliveryReply(accepted: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, accepted);
  return out;
}

/** Decodes a delivery reply. */
export function decodeDeliveryReply(bytes: Uint8Array): number {
  if (bytes.length !== 4) bad('delivery reply length');
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
}
