/**
 * The README's "Try it" section, run exactly as written: each "Terminal N" code block is a bash script run in a
 * temp copy of the working directory, with `npx` on PATH resolving `npx certim` to this checkout's CLI (from
 * source, so no build is needed; every other word of every command is the README's). Terminal 1 (server) and
 * Terminal 2 (ending in `listen`) keep running; Terminal 3 runs to completion; then Terminal 2 must show Alice's IM
 * as secure. The server uses its default ports (5190, 5191, 8443), as the README does: they must be free.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT } from './support/cli-harness.js';

/** The README's "## Try it" section. */
function tryItSection(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /^## Try it\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme);
  assert.ok(m, 'README.md has no "## Try it" section');
  return m[1]!;
}

/** Code blocks keyed by their "Terminal N" heading. */
function terminalBlocks(section: string): Map<number, string> {
  const out = new Map<number, string>();
  const re = /\*\*Terminal (\d+)\*\*[\s\S]*?```sh\n([\s\S]*?)```/g;
  for (let m = re.exec(section); m; m = re.exec(section)) out.set(Number(m[1]), m[2]!);
  return out;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

class Shell {
  out = '';
  err = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  constructor(script: string, cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => { this.out += d; });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.err += d; });
    this.exited = new Promise((r) => this.child.on('close', (code) => r(code)));
  }
  async waitFor(pred: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.child.exitCode !== null) throw new Error(`shell exited (${this.child.exitCode}) before ${what}\nstdout: ${this.out}\nstderr: ${this.err}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout: ${this.out}\nstderr: ${this.err}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  kill(): void {
    try {
      if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

test('the README "Try it" commands work as written', { timeout: 400_000 }, async () => {
  const blocks = terminalBlocks(tryItSection());
  assert.deepEqual([...blocks.keys()], [1, 2, 3], 'three terminal blocks');
  for (const p of [5190, 5191, 8443]) assert.ok(await portFree(p), `port ${p} is in use: the README's server needs it`);

  const cwd = mkdtempSync(join(tmpdir(), 'certim-try-it-'));
  // `npx certim ...` -> this checkout's CLI; any other npx use is refused so the test cannot reach the registry.
  const shim = `#!/usr/bin/env bash\nif [ "$1" != certim ]; then echo "npx shim: only 'npx certim' is allowed" >&2; exit 127; fi\nshift\nexec ${CLI.map((a) => `'${a}'`).join(' ')} "$@"\n`;
  writeFileSync(join(cwd, 'npx'), shim);
  chmodSync(join(cwd, 'npx'), 0o755);
  // CERTIM_KEY_SIZE keeps RSA at 2048 on the shared CI cores; the commands themselves are unchanged.
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${cwd}:${process.env.PATH ?? ''}`, CERTIM_KEY_SIZE: '2048' };
  delete env.CERTIM_PASSWORD;
  delete env.CERTIM_PASSPHRASE;

  const shells: Shell[] = [];
  try {
    const t1 = new Shell(blocks.get(1)!, cwd, env);
    shells.push(t1);
    await t1.waitFor(() => /server\.ready/.test(t1.err), 'the server to be ready');

    const t2 = new Shell(blocks.get(2)!, cwd, env);
    shells.push(t2);
    await t2.waitFor(() => /waiting for IMs/.test(t2.err), "bob's listen to sign on");

    const t3 = new Shell(blocks.get(3)!, cwd, env);
    shells.push(t3);
    const code = await t3.exited;
    assert.equal(code, 0, `terminal 3 failed\nstdout: ${t3.out}\nstderr: ${t3.err}`);
    assert.match(t3.out, /sent to bob: encrypted and signed/);

    await t2.waitFor(() => /alice \[secure\]: Hello Bob, only you can read this\./.test(t2.out), "the IM in bob's terminal");
    assert.match(t2.out, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d alice \[secure\]: Hello Bob, only you can read this\.$/m);
  } finally {
    for (const s of shells.reverse()) s.kill();
    await Promise.all(shells.map((s) => s.exited));
    rmSync(cwd, { recursive: true, force: true });
  }
});
