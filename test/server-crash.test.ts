/**
 * The offline-IM durability promise at the level a user sees it: once the server has acknowledged an IM for an offline
 * user (04/0C host ack), that IM survives `kill -9` of the server process and is delivered at the recipient's
 * next sign-on to the restarted server. Real server processes over one data directory, real sockets, SIGKILL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tlv } from '../src/wire/tlv.js';
import { runCli, startServerProcess, type RunningCli } from './support/cli-harness.js';
import { imBody, parseIncomingIm, signOn } from './support/oscar-test-client.js';

test('an acknowledged offline IM survives kill -9 of the server and is delivered after restart', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'certim-crash-'));
  const dataDir = join(tmp, 'data');
  let server: RunningCli | undefined;
  try {
    let s = await startServerProcess(dataDir);
    server = s.cli;
    for (const [name, pw] of [['alice', 'alice-pw'], ['bob', 'bob-pw']] as const) {
      const r = await runCli(['admin', 'user', 'add', name, '--legacy-login', '--password-stdin', '--data-dir', dataDir], {}, { input: `${pw}\n` });
      assert.equal(r.code, 0, r.stderr);
    }

    // Alice (a classic MD5 login on the plain port: the accounts opt in with --legacy-login) sends offline Bob three IMs with store-if-offline + ack wanted,
    // and waits for each ack before the next, as a client would.
    const alice = await signOn({ port: s.ready.oscar }, 'alice', 'alice-pw', 'md5-strong');
    const texts = [0, 1, 2].map((i) => `crash-marker-${i}-${randomBytes(6).toString('hex')}`);
    for (const [i, text] of texts.entries()) {
      const cookie = Uint8Array.from([9, 9, 9, 9, 9, 9, 9, i]);
      const req = alice.conn.sendSnac(0x0004, 0x0006, imBody('bob', text, [tlv(0x0003), tlv(0x0006)], cookie));
      const ack = await alice.conn.expectSnacWhere(0x0004, 0x000c, (snac) => snac.requestId === req, 20_000);
      assert.deepEqual([...ack.body.subarray(0, 8)], [...cookie], 'host ack echoes the IM cookie');
    }

    // Crash right after the last ack: no shutdown path runs.
    s.cli.child.kill('SIGKILL');
    const exit = await s.cli.exited;
    assert.equal(exit.code, null, 'the server was killed, not shut down');
    alice.conn.close();

    s = await startServerProcess(dataDir);
    server = s.cli;
    const bob = await signOn({ port: s.ready.oscar }, 'bob', 'bob-pw', 'md5-strong');
    const got: string[] = [];
    while (got.length < texts.length) {
      const snac = await bob.conn.expectSnac(0x0004, 0x0007, 20_000);
      const im = parseIncomingIm(snac.body);
      assert.equal(im.sender, 'alice');
      got.push(Buffer.from(im.text ?? new Uint8Array()).toString('utf8'));
    }
    assert.deepEqual(got, texts, 'all acknowledged IMs arrive, in order, byte for byte');
    bob.conn.close();
    await s.cli.stop();
    server = undefined;
  } finally {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
});
