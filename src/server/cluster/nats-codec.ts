/**
 * What the NATS directory puts on the wire: a user's directory record (a JetStream KV value) and a delivery
 * request to a node. Both are decoded from bytes another process wrote, so every field is checked; a record that
 * does not decode is a {@link DirectoryError} `DIRECTORY_UNAVAILABLE` (it can only come from a different certim
 * version or a foreign writer on our bucket).
 *
 * - **User record** (JSON): `{ v: 1, sessions: Entry[], changes: { entry, removed, event, reason? }[] }`, where
 *   `changes` lists what the write that produced this revision changed (the presence events it stands for) and
 *   `reason` the sign-off reason owed to a session removed by someone else. Byte arrays are base64.
 * - **Delivery request**: a small binary header (session ids and the envelope's filters, layout below) and the SNAC
 *   body as raw bytes (the hot path: an 04/07 is mostly ciphertext), never base64 or JSON.
 * - Requests to one node travel in **batches** (all requests for that node dispatched in one event-loop turn, one
 *   NATS message): `u16 count · (u32 length · request)*`; the **reply** is `u32 accepted count` per request.
 */
import type { Delivery, Envelope, LocateTexts, PresenceSnapshot, SessionAddress, SessionEntry } from './directory.js';
import { DirectoryError } from './directory.js';
import { ByteReader, ByteWriter } from '../../wire/bytes.js';

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

/** A `seen` request (nats-directory.ts): the stream revision of a write, as decimal text. */
export function encodeSeenRequest(revision: number): Uint8Array {
  return enc.encode(String(revision));
}

/** The revision of a `seen` request; undefined when it is not one. */
export function decodeSeenRequest(data: Uint8Array): number | undefined {
  const revision = Number(dec.decode(data));
  return Number.isSafeInteger(revision) ? revision : undefined;
}

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
  const l = p.locate;
  const locate = l ? { ...l, ...(l.profile ? { profile: b64(l.profile) } : {}), ...(l.away ? { away: b64(l.away) } : {}) } : undefined;
  return { ...p, info: b64(p.info), ...(locate ? { locate } : {}) };
}

function locateFromJson(v: unknown): LocateTexts {
  const o = obj(v);
  const l: LocateTexts = {};
  if (o.profileMime !== undefined) l.profileMime = str(o.profileMime);
  if (o.profile !== undefined) l.profile = unb64(o.profile);
  if (o.awayMime !== undefined) l.awayMime = str(o.awayMime);
  if (o.away !== undefined) l.away = unb64(o.away);
  return l;
}

function presenceFromJson(v: unknown): PresenceSnapshot {
  const o = obj(v);
  const pv = obj(o.privacy);
  return {
    screenName: str(o.screenName), info: unb64(o.info), at: num(o.at), signedOnAt: num(o.signedOnAt), idle: bool(o.idle),
    away: bool(o.away),
    privacy: { mode: num(pv.mode), permit: strs(pv.permit), deny: strs(pv.deny), buddies: strs(pv.buddies), changedAt: num(pv.changedAt) },
    ...(o.locate !== undefined ? { locate: locateFromJson(o.locate) } : {}),
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

// Delivery request layout (big-endian): u8 version 1 · u8 field bits (below) · u16 session count · string16 ids ·
// string16 from? · string16 except.node? · string16 except.sessionId? · string16 capability? · string16 service? ·
// then the delivery: u8 kind 1 (snac): u16 family · u16 subtype · u16 flags? · u32 requestId? · body (the rest);
// kind 2 (sign-off): u16 reason.
const HAS_FROM = 0x01;
const HAS_EXCEPT = 0x02;
const HAS_CAPABILITY = 0x04;
const HAS_SERVICE = 0x08;
const HAS_NOT_READY = 0x10; // includeNotReady present; its value is NOT_READY_TRUE
const NOT_READY_TRUE = 0x20;
const HAS_FLAGS = 0x40;
const HAS_REQUEST_ID = 0x80;

/** Appends a delivery request (binary header + raw SNAC body, the layout above) to a batch's writer. */
function writeDeliveryRequest(w: ByteWriter, r: DeliveryRequest): void {
  const e = r.envelope;
  const d = e.delivery;
  let bits = 0;
  if (e.from !== undefined) bits |= HAS_FROM;
  if (e.except !== undefined) bits |= HAS_EXCEPT;
  if (e.capability !== undefined) bits |= HAS_CAPABILITY;
  if (e.service !== undefined) bits |= HAS_SERVICE;
  if (e.includeNotReady !== undefined) bits |= HAS_NOT_READY | (e.includeNotReady ? NOT_READY_TRUE : 0);
  if (d.kind === 'snac' && d.flags !== undefined) bits |= HAS_FLAGS;
  if (d.kind === 'snac' && d.requestId !== undefined) bits |= HAS_REQUEST_ID;
  w.u8(1).u8(bits).u16(r.sessionIds.length);
  for (const id of r.sessionIds) w.string16(id);
  if (e.from !== undefined) w.string16(e.from);
  if (e.except !== undefined) w.string16(e.except.node).string16(e.except.sessionId);
  if (e.capability !== undefined) w.string16(e.capability);
  if (e.service !== undefined) w.string16(e.service);
  if (d.kind === 'snac') {
    w.u8(1).u16(d.family).u16(d.subtype);
    if (d.flags !== undefined) w.u16(d.flags);
    if (d.requestId !== undefined) w.u32(d.requestId);
    w.bytes(d.body);
  } else {
    w.u8(2).u16(d.reason);
  }
}

/** Decodes a delivery request; the SNAC body is a view into `bytes` (no copy). */
export function decodeDeliveryRequest(bytes: Uint8Array): DeliveryRequest {
  try {
    const r = new ByteReader(bytes);
    if (r.u8() !== 1) bad('delivery request version');
    const bits = r.u8();
    const n = r.u16();
    const sessionIds: string[] = [];
    for (let i = 0; i < n; i++) sessionIds.push(r.string16());
    const from = bits & HAS_FROM ? r.string16() : undefined;
    const except = bits & HAS_EXCEPT ? { node: r.string16(), sessionId: r.string16() } : undefined;
    const capability = bits & HAS_CAPABILITY ? r.string16() : undefined;
    const service = bits & HAS_SERVICE ? r.string16() : undefined;
    const kind = r.u8();
    let delivery: Delivery;
    if (kind === 1) {
      const family = r.u16();
      const subtype = r.u16();
      const flags = bits & HAS_FLAGS ? r.u16() : undefined;
      const requestId = bits & HAS_REQUEST_ID ? r.u32() : undefined;
      delivery = { kind: 'snac', family, subtype, body: r.rest() };
      if (flags !== undefined) delivery.flags = flags;
      if (requestId !== undefined) delivery.requestId = requestId;
    } else if (kind === 2) {
      delivery = { kind: 'sign-off', reason: r.u16() };
    } else {
      bad('delivery kind');
    }
    const envelope: Envelope = { delivery };
    if (from !== undefined) envelope.from = from;
    if (except !== undefined) envelope.except = except;
    if (capability !== undefined) envelope.capability = capability;
    if (service !== undefined) envelope.service = service;
    if (bits & HAS_NOT_READY) envelope.includeNotReady = (bits & NOT_READY_TRUE) !== 0;
    return { sessionIds, envelope };
  } catch (e) {
    if (DirectoryError.is(e)) throw e;
    bad(`delivery request: ${(e as Error).message}`);
  }
}

/**
 * A batch of delivery requests for one node, encoded as they are added: `u16 count · (u32 length · request)*`.
 * Each request is written straight into the batch's one growing buffer, so a request costs no array of its own
 * and no second copy into the batch (the hot path of a cross-node IM).
 */
export class DeliveryBatchWriter {
  private readonly w = new ByteWriter(4096);
  private n = 0;

  constructor() {
    this.w.u16(0);
  }

  /** Bytes of the batch so far. */
  get length(): number {
    return this.w.length;
  }

  /** Appends a request; one that cannot be encoded throws and leaves the batch as it was. */
  add(r: DeliveryRequest): void {
    if (this.n === 0xffff) throw new RangeError('delivery batch full');
    const start = this.w.length;
    try {
      this.w.u32(0);
      writeDeliveryRequest(this.w, r);
      this.w.patchU32(start, this.w.length - start - 4);
    } catch (e) {
      this.w.truncate(start);
      throw e;
    }
    this.n++;
  }

  /** The encoded batch (a view of the writer's buffer: add nothing after this). */
  finish(): Uint8Array {
    return this.w.patchU16(0, this.n).finish();
  }
}

/** Splits a batch into its encoded requests (views, no copies); DIRECTORY_UNAVAILABLE when malformed. */
export function decodeDeliveryBatch(bytes: Uint8Array): Uint8Array[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 2) bad('short delivery batch');
  const n = v.getUint16(0);
  const out: Uint8Array[] = [];
  let o = 2;
  for (let i = 0; i < n; i++) {
    if (o + 4 > bytes.length) bad('delivery batch truncated');
    const len = v.getUint32(o);
    if (o + 4 + len > bytes.length) bad('delivery batch truncated');
    out.push(bytes.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  if (o !== bytes.length) bad('delivery batch trailing bytes');
  return out;
}

/** Encodes the reply to a batch: u32 accepted count per request, in order. */
export function encodeDeliveryCounts(counts: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * counts.length);
  const v = new DataView(out.buffer);
  counts.forEach((c, i) => v.setUint32(4 * i, c));
  return out;
}

/** Decodes the reply to a batch of `n` requests. */
export function decodeDeliveryCounts(bytes: Uint8Array, n: number): number[] {
  if (bytes.length !== 4 * n) bad('delivery reply length');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: n }, (_, i) => v.getUint32(4 * i));
}
