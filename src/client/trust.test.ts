import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFingerprint, MemoryBuddyStore, parseFingerprint, trustLevel, updateRecord, verifyRecord } from './trust.js';

const base = { screenName: 'Bob Smith', certInfoHash: 'aa', certInfo: '', encryptionFingerprint: 'e1', signingFingerprint: 's1', modern: true };
const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-02-01T00:00:00Z');

test('first sight is CA-certified; the same certificate again is no change', () => {
  const { record, change } = updateRecord(undefined, { ...base, fingerprint: 'f1' }, t0);
  assert.equal(change, undefined);
  assert.equal(trustLevel(record), 'ca');
  const again = updateRecord(record, { ...base, certInfoHash: 'bb', fingerprint: 'f1' }, t1);
  assert.equal(again.change, undefined);
  assert.equal(again.record.since, t0.toISOString());
});

test('a different certificate is a key change; verifying the new fingerprint makes it personal', () => {
  const first = updateRecord(undefined, { ...base, fingerprint: 'f1' }, t0).record;
  const verified = verifyRecord(first, 'F1');
  assert.ok(verified.ok);
  assert.equal(trustLevel(verified.record), 'personal');
  const { record, change } = updateRecord(verified.record, { ...base, fingerprint: 'f2' }, t1);
  assert.deepEqual(change, { screenName: 'Bob Smith', oldFingerprint: 'f1', newFingerprint: 'f2', wasVerified: true });
  assert.equal(trustLevel(record), 'changed', 'an old personal verification does not carry over');
  assert.equal(verifyRecord(record, 'f1').ok, false);
  const ok = verifyRecord(record, 'f2');
  assert.ok(ok.ok);
  assert.equal(trustLevel(ok.record), 'personal');
  assert.equal(ok.record.previousFingerprint, undefined);
});

test('fingerprints read aloud in groups and parse back however typed', () => {
  const hex = 'ab'.repeat(32);
  const shown = formatFingerprint(hex);
  assert.match(shown, /^ABAB ABAB /);
  assert.equal(parseFingerprint(shown), hex);
  assert.equal(parseFingerprint('AB:AB:ab'), 'ababab');
});

test('the memory store keys buddies by normalized screen name', () => {
  const s = new MemoryBuddyStore();
  s.put(updateRecord(undefined, { ...base, fingerprint: 'f1' }, t0).record);
  assert.equal(s.get('bobsmith')?.fingerprint, 'f1');
  assert.equal(s.get('BOB SMITH')?.fingerprint, 'f1');
  assert.equal(s.all().length, 1);
});
