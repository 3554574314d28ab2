/**
 * `certim server` as a real process: the --json ready line, the data directory it creates, CA reuse across
 * restarts, clean shutdown on SIGTERM/SIGINT, and the `npm start` path (bin/certim.js over a fresh build).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { parseServerArgs } from '../src/cli/commands/server.js';
import { SERVER_MALLOC_ARENA_MAX } from '../src/cli/heap-tuning.js';
import { CLI, ROOT, runCli } from './support/cli-harness.js';


interface Started {
  child: ChildProcess;
  ready: Record<string, unknown>;
  stdoutLines: () => string[];
  stderr: () => string;
}

/** A shell command line that starts the server with the arguments appended, as `npm start -- ARGS` runs its script. */
interface ShellStart {
  script: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Starts `certim server ...args` (from source through tsx, a given node command line, or a {@link ShellStart}) and
 * waits for the ready line.
 */
function startServer(args: string[], how: string[] | ShellStart = [...CLI.slice(1), 'server']): Promise<Started> {
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  const child = Array.isArray(how)
    ? spawn(process.execPath, [...how, ...args], { cwd: ROOT, stdio })
    : spawn('sh', ['-c', `${how.script} "$@"`, 'sh', ...args], { cwd: how.cwd, env: how.env, stdio });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ready line within 90 s; stderr:\n${err}`));
    }, 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before ready; stderr:\n${err}`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveReady({ child, ready: JSON.parse(line) as Record<string, unknown>, stdoutLines: () => out.split('\n').filter(Boolean), stderr: () => err });
      }
    });
  });
}

function stop(s: Started, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((res) => {
    const t = setTimeout(() => s.child.kill('SIGKILL'), 20_000);
    s.child.once('exit', (code) => {
      clearTimeout(t);
      res(code);
    });
    s.child.kill(signal);
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'certim-server-cli-'));
}

const PORT0 = ['--port', '0', '--tls-port', '0', '--http-port', '0', '--json'];

test('flags: defaults are 127.0.0.1, 5190/5191/8443, ./data; bad values are refused', () => {
  const d = parseServerArgs([]);
  assert.notEqual(d, 'help');
  if (d === 'help') return;
  assert.deepEqual([d.options.host, d.options.port, d.options.tlsPort, d.options.httpPort, d.options.dataDir, d.json], ['127.0.0.1', 5190, 5191, 8443, './data', false]);
  const p = parseServerArgs(['--port', '0', '--tls-port', '7', '--http-port', '65535', '--db', 'postgres://x', '--domain', 'im.example', '--json']);
  assert.ok(p !== 'help' && p.options.port === 0 && p.options.tlsPort === 7 && p.options.httpPort === 65535 && p.options.dbUrl === 'postgres://x' && p.options.domain === 'im.example' && p.json);
  assert.throws(() => parseServerArgs(['--port', '70000']), /port number/);
  assert.throws(() => parseServerArgs(['--port', 'abc']), /port number/);
  assert.throws(() => parseServerArgs(['--no-such-flag']));
  assert.deepEqual([d.logLevel, d.logFormat], ['info', 'auto']);
  const l = parseServerArgs(['--log-level', 'debug', '--log-format', 'json']);
  assert.ok(l !== 'help' && l.logLevel === 'debug' && l.logFormat === 'json');
  assert.throws(() => parseServerArgs(['--log-level', 'verbose']), /--log-level must be one of debug, info, warn, error, silent/);
  assert.throws(() => parseServerArgs(['--log-format', 'xml']), /--log-format must be one of auto, json, pretty/);
});

test('certim server --json: one ready line, data dir with DB + CA, same CA after restart, SIGTERM/SIGINT exit 0', { timeout: 240_000 }, async () => {
  const dir = tempDir();
  try {
    const first = await startServer(['--data-dir', dir, ...PORT0]);
    const r = first.ready;
    assert.equal(r.event, 'ready');
    for (const k of ['oscar', 'oscarTls', 'https'] as const) {
      assert.ok(Number.isInteger(r[k]) && (r[k] as number) > 0, `${k} is a bound port: ${String(r[k])}`);
    }
    assert.match(String(r.caFingerprint), /^[0-9a-f]{64}$/);
    // The fingerprint is SHA-256 of the root certificate DER on disk.
    const rootPem = readFileSync(join(dir, 'ca', 'root.crt'), 'utf8');
    const rootDer = new X509Certificate(rootPem).raw;
    assert.equal(r.caFingerprint, createHash('sha256').update(rootDer).digest('hex'));
    assert.ok(existsSync(join(dir, 'certim.db')), 'SQLite database created');
    assert.ok(existsSync(join(dir, 'ca', 'issuing.key')), 'issuing CA key created');
    // The server TLS certificate chains to that root.
    const chain = readFileSync(join(dir, 'tls', 'server-chain.pem'), 'utf8');
    const leaf = new X509Certificate(chain);
    assert.ok(leaf.checkHost('localhost'), 'server certificate names localhost');
    // Logs go to stderr as JSON lines (not a terminal), and say where we listen and the fingerprint.
    const logged = first.stderr().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const readyLog = logged.find((l) => l.event === 'server.ready');
    assert.ok(readyLog, `a server.ready log line:\n${first.stderr()}`);
    assert.equal(readyLog.caFingerprint, r.caFingerprint);
    assert.equal(readyLog.oscar, `127.0.0.1:${String(r.oscar)}`);
    // The plain OSCAR port accepts connections and speaks FLAP first (ch-1 hello: 2A 01).
    const hello = await new Promise<Buffer>((res, rej) => {
      const s = connect(r.oscar as number, '127.0.0.1');
      s.once('data', (d: Buffer) => {
        s.destroy();
        res(d);
      });
      s.once('error', rej);
    });
    assert.equal(hello[0], 0x2a);
    assert.equal(hello[1], 0x01);
    assert.equal(await stop(first, 'SIGTERM'), 0);
    assert.equal(first.stdoutLines().length, 1, `exactly one stdout line, got: ${first.stdoutLines().join(' | ')}`);

    const second = await startServer(['--data-dir', dir, ...PORT0]);
    assert.equal(second.ready.caFingerprint, r.caFingerprint, 'the CA is reused on restart');
    assert.equal(await stop(second, 'SIGINT'), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A variable of a running process's environment, from /proc. */
function envVarOf(pid: number, name: string): string | undefined {
  const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((v) => v.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

test('npm start path: package.json\'s start script, bin/certim.js over a fresh build, starts a working server with the malloc arena limit', { timeout: 300_000 }, async () => {
  const dir = tempDir();
  try {
    // Build src/ into a throwaway tree shaped like the package (bin/, dist/, package.json, node_modules).
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { encoding: 'utf8' });
    assert.ok(existsSync(join(pkg, 'dist', 'cli', 'main.js')), `build produced dist/cli/main.js:\n${tsc.stdout}${tsc.stderr}`);
    copyFileSync(join(ROOT, 'bin', 'certim.js'), join(pkg, 'bin', 'certim.js'));
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const script = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
    const env = { ...process.env };
    delete env.MALLOC_ARENA_MAX;
    const started = await startServer(['--data-dir', join(dir, 'data'), ...PORT0], { script, cwd: pkg, env });
    assert.equal(started.ready.event, 'ready');
    assert.match(String(started.ready.caFingerprint), /^[0-9a-f]{64}$/);
    assert.ok(existsSync(join(dir, 'data', 'ca', 'root.crt')));
    assert.equal(envVarOf(Number(started.ready.pid), 'MALLOC_ARENA_MAX'), SERVER_MALLOC_ARENA_MAX);
    assert.equal(await stop(started), 0);
    // An arena limit the admin set is kept.
    const own = await startServer(['--data-dir', join(dir, 'data'), ...PORT0], { script, cwd: pkg, env: { ...env, MALLOC_ARENA_MAX: '4' } });
    assert.equal(envVarOf(Number(own.ready.pid), 'MALLOC_ARENA_MAX'), '4');
    assert.equal(await stop(own), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a port already in use: exit 1 with a clear message, nothing on stdout', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const blocker = createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
  const busy = (blocker.address() as { port: number }).port;
  try {
    const r = await runCli(['server', '--data-dir', dir, '--port', '0', '--tls-port', '0', '--http-port', String(busy), '--json']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`cannot start: .*EADDRINUSE.*port ${busy} is in use`));
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
