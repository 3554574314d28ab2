/**
 * One server per data directory, with real processes: a second `certim server` on the same data directory is
 * refused with a clear message and touches nothing; after `kill -9` of the first, a new one starts (the stale
 * lock is taken over and logged) and its admin socket answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, startServerProcess, TestServer } from './support/cli-harness.js';

test('a second server on the same data dir is refused; after kill -9 of the first a new one starts', { timeout: 300_000 }, async () => {
  const server = await TestServer.start();
  let next: Awaited<ReturnType<typeof startServerProcess>> | undefined;
  try {
    const chainBefore = readFileSync(join(server.dataDir, 'tls', 'server-chain.pem'), 'utf8');
    const second = startCli(['server', '--data-dir', server.dataDir, '--port', '0', '--tls-port', '0', '--http-port', '0', '--json']);
    second.child.stdin!.end();
    const r = await second.finish(60_000);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '', 'no ready line');
    const pid = server.cli.child.pid!;
    assert.match(r.stderr, new RegExp(`another certim server \\(pid ${pid}, started [^)]+\\) is already running on data directory ${server.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(r.stderr, /stop it first, or give this one another --data-dir/);
    assert.equal(readFileSync(join(server.dataDir, 'tls', 'server-chain.pem'), 'utf8'), chainBefore, 'the refused server did not rewrite the TLS chain');
    assert.equal((await runCli(['admin', 'sessions', '--data-dir', server.dataDir])).code, 0, 'the first server still answers');

    server.cli.child.kill('SIGKILL');
    await server.cli.exited;
    // The dead server left its lock and socket behind.
    assert.equal(JSON.parse(readFileSync(join(server.dataDir, 'server.lock'), 'utf8')).pid, pid);
    const stale = await runCli(['admin', 'sessions', '--data-dir', server.dataDir]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /no certim server is running on data directory/);

    next = await startServerProcess(server.dataDir);
    assert.equal(next.ready.caFingerprint, server.ready.caFingerprint);
    await next.cli.waitFor((_o, e) => e.includes('"event":"server.ready"'), 'ready log line');
    const takeover = next.cli.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'server.stale_lock_removed');
    assert.equal(takeover?.stalePid, pid);
    const sessions = await runCli(['admin', 'sessions', '--data-dir', server.dataDir]);
    assert.equal(sessions.code, 0, sessions.stderr);
    assert.match(sessions.stdout, /nobody is online/);
    const stopped = await next.cli.stop();
    assert.equal(stopped.code, 0);
  } finally {
    if (next && next.cli.child.exitCode === null) await next.cli.stop();
    await server.stop();
  }
});
