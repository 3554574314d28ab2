/**
 * The in-process {@link RoomRegistry}: the default of a single server, and (one instance handed to several
 * engines) the shared room store of in-process multi-node tests. Work is synchronous inside each call, so
 * create-or-get and enter are atomic without a lock. Expired rooms are swept when a room is created, so memory is
 * bounded by `maxRooms`.
 */
import { RoomError, roomDirectoryKey, type RoomLimits, type RoomRecord, type RoomRegistry, type RoomSpec } from './rooms.js';

interface Entry {
  record: RoomRecord;
  /** Connections per user (normalized). */
  perUser: Map<string, number>;
  /** When the room last became empty (its creation time until someone enters). */
  emptySince: number;
}

/** Rooms in this process. */
export class LocalRooms implements RoomRegistry {
  private readonly byKey = new Map<string, Entry>();
  private readonly byCookie = new Map<string, Entry>();

  /** @param limits room counts, occupancy and the empty-room lifetime */
  constructor(private readonly limits: RoomLimits) {}

  /** {@inheritDoc RoomRegistry.createOrGet} */
  createOrGet(spec: RoomSpec, nowMs: number): Promise<{ room: RoomRecord; created: boolean }> {
    return run(() => {
      const key = roomDirectoryKey(spec.exchange, spec.name);
      const live = this.live(this.byKey.get(key), nowMs);
      if (live) return { room: copy(live.record), created: false };
      this.sweep(nowMs);
      if (this.byKey.size >= this.limits.maxRooms) throw new RoomError('ROOM_LIMIT', `${this.byKey.size} rooms exist`);
      let mine = 0;
      for (const e of this.byKey.values()) if (e.record.creator === spec.creator) mine++;
      if (mine >= this.limits.maxRoomsPerCreator) throw new RoomError('ROOM_CREATOR_LIMIT', `${mine} rooms created by this user exist`);
      const record: RoomRecord = {
        cookie: spec.cookie, key, exchange: spec.exchange, instance: 0, name: spec.name, creator: spec.creator,
        createdAt: nowMs, tlvs: spec.tlvs.slice(), occupants: 0,
      };
      const entry: Entry = { record, perUser: new Map(), emptySince: nowMs };
      this.byKey.set(key, entry);
      this.byCookie.set(spec.cookie, entry);
      return { room: copy(record), created: true };
    });
  }

  /** {@inheritDoc RoomRegistry.get} */
  get(cookie: string, nowMs: number): Promise<RoomRecord | undefined> {
    return run(() => {
      const e = this.live(this.byCookie.get(cookie), nowMs);
      return e ? copy(e.record) : undefined;
    });
  }

  /** {@inheritDoc RoomRegistry.enter} */
  enter(cookie: string, user: string, nowMs: number): Promise<RoomRecord> {
    return run(() => {
      const e = this.live(this.byCookie.get(cookie), nowMs);
      if (!e) throw new RoomError('ROOM_NOT_FOUND', 'no such room');
      if (e.record.occupants >= this.limits.maxOccupancy) throw new RoomError('ROOM_FULL', `room has ${e.record.occupants} occupants`);
      const mine = e.perUser.get(user) ?? 0;
      if (mine >= this.limits.maxPerMember) throw new RoomError('ROOM_MEMBER_LIMIT', `user has ${mine} connections in the room`);
      e.perUser.set(user, mine + 1);
      e.record.occupants++;
      return copy(e.record);
    });
  }

  /** {@inheritDoc RoomRegistry.leave} */
  leave(cookie: string, user: string, nowMs: number): Promise<void> {
    return run(() => {
      const e = this.byCookie.get(cookie);
      const mine = e?.perUser.get(user) ?? 0;
      if (!e || mine === 0) return;
      if (mine === 1) e.perUser.delete(user);
      else e.perUser.set(user, mine - 1);
      e.record.occupants--;
      if (e.record.occupants === 0) e.emptySince = nowMs;
    });
  }

  /** Rooms held now (live or not yet swept); for tests and metrics. */
  get size(): number {
    return this.byKey.size;
  }

  private live(e: Entry | undefined, nowMs: number): Entry | undefined {
    if (!e) return undefined;
    if (e.record.occupants > 0 || nowMs - e.emptySince < this.limits.emptyTtlMs) return e;
    this.drop(e);
    return undefined;
  }

  private sweep(nowMs: number): void {
    for (const e of [...this.byKey.values()]) this.live(e, nowMs);
  }

  private drop(e: Entry): void {
    this.byKey.delete(e.record.key);
    this.byCookie.delete(e.record.cookie);
  }
}

function copy(r: RoomRecord): RoomRecord {
  return { ...r, tlvs: r.tlvs.slice() };
}

function run<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e as Error);
  }
}
