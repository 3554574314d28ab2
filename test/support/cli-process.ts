/**
 * Real `certim` processes for end-to-end tests and benches: a `certim server --json` process on free ports in a temp
 * data directory, accounts made with `certim admin user add`, and CLI processes (one-shot or long-running).
 * Tests import cli-harness.ts, which adds the node:test hook that kills leftovers; a bench imports this file (no
 * node:test, so no TAP output) and calls {@link killLiveCliProcesses} itself.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Repository root. */
export const ROOT = resolve(import.meta.dirname, '..', '..');
/** The CLI entry (source, through tsx). */
export const CLI_ENTRY = join(ROOT, 'test', 'support', 'certim.ts');
/** The tsx loader, by absolute URL so the CLI can run from any working directory. */
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;
/** How a test starts `certim`: the equivalent of `npx certim` (`node --import tsx test/support/certim.ts`). */
export const CLI = [process.execPath, '--import', TSX, CLI_ENTRY];

/** The ready line of `certim server --json`. */
export interface ServerReady {
  event: 'ready';
  oscar: number;
  oscarTls: number;
  https: number;
  caFingerprint: string;
  /** Rendezvous proxy port. */
  proxy: number;
}

/** Output of a finished process. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The JSON objects among the lines of a `--json` command's stdout (other lines skipped). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A running long-lived CLI process with helpers to wait for output. */
export class RunningCli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<RunResult>;
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.poke();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.poke();
    });
    this.exited = new Promise((res) => child.on('close', (code) => {
      this.poke();
      res({ code, stdout: this.stdout, stderr: this.stderr });
    }));
  }

  private poke(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `pred` holds for (stdout, stderr), or fails after `timeoutMs`. */
  async waitFor(pred: (stdout: string, stderr: string) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.stdout, this.stderr)) {
      if (this.child.exitCode !== null) throw new Error(`process exited (${this.child.exitCode}) while waiting for ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** JSON objects printed on stdout, one per line. */
  jsonLines(): Record<string, unknown>[] {
    return jsonLines(this.stdout);
  }

  /** Waits for the process to exit on its own; kills it and fails after `timeoutMs` (a hung CLI fails the test). */
  async finish(timeoutMs = 90_000): Promise<RunResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`process did not exit within ${timeoutMs} ms\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process (SIGTERM) and waits for it. */
  async stop(): Promise<RunResult> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** CLI processes still running, so a failed assertion never leaves one behind (see {@link killLiveCliProcesses}). */
const live = new Set<ChildProcess>();

/** Kills (SIGKILL) every CLI process this module started that is still running. */
export function killLiveCliProcesses(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** Starts a CLI process (`nodeArgs`: extra options for node itself, e.g. --cpu-prof). */
export function startCli(args: string[], env: Record<string, string> = {}, cwd = ROOT, nodeArgs: readonly string[] = []): RunningCli {
  const child = spawn(CLI[0]!, [...nodeArgs, ...CLI.slice(1), ...args], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  return new RunningCli(child);
}

/** Runs a CLI command to completion. */
export async function runCli(args: string[], env: Record<string, string> = {}, opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  const p = startCli(args, env, opts.cwd);
  p.child.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts `certim server --json` over `dataDir` on free ports and waits for its ready line. */
export async function startServerProcess(
  dataDir: string,
  opts: { ports?: ServerReady; nodeArgs?: readonly string[]; serverArgs?: readonly string[] } = {},
): Promise<{ cli: RunningCli; ready: ServerReady }> {
  const p = opts.ports ?? { oscar: 0, oscarTls: 0, https: 0, proxy: 0 };
  const cli = startCli(
    ['server', '--data-dir', dataDir, '--port', String(p.oscar), '--tls-port', String(p.oscarTls), '--http-port', String(p.https), '--proxy-port', String(p.proxy), '--json', ...(opts.serverArgs ?? [])],
    {}, ROOT, opts.nodeArgs ?? [],
  );
  await cli.waitFor((out) => out.includes('"event":"ready"'), 'server ready line', 90_000);
  const ready = JSON.parse(cli.stdout.split('\n').find((l) => l.includes('"event":"ready"'))!) as ServerReady;
  return { cli, ready };
}

/** A real server process in a temp data directory. */
export class TestServer {
  private constructor(
    readonly dataDir: string,
    readonly tmp: string,
    public cli: RunningCli,
    readonly ready: ServerReady,
    private readonly nodeArgs: readonly string[] = [],
    private readonly serverArgs: readonly string[] = [],
  ) {}

  /**
   * Stops the server process (SIGTERM, every connection dropped) and starts a new one over the same data directory
   * on the same ports, so clients that reconnect find it where it was.
   */
  async restart(): Promise<void> {
    await this.cli.stop();
    this.cli = (await startServerProcess(this.dataDir, { ports: this.ready, nodeArgs: this.nodeArgs, serverArgs: this.serverArgs })).cli;
  }

  /**
   * Starts a server and waits for its ready line (`nodeArgs`: extra node options of the server process;
   * `serverArgs`: extra `certim server` flags).
   */
  static async start(nodeArgs: readonly string[] = [], serverArgs: readonly string[] = []): Promise<TestServer> {
    const tmp = mkdtempSync(join(tmpdir(), 'certim-e2e-'));
    const dataDir = join(tmp, 'data');
    const { cli, ready } = await startServerProcess(dataDir, { nodeArgs, serverArgs });
    return new TestServer(dataDir, tmp, cli, ready, nodeArgs, serverArgs);
  }

  /** EST base URL. */
  get httpsUrl(): string {
    return `https://127.0.0.1:${this.ready.https}`;
  }

  /** OSCAR-over-TLS address. */
  get tlsAddress(): string {
    return `127.0.0.1:${this.ready.oscarTls}`;
  }

  /** Creates an account (`legacyLogin`: classic MD5 login allowed, for plain-port sign-ons). */
  async addUser(name: string, password: string, opts: { legacyLogin?: boolean } = {}): Promise<void> {
    const args = ['admin', 'user', 'add', name, '--password-stdin', '--data-dir', this.dataDir, ...(opts.legacyLogin ? ['--legacy-login'] : [])];
    const r = await runCli(args, {}, { input: `${password}\n` });
    if (r.code !== 0) throw new Error(`admin user add ${name} failed: ${r.stderr}`);
  }

  /**
   * Creates account `name` (password `NAME-pw-1`, profile passphrase `NAME pass`, profile under the temp directory)
   * and enrolls it with `certim keys init`, asserting that exits 0.
   */
  async enrolledUser(name: string): Promise<TestUser> {
    const u = new TestUser(name, join(this.tmp, name), `${name}-pw-1`, `${name} pass`);
    await this.addUser(u.name, u.password);
    const r = await u.keysInit(this);
    assert.equal(r.code, 0, r.stderr);
    return u;
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    await this.cli.stop();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** A user with a profile directory and secrets passed the scripted way (environment). */
export class TestUser {
  constructor(readonly name: string, readonly profile: string, readonly password: string, readonly passphrase: string) {}

  /** Environment with this user's secrets and a small key size (2 shared cores). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return { CERTIM_PASSWORD: this.password, CERTIM_PASSPHRASE: this.passphrase, CERTIM_KEY_SIZE: '2048', ...extra };
  }

  /** Runs `certim ARGS --profile DIR` as this user. */
  run(args: string[], extra: Record<string, string> = {}, opts: { input?: string } = {}): Promise<RunResult> {
    return runCli([...args, '--profile', this.profile], this.env(extra), opts);
  }

  /** Starts `certim ARGS --profile DIR` as this user. */
  start(args: string[], extra: Record<string, string> = {}): RunningCli {
    const p = startCli([...args, '--profile', this.profile], this.env(extra));
    p.child.stdin!.end();
    return p;
  }

  /** `certim keys init` against `server` (optionally through another OSCAR address, e.g. a proxy). */
  keysInit(server: TestServer, oscarAddress = server.tlsAddress): Promise<RunResult> {
    return this.run(['keys', 'init', '--server', oscarAddress, '--user', this.name, '--https', server.httpsUrl, '--ca-fingerprint', server.ready.caFingerprint]);
  }
}
