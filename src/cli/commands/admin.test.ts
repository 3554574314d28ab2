import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../store/index.js';
import { runAdmin } from './admin.js';

const root = mkdtempSync(join(tmpdir(), 'certim-admin-dispatch-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('admin cert revokes through the SQL ledger of the store named by --data-dir', async () => {
  const dir = join(root, 'a');
  const store = await openStore(`sqlite:${join(dir, 'certim.db')}`);
  await store.ledger.recordIssued({
    serial: '1f2e', screenName: 'sam', purpose: 'encrypt', notBefore: new Date(0), notAfter: new Date(4e12),
    fingerprint: 'aa'.repeat(32), der: new Uint8Array([0x30, 0x00]), issuedAt: new Date(1000),
  });
  await store.close();

  assert.equal(await runAdmin(['cert', 'list', 'Sam', '--data-dir', dir]), 0);
  assert.equal(await runAdmin(['cert', 'revoke', '1F:2E', '--reason', 'keyCompromise', '--data-dir', dir]), 0);
  assert.equal(await runAdmin(['cert', 'revoke', 'abcd', `--db=sqlite:${join(dir, 'certim.db')}`]), 1, 'unknown serial');

  const again = await openStore(`sqlite:${join(dir, 'certim.db')}`);
  const rec = await again.ledger.get('1f2e');
  await again.close();
  assert.equal(rec?.revocationReason, 'keyCompromise');
  assert.ok(rec?.revokedAt);
});

test('admin dispatch: help and bad arguments create no database', async () => {
  const dir = join(root, 'b');
  assert.equal(await runAdmin(['cert', '--help', '--data-dir', dir]), 0);
  assert.equal(await runAdmin(['cert', '--data-dir', dir]), 2);
  assert.equal(await runAdmin(['cert', 'list', '--data-dir']), 2);
  assert.equal(await runAdmin([]), 2);
  assert.equal(existsSync(dir), false);
});
