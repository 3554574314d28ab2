// The store plugs into the server's ports as is (server/ports.ts promises `store.accounts` etc. satisfy them):
// this file fails to typecheck if the two drift apart, and exercises the store through the port types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerPorts } from '../src/server/ports.js';
import * as passwords from '../src/server/auth/password.js';
import { openStore } from '../src/store/index.js';

test('a SQLite store serves the server ports', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certim-ports-'));
  const store = await openStore(`sqlite:${join(dir, 'certim.db')}`);
  try {
    const ports: Omit<ServerPorts, 'certificates'> = {
      accounts: store.accounts,
      passwords,
      userInfo: store.userInfo,
      feedbag: store.feedbag,
      permitDeny: store.permitDeny,
      offline: store.offline,
    };
    const hash = await passwords.hashPassword('pw123456', { N: 1024, r: 8, p: 1 });
    await store.accounts.create({ screenName: 'Port User', passwordHash: hash, legacyVerifier: passwords.makeLegacyVerifier('pw123456') });
    const acct = await ports.accounts.get('portuser');
    assert.ok(acct?.legacyVerifier);
    assert.equal(await ports.passwords.verifyPassword('pw123456', acct.passwordHash), true);
    assert.equal(ports.passwords.checkLegacyLogin(acct.legacyVerifier, 'key', passwords.aimMd5Strong('key', 'pw123456'), true), true);
    const md5 = await ports.userInfo.setCertBlock('Port User', new Uint8Array([1, 2, 3]));
    assert.deepEqual((await ports.userInfo.get('portuser')).certHash, md5);
    assert.deepEqual(await ports.feedbag.apply('portuser', [{ op: 'insert', item: { name: 'G', groupId: 1, itemId: 0, classId: 1, attributes: new Uint8Array() } }], { maxItems: 5 }), [0]);
    await ports.offline.enqueue({ recipient: 'portuser', sender: 'x', channel: 1, cookie: new Uint8Array(8), payload: new Uint8Array([5]), sentAt: 1 }, 5);
    const [m] = await ports.offline.fetch('portuser', 5);
    assert.ok(m);
    assert.equal(await ports.offline.ack('portuser', [m.id]), 1);
    await ports.permitDeny.setMode('portuser', 3);
    assert.equal((await ports.permitDeny.get('portuser')).mode, 3);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
