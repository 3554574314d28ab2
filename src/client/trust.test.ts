import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptRecord, formatFingerprint, MemoryBuddyStore, parseFingerprint, pendingKeyChange, pinModern, trustLevel, updateRecord, verifiedKeyChanged, verifyRecord } from './trust.js';

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

test('a verified key that changes blocks sending until verified again or accepted (accept drops to ca)', () => {
  const first = verifyRecord(updateRecord(undefined, { ...base, fingerprint: 'f1' }, t0).record, 'f1');
  assert.ok(first.ok);
  assert.equal(verifiedKeyChanged(first.record), false);
  const changed = updateRecord(first.record, { ...base, fingerprint: 'f2' }, t1).record;
  assert.equal(verifiedKeyChanged(changed), true);
  const accepted = acceptRecord(changed);
  assert.ok(accepted);
  assert.equal(trustLevel(accepted), 'ca');
  assert.equal(verifiedKeyChanged(accepted), false);
  assert.equal(acceptRecord(accepted), undefined, 'nothing to accept without a change');
  // An unverified buddy's change is a warning, not a block.
  const plain = updateRecord(updateRecord(undefined, { ...base, fingerprint: 'f1' }, t0).record, { ...base, fingerprint: 'f2' }, t1).record;
  assert.equal(trustLevel(plain), 'changed');
  assert.equal(verifiedKeyChanged(plain), false);
});

test('the modern-profile pin survives a presence without the capability and a key change, until acknowledged', () => {
  const seen = pinModern(updateRecord(undefined, { ...base, fingerprint: 'f1' }, t0).record, t0);
  assert.equal(seen.modernSince, t0.toISOString());
  const stripped = pinModern({ ...seen, modern: false }, t1);
  assert.equal(stripped.modernSince, t0.toISOString(), 'a presence without the capability keeps the pin');
  const rekeyed = updateRecord(stripped, { ...base, modern: false, fingerprint: 'f2' }, t1).record;
  assert.equal(rekeyed.modernSince, t0.toISOString(), 'an unacknowledged key change keeps the pin');
  const ack = verifyRecord(rekeyed, 'f2');
  assert.ok(ack.ok);
  assert.equal(ack.record.modernSince, undefined, 'acknowledging the change resets the pin');
  const noChange = verifyRecord(seen, 'f1');
  assert.ok(noChange.ok);
  assert.equal(noChange.record.modernSince, t0.toISOString(), 'verifying an unchanged key keeps the pin');
  assert.equal(acceptRecord(rekeyed)?.modernSince, undefined);
  assert.equal(pinModern({ ...base, fingerprint: 'f3', firstSeen: '', since: '', modern: false }, t1).modernSince, undefined);
});

test('a pending key change reads back from the record as updateRecord reported it, until verified or accepted', () => {
  const first = verifyRecord(updateRecord(undefined, { ...base, fingerprint: 'f1' }, t0).record, 'f1');
  assert.ok(first.ok);
  assert.equal(pendingKeyChange(first.record), undefined);
  const u = updateRecord(first.record, { ...base, fingerprint: 'f2' }, t1);
  assert.deepEqual(pendingKeyChange(u.record), u.change);
  assert.equal(pendingKeyChange(acceptRecord(u.record)!), undefined);
  const again = verifyRecord(u.record, 'f2');
  assert.ok(again.ok);
  assert.equal(pendingKeyChange(again.record), undefined);
});
