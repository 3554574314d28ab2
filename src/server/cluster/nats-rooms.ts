/**
 * The cluster's {@link RoomRegistry} on JetStream KV (bucket `certim_<cluster>_rooms`), so a room created at one
 * node is the same room at every node (docs/protocol.md §3.6). Membership and the path of room messages are in the
 * delivery directory already (rooms.ts); this holds the room's description and its occupancy.
 *
 * - **One key per room**, `r.<room directory key>`: the record (JSON) with the creator's TLVs (base64) and the
 *   connections held in it **per node and user** (`holds`). `enter` and `leave` are a compare-and-set on that key
 *   (`kv.update(key, value, revision)`, retried on conflict), so occupancy never exceeds the limit whichever nodes
 *   the joiners reach at once.
 * - **One index key**, `i`: every room that exists (creator, cookie, creation time). Creating a room is a
 *   compare-and-set on the index first — the cluster-wide room counts (`maxRooms`, `maxRoomsPerCreator`) are checked
 *   in that write — then a create-only write of the room's key, which makes two creators of one name get one room.
 * - **A node that dies** holds its connections no more: holds of a node the directory's failure detector calls dead
 *   (`alive`) are not counted, and are dropped by the next write to the room. (Its members' directory entries are
 *   reaped by the directory, which tells the other members they left.)
 * - **Expiry** as in-process: a room lives while occupied, and `emptyTtlMs` after it was created or last emptied.
 *   Expired rooms are removed when the index is at a limit and a room is created (bounded by `maxRooms`).
 */
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { DirectoryError } from './directory.js';
import type { ClusterConnection } from './nats-connection.js';
import { unavailable } from './nats-user-records.js';
import { parseRoomCookie } from '../../wire/families/chat-nav.js';
import { RoomError, roomDirectoryKey, type RoomLimits, type RoomRecord, type RoomRegistry, type RoomSpec } from './rooms.js';

/** Compare-and-set attempts before giving up (DIRECTORY_UNAVAILABLE). */
const CAS_ATTEMPTS = 100;
/** A room in the index whose record is not written yet is counted as live this long (its creator is writing it). */
const CREATING_GRACE_MS = 10_000;
/**
 * How often a node sweeps the whole index for expired rooms when the cluster is at its room limit. Each sweep reads
 * every room's record; between sweeps a create at the limit is refused from the index alone, so a creator who keeps
 * asking cannot make the node read a thousand records per request. An expired room waits at most this long longer.
 */
const FULL_SWEEP_INTERVAL_MS = 5_000;
const INDEX_KEY = 'i';

/** Stored form of a room. */
interface StoredRoom {
  v: 1;
  cookie: string;
  key: string;
  exchange: number;
  instance: number;
  name: string;
  creator: string;
  createdAt: number;
  /** base64 of the room TLVs. */
  tlvs: string;
  /** node -> user -> connections. */
  holds: Record<string, Record<string, number>>;
  /** When the room last became empty (its creation time until someone enters). */
  emptySince: number;
}

interface IndexEntry {
  cookie: string;
  creator: string;
  at: number;
}

type Index = Record<string, IndexEntry>;

/** Rooms shared by every node of a cluster. */
export class NatsRooms implements RoomRegistry {
  /**
   * @param kv the rooms bucket ({@link NatsRooms.openBucket}); @param node this node's name (its holds are its own);
   * @param limits room limits; @param alive true while a node is alive (the directory's failure detector)
   */
  constructor(
    private readonly kv: KV,
    private readonly node: string,
    private readonly limits: RoomLimits,
    private readonly alive: (node: string) => boolean = () => true,
  ) {}

  /** When this node last swept the whole index (see FULL_SWEEP_INTERVAL_MS). */
  private lastFullSweep = -Infinity;

  /** Opens (or creates) the rooms bucket; nodes starting together may race to create it (retried). */
  static async openBucket(connection: ClusterConnection): Promise<KV> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await new Kvm(connection.nc).create(connection.bucket('rooms'), { history: 1 });
      } catch (e) {
        if (attempt >= 5) throw e;
        await new Promise((r) => setTimeout(r, 100 * attempt + Math.random() * 100));
      }
    }
  }

  /** {@inheritDoc RoomRegistry.createOrGet} */
  async createOrGet(spec: RoomSpec, nowMs: number): Promise<{ room: RoomRecord; created: boolean }> {
    const key = roomDirectoryKey(spec.exchange, spec.name);
    return this.retry(async () => {
      const current = await this.kv.get(recordKey(key));
      const existing = decodeRoom(current);
      if (existing && this.live(existing, nowMs)) return { room: this.toRecord(existing), created: false };
      const idx = await this.kv.get(INDEX_KEY);
      const index = decodeIndex(idx);
      const replaced = index[key];
      delete index[key];
      const before = Object.keys(index).length;
      try {
        await this.makeRoomFor(index, spec.creator, nowMs);
      } catch (e) {
        // Refused: still keep what the sweep found expired, so no later request looks at it again.
        if (RoomError.is(e) && Object.keys(index).length < before) {
          if (replaced) index[key] = replaced;
          await this.write(INDEX_KEY, index, idx).catch(() => undefined);
        }
        throw e;
      }
      index[key] = { cookie: spec.cookie, creator: spec.creator, at: nowMs };
      await this.write(INDEX_KEY, index, idx);
      const stored: StoredRoom = {
        v: 1, cookie: spec.cookie, key, exchange: spec.exchange, instance: 0, name: spec.name, creator: spec.creator,
        createdAt: nowMs, tlvs: Buffer.from(spec.tlvs).toString('base64'), holds: {}, emptySince: nowMs,
      };
      // Create-only (or replace exactly the expired revision): of two creators of one name, one writes; the other
      // retries and finds the live room.
      await this.write(recordKey(key), stored, current);
      return { room: this.toRecord(stored), created: true };
    });
  }

  /** {@inheritDoc RoomRegistry.get} */
  async get(cookie: string, nowMs: number): Promise<RoomRecord | undefined> {
    try {
      const found = await this.find(cookie);
      return found && this.live(found.room, nowMs) ? this.toRecord(found.room) : undefined;
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** {@inheritDoc RoomRegistry.enter} */
  enter(cookie: string, user: string, nowMs: number): Promise<RoomRecord> {
    return this.retry(async () => {
      const found = await this.find(cookie);
      if (!found || !this.live(found.room, nowMs)) throw new RoomError('ROOM_NOT_FOUND', 'no such room');
      const room = found.room;
      this.dropDead(room, nowMs);
      const occupants = count(room);
      if (occupants >= this.limits.maxOccupancy) throw new RoomError('ROOM_FULL', `room has ${occupants} occupants`);
      let mine = 0;
      for (const byUser of Object.values(room.holds)) mine += byUser[user] ?? 0;
      if (mine >= this.limits.maxPerMember) throw new RoomError('ROOM_MEMBER_LIMIT', `user has ${mine} connections in the room`);
      const here = (room.holds[this.node] ??= {});
      here[user] = (here[user] ?? 0) + 1;
      await this.write(recordKey(room.key), room, found.entry);
      return this.toRecord(room);
    });
  }

  /** {@inheritDoc RoomRegistry.leave} */
  leave(cookie: string, user: string, nowMs: number): Promise<void> {
    return this.retry(async () => {
      const found = await this.find(cookie);
      const here = found?.room.holds[this.node];
      if (!found || !here || !here[user]) return;
      const room = found.room;
      if (here[user] === 1) delete here[user];
      else here[user]!--;
      if (Object.keys(here).length === 0) delete room.holds[this.node];
      this.dropDead(room, nowMs);
      if (count(room) === 0) room.emptySince = nowMs;
      await this.write(recordKey(room.key), room, found.entry);
    });
  }

  /**
   * The room with this cookie. Every room's cookie is AOL-style (`roomCookie`: it names the exchange and the room),
   * so the key is computed from it; any other cookie names no room, and is answered without reading anything (a
   * search of the index for it read and parsed every room's entry, ~2 ms per request at 1,000 rooms, for
   * attacker-chosen bytes). The record must carry the same cookie.
   */
  private async find(cookie: string): Promise<{ room: StoredRoom; entry: KvEntry } | undefined> {
    const parsed = parseRoomCookie(cookie);
    if (!parsed) return undefined;
    const key = roomDirectoryKey(parsed.exchange, parsed.name);
    const entry = await this.kv.get(recordKey(key));
    const room = decodeRoom(entry);
    if (!room || !entry || room.cookie !== cookie) return undefined;
    return { room, entry };
  }

  /**
   * Makes the index fit one more room of `creator`: when it is at a limit, rooms that expired are removed (each only
   * if unchanged since read: `previousSeq`); still at a limit, RoomError.
   */
  private async makeRoomFor(index: Index, creator: string, nowMs: number): Promise<void> {
    const mineOf = () => Object.values(index).filter((e) => e.creator === creator).length;
    const full = Object.keys(index).length >= this.limits.maxRooms;
    if (!full && mineOf() < this.limits.maxRoomsPerCreator) return;
    // At the creator's own limit only their rooms are looked at; at the cluster's, all of them, at most once per
    // FULL_SWEEP_INTERVAL_MS on this node.
    let candidates = Object.keys(index).filter((k) => full || index[k]!.creator === creator);
    if (full) {
      if (nowMs - this.lastFullSweep < FULL_SWEEP_INTERVAL_MS) candidates = [];
      else this.lastFullSweep = nowMs;
    }
    await Promise.all(candidates.map(async (k) => {
      const entry = await this.kv.get(recordKey(k));
      const room = decodeRoom(entry);
      if (room && entry && count(room, this.alive) === 0 && count(room) > 0) {
        // Held only by nodes that died: it starts its empty lifetime now (a conflict means someone wrote: live).
        this.dropDead(room, nowMs);
        await this.write(recordKey(k), room, entry).catch(() => undefined);
        return;
      }
      if (room ? this.live(room, nowMs) : nowMs - index[k]!.at < CREATING_GRACE_MS) return;
      if (entry && entry.operation === 'PUT' && entry.value.length > 0) {
        const purged = await this.kv.purge(recordKey(k), { previousSeq: entry.revision }).then(() => true, () => false);
        if (!purged) return; // entered meanwhile: live
      }
      delete index[k];
    }));
    const n = Object.keys(index).length;
    if (n >= this.limits.maxRooms) throw new RoomError('ROOM_LIMIT', `${n} rooms exist`);
    const mine = mineOf();
    if (mine >= this.limits.maxRoomsPerCreator) throw new RoomError('ROOM_CREATOR_LIMIT', `${mine} rooms created by this user exist`);
  }

  /**
   * Occupied, or empty for less than the lifetime. A room held only by nodes that died is live until a write drops
   * those holds (the next enter, leave, or a sweep), which starts its empty lifetime then: its members may rejoin.
   */
  private live(room: StoredRoom, nowMs: number): boolean {
    if (count(room) > 0) return true;
    return nowMs - room.emptySince < this.limits.emptyTtlMs;
  }

  /** Drops the holds of dead nodes; a room emptied that way starts its empty lifetime now. */
  private dropDead(room: StoredRoom, nowMs: number): void {
    let dropped = false;
    for (const node of Object.keys(room.holds)) {
      if (node !== this.node && !this.alive(node)) {
        delete room.holds[node];
        dropped = true;
      }
    }
    if (dropped && count(room) === 0) room.emptySince = nowMs;
  }

  private toRecord(room: StoredRoom): RoomRecord {
    return {
      cookie: room.cookie, key: room.key, exchange: room.exchange, instance: room.instance, name: room.name,
      creator: room.creator, createdAt: room.createdAt, tlvs: new Uint8Array(Buffer.from(room.tlvs, 'base64')),
      occupants: count(room, this.alive),
    };
  }

  /** Writes `value` at `key` if the key is still as `previous` read it (absent or a purge marker: create-only). */
  private async write(key: string, value: unknown, previous: KvEntry | null): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    if (previous) await this.kv.update(key, bytes, previous.revision);
    else await this.kv.create(key, bytes);
  }

  /** Runs `fn` again on a compare-and-set conflict; RoomError passes through, other failures are DIRECTORY_UNAVAILABLE. */
  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (RoomError.is(e)) throw e;
        if (!isCasConflict(e)) throw unavailable(e);
        if (attempt > 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
      }
    }
    throw new DirectoryError('DIRECTORY_UNAVAILABLE', 'the room kept changing; gave up');
  }
}

function recordKey(roomKey: string): string {
  return `r.${roomKey}`;
}

function count(room: StoredRoom, alive?: (node: string) => boolean): number {
  let n = 0;
  for (const [node, byUser] of Object.entries(room.holds)) {
    if (alive && !alive(node)) continue;
    for (const c of Object.values(byUser)) n += c;
  }
  return n;
}

function decodeRoom(e: KvEntry | null): StoredRoom | undefined {
  if (!e || e.operation !== 'PUT' || e.value.length === 0) return undefined;
  const r = JSON.parse(new TextDecoder().decode(e.value)) as StoredRoom;
  return r.v === 1 ? r : undefined;
}

function decodeIndex(e: KvEntry | null): Index {
  if (!e || e.operation !== 'PUT' || e.value.length === 0) return {};
  return JSON.parse(new TextDecoder().decode(e.value)) as Index;
}

function isCasConflict(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 10071 || (e instanceof Error && /wrong last sequence|key exists/i.test(e.message));
}
