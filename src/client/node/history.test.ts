import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatHistory } from './history.js';
import { historyOutsideCiphertext } from './history.test-support.js';

function part(tag: string) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, certDer: new Uint8Array(Buffer.from(`cert ${tag}`)) };
}

describe('encrypted chat history', () => {
  it('stores nothing readable, reads back with the key, survives a key rotation, refuses other keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certim-history-'));
    try {
      const file = join(dir, 'history.jsonl');
      const old = part('old');
      const h1 = new ChatHistory(file, [old]);
      h1.append({ time: '2026-01-01T00:00:00.000Z', with: 'bob', who: 'bob', text: 'secret 漢字 one', marker: '[secure]' });
      const cur = part('new');
      const h2 = new ChatHistory(file, [cur, old]);
      h2.append({ time: '2026-01-01T00:01:00.000Z', with: 'bob', who: 'me', text: 'secret two', marker: '[secure]', status: 'delivered' });
      const raw = readFileSync(file, 'utf8');
      assert.doesNotMatch(historyOutsideCiphertext(raw), /secret|bob|漢字/);
      assert.match(raw, /"c":"[A-Za-z0-9+/=]{40,}"/, 'the ciphertext is there, in base64');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(h2.load().entries.map((e) => e.text), ['secret 漢字 one', 'secret two']);
      const other = new ChatHistory(file, [part('other')]).load();
      assert.deepEqual([other.entries.length, other.unreadable], [0, 2]);
      // Change the first ciphertext character to a different one (replacing it with a fixed 'A' was a no-op 1 time in 64).
      writeFileSync(file, raw.replace(/"c":"(.)/, (_m, ch: string) => `"c":"${ch === 'A' ? 'B' : 'A'}`));
      assert.equal(new ChatHistory(file, [cur, old]).load().unreadable, 1, 'a tampered line is refused');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the newest entries per conversation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certim-history-'));
    try {
      const h = new ChatHistory(join(dir, 'h.jsonl'), [part('k')]);
      for (let i = 0; i < 5; i++) h.append({ time: new Date(i).toISOString(), with: i % 2 ? 'Bob' : 'carol', who: 'me', text: `m${i}`, marker: '[secure]' });
      assert.deepEqual(h.load(2).entries.map((e) => e.text), ['m1', 'm2', 'm3', 'm4']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
