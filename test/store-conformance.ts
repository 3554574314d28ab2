/**
 * The one storage conformance suite: every backend runs exactly these tests. A backend file
 * (store-sqlite.test.ts, store-postgres.test.ts) supplies a harness that opens fresh, isolated databases.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PkiError } from '../src/pki/errors.js';
import type { IssuedCertificateRecord } from '../src/pki/ledger.js';
import { FeedbagStatus, PermitDenyMode, StoreError } from '../src/store/index.js';
import type { FeedbagItem, LegacyVerifier, NewAccount, Store } from '../src/store/index.js';
import { migrations } from '../src/store/migrations/index.js';
import type { SqlDriver } from '../src/store/sql/driver.js';
import { appliedVersions, migrateDown, migrateUp } from '../src/store/sql/migrate.js';
import { sqlStore } from '../src/store/sql/sql-store.js';

/** Opens fresh, empty databases of one backend. */
export interface StoreHarness {
  /** A new empty database, migrated, as a store whose clock is `now`. */
  open(now?: () => number): Promise<Store>;
  /** A new empty database with no schema, as a raw driver (for the migration tests). */
  openRaw(): Promise<SqlDriver>;
  /** Drops every database this harness made. */
  teardown(): Promise<void>;
}

const bytes = (...b: number[]) => new Uint8Array(b);
const verifier = (seed: number): LegacyVerifier => ({ md5Password: new Uint8Array(16).fill(seed) });
const account = (screenName: string, extra: Partial<NewAccount> = {}): NewAccount => ({ screenName, passwordHash: `scrypt$test$${screenName}`, ...extra });
const item = (groupId: number, itemId: number, classId: number, name: string, attributes = bytes()): FeedbagItem => ({ name, groupId, itemId, classId, attributes });
const cookie = (n: number) => new Uint8Array(8).fill(n);

async function rejectsCode(p: Promise<unknown>, code: string, message?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(StoreError.is(e) || PkiError.is(e), `expected a typed error, got ${String(e)}`);
    assert.equal((e as StoreError).code, code);
    return true;
  }, message);
}

/** Registers the whole suite for one backend. makeHarness runs once, before the first test. */
export function storeConformance(backend: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`store conformance: ${backend}`, () => {
    let harness: StoreHarness | undefined;
    const opened: Store[] = [];
    let clock = 1_700_000_000_000;
    const tick = () => clock++;

    before(async () => {
      harness = await makeHarness();
    });
    after(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      await harness?.teardown();
    });

    const fresh = async (now: () => number = tick): Promise<Store> => {
      if (!harness) throw new Error(`${backend} harness failed to start (see the error above)`);
      const s = await harness.open(now);
      opened.push(s);
      return s;
    };

    describe('accounts', () => {
      test('create, then get by any format of the name', async () => {
        const s = await fresh();
        const a = await s.accounts.create(account('Bob Smith', { email: 'bob@example.com', legacyVerifier: verifier(1) }));
        assert.equal(a.key, 'bobsmith');
        assert.equal(a.screenName, 'Bob Smith');
        assert.equal(a.email, 'bob@example.com');
        assert.equal(a.legacyLoginEnabled, true);
        assert.deepEqual(a.legacyVerifier, verifier(1));
        assert.equal(a.disabled, false);
        assert.equal(typeof a.createdAt, 'number');
        assert.deepEqual(await s.accounts.get('BOBSMITH'), a);
        assert.deepEqual(await s.accounts.get('b o b smith'), a);
        assert.equal(await s.accounts.get('alice'), null);
      });

      test('names are unique after normalization', async () => {
        const s = await fresh();
        await s.accounts.create(account('Bob Smith'));
        await rejectsCode(s.accounts.create(account('bobsmith')), 'STORE_DUPLICATE');
        await rejectsCode(s.accounts.create(account('BOB SMITH')), 'STORE_DUPLICATE');
        assert.equal((await s.accounts.list()).length, 1);
      });

      test('list is ordered by key', async () => {
        const s = await fresh();
        for (const n of ['Zed', 'alice', 'Mike Two']) await s.accounts.create(account(n));
        assert.deepEqual((await s.accounts.list()).map((a) => a.key), ['alice', 'miketwo', 'zed']);
      });

      test('invalid screen names and verifier misuse are refused', async () => {
        const s = await fresh();
        await rejectsCode(s.accounts.create(account('ab')), 'STORE_INVALID');
        await rejectsCode(s.accounts.create(account('1abc')), 'STORE_INVALID');
        await rejectsCode(s.accounts.create(account('bad!name')), 'STORE_INVALID');
        await rejectsCode(s.accounts.create(account('carol', { legacyVerifier: verifier(2), legacyLoginEnabled: false })), 'STORE_INVALID');
        await rejectsCode(s.accounts.create(account('carol', { legacyLoginEnabled: true })), 'STORE_INVALID');
        await rejectsCode(s.accounts.create(account('carol', { legacyVerifier: { md5Password: bytes(1) } })), 'STORE_INVALID');
        assert.deepEqual(await s.accounts.list(), []);
      });

      test('update: format, password, disable, and legacy switch drops the verifier', async () => {
        const s = await fresh();
        await s.accounts.create(account('dave', { legacyVerifier: verifier(3) }));
        let a = await s.accounts.update('DAVE', { screenName: 'DaVe', passwordHash: 'scrypt$new', disabled: true, email: 'd@x' });
        assert.equal(a.screenName, 'DaVe');
        assert.equal(a.passwordHash, 'scrypt$new');
        assert.equal(a.disabled, true);
        assert.deepEqual(await s.accounts.get('dave'), a);
        await rejectsCode(s.accounts.update('dave', { screenName: 'david' }), 'STORE_INVALID');

        a = await s.accounts.update('dave', { legacyLoginEnabled: false });
        assert.equal(a.legacyLoginEnabled, false);
        assert.equal(a.legacyVerifier, null);
        assert.equal((await s.accounts.get('dave'))?.legacyVerifier, null, 'verifier gone from the database');
        await rejectsCode(s.accounts.update('dave', { legacyLoginEnabled: true }), 'STORE_INVALID');
        await rejectsCode(s.accounts.update('dave', { legacyVerifier: verifier(4) }), 'STORE_INVALID');
        a = await s.accounts.update('dave', { legacyLoginEnabled: true, legacyVerifier: verifier(5), passwordHash: 'scrypt$newer' });
        assert.deepEqual((await s.accounts.get('dave'))?.legacyVerifier, verifier(5));
        await rejectsCode(s.accounts.update('nobody', { disabled: true }), 'STORE_NOT_FOUND');
      });

      test('remove deletes the account and everything it owns', async () => {
        const s = await fresh();
        await s.accounts.create(account('erin'));
        await s.accounts.create(account('frank'));
        await s.userInfo.setProfile('erin', 'text/plain', bytes(1, 2));
        await s.feedbag.apply('erin', [{ op: 'insert', item: item(1, 0, 1, 'Buddies') }], { maxItems: 10 });
        await s.permitDeny.add('erin', 'deny', ['frank'], 10);
        await s.offline.enqueue({ recipient: 'erin', sender: 'frank', channel: 1, cookie: cookie(1), payload: bytes(9), sentAt: 1 }, 10);
        assert.equal(await s.accounts.remove('ERIN'), true);
        assert.equal(await s.accounts.remove('erin'), false);
        assert.equal(await s.accounts.get('erin'), null);
        assert.equal((await s.userInfo.get('erin')).profile, null);
        assert.deepEqual(await s.feedbag.get('erin'), { items: [], lastModified: 0 });
        assert.deepEqual((await s.permitDeny.get('erin')).deny, []);
        assert.equal(await s.offline.count('erin'), 0);
        // The name is free again.
        assert.equal((await s.accounts.create(account('Erin'))).key, 'erin');
        assert.notEqual(await s.accounts.get('frank'), null);
      });
    });

    describe('user info', () => {
      test('profile, away and certificate block are independent; the hash is MD5 of the exact bytes', async () => {
        const s = await fresh();
        await s.accounts.create(account('gina'));
        assert.deepEqual(await s.userInfo.get('gina'), {
          profileMime: null, profile: null, awayMime: null, away: null, certBlock: null, certHash: null, updatedAt: 0,
        });
        const block = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
        const hash = await s.userInfo.setCertBlock('Gina', block);
        assert.deepEqual(hash, new Uint8Array(createHash('md5').update(block).digest()));
        await s.userInfo.setProfile('gina', 'text/aolrtf; charset="us-ascii"', bytes(0x68, 0x69));
        await s.userInfo.setAway('gina', 'text/plain', bytes(0x00, 0xff));
        const info = await s.userInfo.get('GINA');
        assert.deepEqual(info.certBlock, block);
        assert.deepEqual(info.certHash, hash);
        assert.equal(info.profileMime, 'text/aolrtf; charset="us-ascii"');
        assert.deepEqual(info.profile, bytes(0x68, 0x69));
        assert.deepEqual(info.away, bytes(0x00, 0xff));
        assert.ok(info.updatedAt > 0);

        await s.userInfo.setAway('gina', null, null);
        assert.equal(await s.userInfo.setCertBlock('gina', null), null);
        const after = await s.userInfo.get('gina');
        assert.equal(after.away, null);
        assert.equal(after.awayMime, null);
        assert.equal(after.certBlock, null);
        assert.equal(after.certHash, null);
        assert.deepEqual(after.profile, bytes(0x68, 0x69), 'clearing one field keeps the others');
      });

      test('writes for an unknown account fail with STORE_NOT_FOUND', async () => {
        const s = await fresh();
        await rejectsCode(s.userInfo.setProfile('ghost', 'text/plain', bytes(1)), 'STORE_NOT_FOUND');
        await rejectsCode(s.userInfo.setCertBlock('ghost', bytes(1)), 'STORE_NOT_FOUND');
      });
    });

    describe('feedbag', () => {
      const limits = { maxItems: 100 };

      test('insert, update, delete with per-item statuses and a strictly increasing lastModified', async () => {
        const s = await fresh(() => 5000); // a frozen clock: lastModified must still move
        await s.accounts.create(account('hank'));
        const r1 = await s.feedbag.apply('hank', [
          { op: 'insert', item: item(0, 0, 1, '', bytes(0x00, 0xc8, 0x00, 0x02, 0x00, 0x01)) },
          { op: 'insert', item: item(1, 0, 1, 'Buddies') },
          { op: 'insert', item: item(1, 7, 0, 'ivan', bytes(0x01, 0x31, 0x00, 0x01, 0x41)) },
        ], limits);
        assert.deepEqual(r1, [FeedbagStatus.OK, FeedbagStatus.OK, FeedbagStatus.OK]);
        const fb1 = await s.feedbag.get('HANK');
        assert.deepEqual(fb1.items.map((i) => [i.groupId, i.itemId, i.classId, i.name]), [[0, 0, 1, ''], [1, 0, 1, 'Buddies'], [1, 7, 0, 'ivan']]);
        assert.deepEqual(fb1.items[2]?.attributes, bytes(0x01, 0x31, 0x00, 0x01, 0x41));
        assert.equal(fb1.lastModified, 5000);

        const r2 = await s.feedbag.apply('hank', [
          { op: 'insert', item: item(1, 7, 0, 'other') }, // id taken
          { op: 'update', item: item(1, 7, 0, 'Ivan', bytes(9)) },
          { op: 'update', item: item(1, 8, 0, 'nobody') }, // not found
          { op: 'delete', item: item(1, 9, 0, '') }, // not found
          { op: 'insert', item: item(1, 8, 0, 'judy') },
          { op: 'delete', item: item(1, 8, 0, '') }, // the insert above is visible to later changes
          { op: 'insert', item: item(70000, 1, 0, 'x') }, // not a u16
          { op: 'insert', item: item(1, 10, 0, 'n'.repeat(300)) }, // name too long
        ], limits);
        assert.deepEqual(r2, [FeedbagStatus.ID_TAKEN, FeedbagStatus.OK, FeedbagStatus.NOT_FOUND, FeedbagStatus.NOT_FOUND,
          FeedbagStatus.OK, FeedbagStatus.OK, FeedbagStatus.BAD_FORMAT, FeedbagStatus.BAD_FORMAT]);
        const fb2 = await s.feedbag.get('hank');
        assert.deepEqual(fb2.items.map((i) => i.name), ['', 'Buddies', 'Ivan']);
        assert.deepEqual(fb2.items[2]?.attributes, bytes(9));
        assert.equal(fb2.lastModified, 5001);

        const r3 = await s.feedbag.apply('hank', [{ op: 'delete', item: item(5, 5, 0, '') }], limits);
        assert.deepEqual(r3, [FeedbagStatus.NOT_FOUND]);
        assert.equal((await s.feedbag.get('hank')).lastModified, 5001, 'a batch with no success does not bump lastModified');
      });

      test('per-user and per-class maxima', async () => {
        const s = await fresh();
        await s.accounts.create(account('kate'));
        const r = await s.feedbag.apply('kate', [
          { op: 'insert', item: item(1, 0, 1, 'G') },
          { op: 'insert', item: item(1, 1, 0, 'a1') },
          { op: 'insert', item: item(1, 2, 0, 'a2') },
          { op: 'insert', item: item(1, 3, 0, 'a3') }, // third buddy: class 0 max is 2
          { op: 'insert', item: item(0, 5, 3, 'den') },
          { op: 'insert', item: item(0, 6, 3, 'den2') }, // fifth item: user max is 4
        ], { maxItems: 4, maxPerClass: { 0: 2 } });
        assert.deepEqual(r, [0, 0, 0, FeedbagStatus.MAX_ITEMS, 0, FeedbagStatus.MAX_ITEMS]);
        assert.equal((await s.feedbag.get('kate')).items.length, 4);
        // Deleting frees room within the same batch.
        const r2 = await s.feedbag.apply('kate', [
          { op: 'delete', item: item(1, 1, 0, '') },
          { op: 'insert', item: item(1, 3, 0, 'a3') },
        ], { maxItems: 4, maxPerClass: { 0: 2 } });
        assert.deepEqual(r2, [0, 0]);
      });

      test('the total of names and attributes is capped: inserts and updates past it are refused, deletes free room', async () => {
        const s = await fresh();
        await s.accounts.create(account('kit'));
        const limits = { maxItems: 100, maxBytes: 1000 };
        const attrs = (n: number) => new Uint8Array(n).fill(7);
        // 'G' + 400 and 'b1' + 400 = 803 bytes; a third of 'b2' + 200 = 202 would make 1,005.
        const r = await s.feedbag.apply('kit', [
          { op: 'insert', item: item(1, 0, 1, 'G', attrs(400)) },
          { op: 'insert', item: item(1, 1, 0, 'b1', attrs(400)) },
          { op: 'insert', item: item(1, 2, 0, 'b2', attrs(200)) },
          { op: 'insert', item: item(1, 3, 0, 'b3', attrs(195)) }, // 803 + 197 = 1,000: exactly at the cap
        ], limits);
        assert.deepEqual(r, [0, 0, FeedbagStatus.MAX_ITEMS, 0]);
        // In a later batch (sizes read back from the database): growing an item past the cap is refused, shrinking
        // one makes room for another, and a delete frees its bytes.
        const r2 = await s.feedbag.apply('kit', [
          { op: 'update', item: item(1, 1, 0, 'b1', attrs(401)) },
          { op: 'update', item: item(1, 1, 0, 'b1', attrs(100)) },
          { op: 'insert', item: item(1, 4, 0, 'b4', attrs(298)) },
          { op: 'insert', item: item(1, 5, 0, 'b5', attrs(1)) },
          { op: 'delete', item: item(1, 3, 0, '') },
          { op: 'insert', item: item(1, 5, 0, 'b5', attrs(1)) },
        ], limits);
        assert.deepEqual(r2, [FeedbagStatus.MAX_ITEMS, 0, 0, FeedbagStatus.MAX_ITEMS, 0, 0]);
        const names = (await s.feedbag.get('kit')).items.map((i) => `${i.name}:${i.attributes.length}`);
        assert.deepEqual(names, ['G:400', 'b1:100', 'b4:298', 'b5:1']);
        // Multi-byte names count in UTF-8 bytes: 'é' is 2.
        assert.deepEqual(await s.feedbag.apply('kit', [{ op: 'insert', item: item(1, 6, 0, 'é'.repeat(100), attrs(0)) }], limits), [FeedbagStatus.MAX_ITEMS]);
        assert.deepEqual(await s.feedbag.apply('kit', [{ op: 'insert', item: item(1, 6, 0, 'é'.repeat(95), attrs(0)) }], limits), [0]);
      });

      test('a failure inside a batch rolls back every change of that batch', async () => {
        const s = await fresh();
        await s.accounts.create(account('liam'));
        const poisoned = { ...item(1, 2, 0, 'x'), name: 12345 as unknown as string };
        await assert.rejects(s.feedbag.apply('liam', [
          { op: 'insert', item: item(1, 0, 1, 'G') },
          { op: 'insert', item: poisoned },
        ], limits));
        assert.deepEqual(await s.feedbag.get('liam'), { items: [], lastModified: 0 });
      });

      test('concurrent batches for one user take an id exactly once and respect the maximum', async () => {
        const s = await fresh();
        await s.accounts.create(account('mona'));
        const same = await Promise.all(Array.from({ length: 8 }, (_, i) =>
          s.feedbag.apply('mona', [{ op: 'insert', item: item(2, 2, 0, `buddy${i}`) }], limits)));
        assert.equal(same.filter((r) => r[0] === FeedbagStatus.OK).length, 1);
        assert.equal(same.filter((r) => r[0] === FeedbagStatus.ID_TAKEN).length, 7);
        const capped = await Promise.all(Array.from({ length: 10 }, (_, i) =>
          s.feedbag.apply('mona', [{ op: 'insert', item: item(3, i + 1, 0, `b${i}`) }], { maxItems: 5 })));
        assert.equal(capped.filter((r) => r[0] === FeedbagStatus.OK).length, 4);
        assert.equal((await s.feedbag.get('mona')).items.length, 5);
      });

      test('unknown account: get is empty, apply fails with STORE_NOT_FOUND', async () => {
        const s = await fresh();
        assert.deepEqual(await s.feedbag.get('ghost'), { items: [], lastModified: 0 });
        await rejectsCode(s.feedbag.apply('ghost', [{ op: 'insert', item: item(1, 0, 1, 'G') }], limits), 'STORE_NOT_FOUND');
      });
    });

    describe('permit/deny', () => {
      test('mode and lists, normalized, with a cap that adds nothing when exceeded', async () => {
        const s = await fresh();
        await s.accounts.create(account('nina'));
        assert.deepEqual(await s.permitDeny.get('nina'), { mode: PermitDenyMode.PERMIT_ALL, permit: [], deny: [] });
        await s.permitDeny.setMode('nina', PermitDenyMode.DENY_SOME);
        await s.permitDeny.add('nina', 'deny', ['Spam Bot', 'spambot', 'Troll'], 3);
        await s.permitDeny.add('nina', 'permit', ['Friend'], 3);
        assert.deepEqual(await s.permitDeny.get('NINA'), { mode: PermitDenyMode.DENY_SOME, permit: ['friend'], deny: ['spambot', 'troll'] });
        await rejectsCode(s.permitDeny.add('nina', 'deny', ['a1', 'a2'], 3), 'STORE_LIMIT');
        assert.deepEqual((await s.permitDeny.get('nina')).deny, ['spambot', 'troll'], 'nothing added past the cap');
        await s.permitDeny.add('nina', 'deny', ['TROLL', 'a1'], 3); // duplicate does not count
        assert.equal(await s.permitDeny.remove('nina', 'deny', ['troll', 'notthere']), 1);
        assert.deepEqual((await s.permitDeny.get('nina')).deny, ['a1', 'spambot']);
        await rejectsCode(s.permitDeny.setMode('nina', 9 as 1), 'STORE_INVALID');
        await rejectsCode(s.permitDeny.setMode('ghost', 2), 'STORE_NOT_FOUND');
        await rejectsCode(s.permitDeny.add('ghost', 'permit', ['x'], 3), 'STORE_NOT_FOUND');
      });
    });

    describe('offline messages', () => {
      test('FIFO order, fetch limit, ack only what was delivered', async () => {
        const s = await fresh();
        await s.accounts.create(account('olga'));
        await s.accounts.create(account('pete'));
        const payload = (n: number) => new Uint8Array(40).fill(n);
        const ids: number[] = [];
        for (let n = 1; n <= 5; n++) {
          const m = await s.offline.enqueue({ recipient: 'Olga', sender: 'Pete P', channel: 1, cookie: cookie(n), payload: payload(n), sentAt: 1000 + n }, 10);
          assert.equal(m.recipient, 'olga');
          ids.push(m.id);
        }
        await s.offline.enqueue({ recipient: 'pete', sender: 'olga', channel: 1, cookie: cookie(9), payload: payload(9), sentAt: 1 }, 10);
        assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'ids increase in enqueue order');

        const first = await s.offline.fetch('olga', 3);
        assert.deepEqual(first.map((m) => m.cookie[0]), [1, 2, 3]);
        assert.deepEqual(first[0], { id: ids[0], recipient: 'olga', sender: 'Pete P', channel: 1, cookie: cookie(1), payload: payload(1), sentAt: 1001 });
        assert.equal((await s.offline.fetch('olga', 3)).length, 3, 'fetch does not remove');

        const peteId = (await s.offline.fetch('pete', 10))[0]?.id ?? -1;
        assert.equal(await s.offline.ack('olga', [...first.map((m) => m.id), peteId]), 3, "another user's id is not deleted");
        assert.equal(await s.offline.count('pete'), 1);
        assert.deepEqual((await s.offline.fetch('olga', 10)).map((m) => m.cookie[0]), [4, 5]);
        assert.equal(await s.offline.count('olga'), 2);
      });

      test('per-recipient cap, unknown recipient, bad cookie', async () => {
        const s = await fresh();
        await s.accounts.create(account('quinn'));
        const m = { recipient: 'quinn', sender: 'x', channel: 1, cookie: cookie(1), payload: bytes(1), sentAt: 1 };
        await s.offline.enqueue(m, 2);
        await s.offline.enqueue(m, 2);
        await rejectsCode(s.offline.enqueue(m, 2), 'STORE_LIMIT');
        assert.equal(await s.offline.count('quinn'), 2);
        await rejectsCode(s.offline.enqueue({ ...m, recipient: 'ghost' }, 2), 'STORE_NOT_FOUND');
        await rejectsCode(s.offline.enqueue({ ...m, cookie: bytes(1, 2) }, 5), 'STORE_INVALID');
        await s.offline.ack('quinn', [(await s.offline.fetch('quinn', 1))[0]?.id ?? -1]);
        await s.offline.enqueue(m, 2); // room again after delivery
        assert.equal(await s.offline.count('quinn'), 2);
      });

      test('concurrent enqueues to one recipient never exceed the cap', async () => {
        const s = await fresh();
        await s.accounts.create(account('ruth'));
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
          s.offline.enqueue({ recipient: 'ruth', sender: `s${i}`, channel: 1, cookie: cookie(i), payload: bytes(i), sentAt: i }, 3)));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
        for (const r of results) if (r.status === 'rejected') assert.ok(StoreError.is(r.reason, 'STORE_LIMIT'), String(r.reason));
        assert.equal(await s.offline.count('ruth'), 3);
      });

      test('purgeOlderThan drops only old messages', async () => {
        const s = await fresh();
        await s.accounts.create(account('rita'));
        for (const t of [10, 20, 30]) {
          await s.offline.enqueue({ recipient: 'rita', sender: 'x', channel: 1, cookie: cookie(t), payload: bytes(t), sentAt: t }, 10);
        }
        assert.equal(await s.offline.purgeOlderThan(25), 2);
        assert.deepEqual((await s.offline.fetch('rita', 10)).map((m) => m.sentAt), [30]);
      });
    });

    describe('certificate ledger', () => {
      const rec = (serial: string, screenName: string, issued: number): IssuedCertificateRecord => ({
        serial, screenName, purpose: 'encrypt',
        notBefore: new Date(issued), notAfter: new Date(issued + 365 * 86_400_000),
        fingerprint: 'ab'.repeat(32), der: new Uint8Array(600).fill(issued & 0xff), issuedAt: new Date(issued),
      });

      test('record, get, list newest first, duplicates refused with the PKI code', async () => {
        const s = await fresh();
        await s.ledger.recordIssued(rec('0a1b', 'sam', 1_000));
        await s.ledger.recordIssued({ ...rec('0c2d', 'sam', 2_000), purpose: 'sign' });
        await s.ledger.recordIssued(rec('ffee', 'tina', 3_000));
        await rejectsCode(s.ledger.recordIssued(rec('0a1b', 'sam', 4_000)), 'DUPLICATE_SERIAL');
        assert.deepEqual(await s.ledger.get('0a1b'), rec('0a1b', 'sam', 1_000));
        assert.equal(await s.ledger.get('9999'), undefined);
        const list = await s.ledger.listByScreenName('sam');
        assert.deepEqual(list.map((r) => [r.serial, r.purpose]), [['0c2d', 'sign'], ['0a1b', 'encrypt']]);
        assert.deepEqual(await s.ledger.listByScreenName('nobody'), []);
        assert.deepEqual((await s.ledger.listAll(10)).map((r) => r.serial), ['ffee', '0c2d', '0a1b'], 'all users, newest first');
        assert.deepEqual((await s.ledger.listAll(1)).map((r) => r.serial), ['ffee'], 'limited');
      });

      test('revoke: unknown is false, the first revocation wins, listRevoked feeds the CRL', async () => {
        const s = await fresh();
        await s.ledger.recordIssued(rec('01', 'sam', 1_000));
        await s.ledger.recordIssued(rec('02', 'sam', 2_000));
        assert.equal(await s.ledger.revoke('99', 'keyCompromise', new Date(5_000)), false);
        assert.equal(await s.ledger.revoke('01', 'keyCompromise', new Date(5_000)), true);
        assert.equal(await s.ledger.revoke('01', 'superseded', new Date(9_000)), true);
        const r = await s.ledger.get('01');
        assert.deepEqual([r?.revokedAt, r?.revocationReason], [new Date(5_000), 'keyCompromise']);
        assert.equal((await s.ledger.get('02'))?.revokedAt, undefined);
        assert.deepEqual(await s.ledger.listRevoked(), [{ serial: '01', revokedAt: new Date(5_000), reason: 'keyCompromise' }]);
      });
    });

    describe('meta', () => {
      test('get, set, overwrite, delete', async () => {
        const s = await fresh();
        assert.equal(await s.meta.get('k'), null);
        await s.meta.set('k', 'v1');
        await s.meta.set('k', 'v2');
        assert.equal(await s.meta.get('k'), 'v2');
        assert.equal(await s.meta.delete('k'), true);
        assert.equal(await s.meta.delete('k'), false);
        assert.equal(await s.meta.get('k'), null);
      });
    });

    describe('login throttle', () => {
      const rec = (count: number, expiresAt: number) => ({ count, milliTokens: 500, until: 7, at: 3, expiresAt });
      test('read-modify-write, delete, expiry', async () => {
        const s = await fresh();
        const seen = await s.loginThrottle.update(['a', 'b'], 100, (cur) => ({ result: cur.size, writes: new Map([['a', rec(1, 1000)], ['b', rec(2, 150)]]) }));
        assert.equal(seen, 0);
        const cur = await s.loginThrottle.update(['a', 'b', 'c'], 120, (c) => ({ result: new Map(c), writes: new Map() }));
        assert.deepEqual(cur.get('a'), rec(1, 1000));
        assert.deepEqual(cur.get('b'), rec(2, 150));
        assert.equal(cur.has('c'), false);
        const later = await s.loginThrottle.update(['a', 'b'], 200, (c) => ({ result: [...c.keys()], writes: new Map([['a', null]]) }));
        assert.deepEqual(later, ['a'], 'b expired at 150');
        assert.equal(await s.loginThrottle.update(['a'], 200, (c) => ({ result: c.size, writes: new Map() })), 0, 'a deleted');
      });

      test('entries and deleteAccount (names with LIKE wildcards are literal)', async () => {
        const s = await fresh();
        const w = new Map([['a:bo_b', rec(1, 1000)], ['p:10.0.0.1 bo_b', rec(2, 1000)], ['p:10.0.0.1 boxb', rec(3, 1000)], ['s:bo_b', rec(1, 1000)], ['i:10.0.0.1', rec(1, 50)]]);
        await s.loginThrottle.update([...w.keys()], 10, () => ({ result: 0, writes: w }));
        assert.deepEqual((await s.loginThrottle.entries(100, 10)).map(([k]) => k).sort(), ['a:bo_b', 'p:10.0.0.1 bo_b', 'p:10.0.0.1 boxb', 's:bo_b']);
        assert.equal((await s.loginThrottle.entries(100, 2)).length, 2);
        assert.equal(await s.loginThrottle.deleteAccount('bo_b'), 3);
        assert.deepEqual((await s.loginThrottle.entries(100, 10)).map(([k]) => k), ['p:10.0.0.1 boxb']);
      });

      test('concurrent increments of one key are serialized (none lost)', async () => {
        const s = await fresh();
        await Promise.all(Array.from({ length: 40 }, () => s.loginThrottle.update(['k', 'other'], 10, (c) => {
          const n = (c.get('k')?.count ?? 0) + 1;
          return { result: n, writes: new Map([['k', rec(n, 1e12)]]) };
        })));
        assert.equal(await s.loginThrottle.update(['k'], 10, (c) => ({ result: c.get('k')?.count, writes: new Map() })), 40);
      });
    });

    describe('migrations and lifecycle', () => {
      test('up, down, up again; partial down keeps earlier tables', async () => {
        if (!harness) throw new Error(`${backend} harness failed to start`);
        const db = await harness.openRaw();
        try {
          const all = migrations.map((m) => m.version);
          assert.deepEqual(await migrateUp(db, migrations), all);
          assert.deepEqual(await migrateUp(db, migrations), [], 'idempotent');
          assert.deepEqual(await appliedVersions(db), all);
          const s1 = sqlStore(db, tick);
          await s1.accounts.create(account('uma'));
          await s1.ledger.recordIssued({ serial: '01', screenName: 'uma', purpose: 'common', notBefore: new Date(0), notAfter: new Date(1),
            fingerprint: '00', der: bytes(1), issuedAt: new Date(0) });

          assert.deepEqual(await migrateDown(db, migrations, 2), all.filter((v) => v > 2).reverse());
          assert.deepEqual(await appliedVersions(db), [1, 2]);
          assert.notEqual(await s1.ledger.get('01'), null, 'version 2 data survives reverting the later versions');
          await assert.rejects(s1.loginThrottle.update(['k'], 1, () => ({ result: 0, writes: new Map() })), 'login_throttle table is gone');
          assert.deepEqual(await migrateDown(db, migrations, 1), [2]);
          assert.deepEqual(await appliedVersions(db), [1]);
          assert.deepEqual((await db.all('SELECT sn_key FROM accounts')).map((r) => r.sn_key), ['uma'], 'version 1 data survives reverting version 2');
          await assert.rejects(s1.ledger.get('01'), 'certificates table is gone');

          assert.deepEqual(await migrateDown(db, migrations), [1]);
          assert.deepEqual(await appliedVersions(db), []);
          await assert.rejects(s1.accounts.get('uma'), 'accounts table is gone');

          assert.deepEqual(await migrateUp(db, migrations), all);
          const s2 = sqlStore(db, tick);
          assert.equal(await s2.accounts.get('uma'), null, 'fresh tables after up again');
          await s2.accounts.create(account('uma'));
          assert.equal((await s2.accounts.list()).length, 1);
        } finally {
          await db.close();
        }
      });

      test('migration 3 deletes the old replayable fixed-key verifiers and switches classic login off', async () => {
        if (!harness) throw new Error(`${backend} harness failed to start`);
        const db = await harness.openRaw();
        try {
          await migrateUp(db, migrations.slice(0, 2));
          await db.run(`INSERT INTO accounts (sn_key, screen_name, created_at, password_hash, legacy_login, legacy_auth_key, legacy_md5_weak, legacy_md5_strong)
            VALUES ('old', 'Old', 1, 'scrypt$x', 1, 'fixedkey', ?, ?)`, [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)]);
          await migrateUp(db, migrations);
          const a = await sqlStore(db, tick).accounts.get('old');
          assert.deepEqual([a?.legacyLoginEnabled, a?.legacyVerifier], [false, null]);
          const raw = await db.all('SELECT legacy_auth_key, legacy_md5_weak, legacy_md5_strong FROM accounts');
          assert.deepEqual(raw.map((r) => [r.legacy_auth_key, r.legacy_md5_weak, r.legacy_md5_strong]), [[null, null, null]]);
          // The CHECK: an MD5 only with classic login on.
          await assert.rejects(db.run('UPDATE accounts SET legacy_md5_password = ? WHERE sn_key = ?', [new Uint8Array(16), 'old']));
        } finally {
          await db.close();
        }
      });

      test('a database from a newer certim is refused', async () => {
        if (!harness) throw new Error(`${backend} harness failed to start`);
        const db = await harness.openRaw();
        try {
          await migrateUp(db, migrations);
          await db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [migrations.length + 1, 'future', 0]);
          await rejectsCode(migrateUp(db, migrations), 'STORE_MIGRATION');
        } finally {
          await db.close();
        }
      });

      test('a closed store refuses work with STORE_CLOSED', async () => {
        const s = await fresh();
        await s.close();
        await rejectsCode(s.accounts.list(), 'STORE_CLOSED');
      });
    });
  });
}
