/**
 * The directory's storage (nats-directory.ts): one JetStream KV bucket, one key per user holding all of that
 * user's sessions and the changes of the write that produced the revision (nats-codec.ts `UserRecord`).
 *
 * - `read` is a JetStream direct get through {@link NatsRpc} (no Error object or timer per call), decoded once
 *   per stream sequence and cached — a busy conversation reads the same revision again and again.
 * - `mutate` is a compare-and-set (`kv.update(key, value, revision)`, `kv.create` for a new key), retried on
 *   conflict: the one place where the takeover rule's per-user atomicity comes from.
 * - `purgeIfUnchanged` drops a record left empty, only if no write came in between (`previousSeq`).
 */
import { Kvm, KvWatchInclude, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import { DirectoryError, type SessionEntry } from './directory.js';
import { decodeUserRecord, encodeUserRecord, type UserRecord } from './nats-codec.js';
import type { NatsRpc } from './nats-rpc.js';

/** KV revisions kept per user: a watcher more than this many writes behind on one user skips to the latest. */
export const HISTORY = 16;
/** Compare-and-set attempts before giving up with DIRECTORY_UNAVAILABLE. */
const CAS_ATTEMPTS = 100;
/** Most decoded records kept (a simple bound: the cache is emptied when full). */
const DECODED_CACHE_MAX = 10_000;
const EMPTY = new Uint8Array(0);
/** The record of a user with no sessions (shared, frozen). */
export const NO_RECORD = Object.freeze({ sessions: Object.freeze([]), changes: Object.freeze([]) }) as unknown as UserRecord;

/** KV key of a user: `u.<name>` for plain names, `x.<hex>` for anything a key (a subject) may not hold. */
export function userKey(user: string): string {
  return /^[a-z0-9_-]{1,64}$/.test(user) ? `u.${user}` : `x.${Buffer.from(user, 'utf8').toString('hex')}`;
}

/** The user a KV key names, or undefined for keys that are not user records. */
export function keyUser(key: string): string | undefined {
  if (key.startsWith('u.')) return key.slice(2);
  if (key.startsWith('x.')) return Buffer.from(key.slice(2), 'hex').toString('utf8');
  return undefined;
}

/** A DirectoryError DIRECTORY_UNAVAILABLE for any failure that is not one already. */
export function unavailable(e: unknown): DirectoryError {
  if (DirectoryError.is(e)) return e;
  return new DirectoryError('DIRECTORY_UNAVAILABLE', `cluster directory unavailable: ${(e as Error)?.message ?? String(e)}`);
}

function isCasConflict(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 10071 || (e instanceof Error && /wrong last sequence|key exists/i.test(e.message));
}

/** The user records of one cluster. */
export class UserRecords {
  private readonly decoded = new Map<string, { seq: string; rec: UserRecord }>();
  private readonly directGet: string;

  private constructor(
    private readonly kv: KV,
    bucket: string,
    private readonly rpc: NatsRpc,
    private readonly timeoutMs: number,
  ) {
    this.directGet = `$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.`;
  }

  /**
   * Creates or binds the bucket. Nodes starting together race to create its stream, and the loser can be told
   * "subjects overlap with an existing stream" (the winner's): after a moment the stream exists and binding works.
   */
  static async open(nc: ConstructorParameters<typeof Kvm>[0], bucket: string, rpc: NatsRpc, timeoutMs: number): Promise<UserRecords> {
    for (let attempt = 1; ; attempt++) {
      try {
        return new UserRecords(await new Kvm(nc).create(bucket, { history: HISTORY }), bucket, rpc, timeoutMs);
      } catch (e) {
        if (attempt >= 5) throw e;
        await new Promise((r) => setTimeout(r, 100 * attempt + Math.random() * 100));
      }
    }
  }

  /**
   * The user's current record, read straight from the stream (404: never written; an empty value: a purge
   * marker). The result is shared with the cache: callers must not modify it.
   */
  async read(user: string): Promise<UserRecord> {
    try {
      const m = await this.rpc.call(this.directGet + userKey(user), EMPTY, this.timeoutMs, [404]);
      if (m.headers?.code === 404 || m.data.length === 0) return NO_RECORD;
      const seq = m.headers?.get('Nats-Sequence') ?? '';
      const hit = this.decoded.get(user);
      if (hit && seq !== '' && hit.seq === seq) return hit.rec;
      const rec = decodeUserRecord(m.data);
      if (this.decoded.size >= DECODED_CACHE_MAX) this.decoded.clear();
      this.decoded.set(user, { seq, rec });
      return rec;
    } catch (e) {
      throw unavailable(e);
    }
  }

  /**
   * Compare-and-set on a user's record; `fn` returns the new record, or undefined for no change. Resolves with the
   * revision written (undefined when nothing was).
   */
  async mutate(user: string, fn: (current: SessionEntry[]) => UserRecord | undefined): Promise<number | undefined> {
    const key = userKey(user);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      try {
        const e = await this.kv.get(key);
        const current = e && e.operation === 'PUT' && e.value.length > 0 ? decodeUserRecord(e.value).sessions : [];
        const next = fn(current);
        if (!next) return undefined;
        const bytes = encodeUserRecord(next);
        return e ? await this.kv.update(key, bytes, e.revision) : await this.kv.create(key, bytes);
      } catch (err) {
        if (!isCasConflict(err)) throw unavailable(err);
        if (attempt > 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
      }
    }
    throw new DirectoryError('DIRECTORY_UNAVAILABLE', `directory record of ${user} kept changing; gave up`);
  }

  /** Removes the user's entries matching `pred`; `reason` marks them as owed a sign-off by their node. */
  removeWhere(user: string, pred: (e: SessionEntry) => boolean, reason?: number): Promise<number | undefined> {
    return this.mutate(user, (current) => {
      const gone = current.filter(pred);
      if (gone.length === 0) return undefined;
      const sessions = current.filter((e) => !gone.includes(e));
      // An event for each removed entry that had presence, and for the user's last entry whatever its state.
      const changes = gone.map((g, i) => ({
        entry: g, removed: true, event: g.presence !== undefined || (sessions.length === 0 && i === gone.length - 1),
        ...(reason !== undefined ? { reason } : {}),
      }));
      return { sessions, changes };
    });
  }

  /** Purges the user's record if it is still at `revision`; false when it changed meanwhile (or NATS failed). */
  purgeIfUnchanged(user: string, revision: number): Promise<boolean> {
    return this.kv.purge(userKey(user), { previousSeq: revision }).then(() => true, () => false);
  }

  /** The stream's last sequence: every write acknowledged so far is at or below it. */
  async lastRevision(): Promise<number> {
    try {
      return (await this.kv.status()).streamInfo.state.last_seq;
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** Watches every record: current values first (or from `fromRevision` on), then every write. */
  watch(fromRevision?: number): Promise<QueuedIterator<KvWatchEntry>> {
    return this.kv.watch(fromRevision === undefined ? { key: '>', include: KvWatchInclude.LastValue } : { key: '>', resumeFromRevision: fromRevision });
  }
}
