/**
 * Across NAT-like isolation (docs/protocol.md §8.3): the server runs in one network namespace, each client in its
 * own; each client namespace routes only to the server's address, so the clients cannot reach each other. The
 * transfer goes through the rendezvous proxy; a second test sends a file with `certim file` there, then again after
 * the server namespace starts routing between the client networks (direct this time). Needs root and iproute2 (`ip netns`); without them the test FAILS
 * saying so, it never passes silently. Traffic stays inside the three namespaces (deleted afterwards).
 *
 *   ca{S}: 10.201.1.2 ──veth── 10.201.1.1 ┐
 *                                         cs{S}: server on 10.201.0.1 (lo), no forwarding
 *   cb{S}: 10.201.2.2 ──veth── 10.201.2.1 ┘
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, RunningCli, runCli } from './support/cli-harness.js';

const S = (process.pid % 100_000).toString(36);
const NS = { server: `cs${S}`, a: `ca${S}`, b: `cb${S}` };

function sh(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

function setUp(): void {
  for (const n of Object.values(NS)) sh('netns', 'add', n);
  sh('-n', NS.server, 'link', 'set', 'lo', 'up');
  sh('-n', NS.server, 'addr', 'add', '10.201.0.1/32', 'dev', 'lo');
  for (const [side, n, net] of [['a', NS.a, '1'], ['b', NS.b, '2']] as const) {
    const inServer = `v${side}${S}`;
    const inClient = `p${side}${S}`;
    sh('link', 'add', inServer, 'netns', NS.server, 'type', 'veth', 'peer', 'name', inClient, 'netns', n);
    sh('-n', NS.server, 'addr', 'add', `10.201.${net}.1/24`, 'dev', inServer);
    sh('-n', NS.server, 'link', 'set', inServer, 'up');
    sh('-n', n, 'link', 'set', 'lo', 'up');
    sh('-n', n, 'addr', 'add', `10.201.${net}.2/24`, 'dev', inClient);
    sh('-n', n, 'link', 'set', inClient, 'up');
    sh('-n', n, 'route', 'add', '10.201.0.1/32', 'via', `10.201.${net}.1`);
  }
}

function tearDown(): void {
  for (const n of Object.values(NS)) spawnSync('ip', ['netns', 'del', n]);
}

function inNs(ns: string, args: string[]): RunningCli {
  return new RunningCli(spawn('ip', ['netns', 'exec', ns, ...CLI.slice(0, 3), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
}

function lines(p: RunningCli): Record<string, unknown>[] {
  return p.jsonLines();
}

test('two clients in separate network namespaces, unable to reach each other, transfer through the proxy', { timeout: 240_000 }, async (t) => {
  const available = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
  if (!available) assert.fail('NETWORK NAMESPACES UNAVAILABLE: this test needs root and iproute2 (`ip netns`); it did NOT run');
  const tmp = mkdtempSync(join(tmpdir(), 'certim-netns-'));
  let server: RunningCli | undefined;
  tearDown();
  try {
    setUp();
    const dataDir = join(tmp, 'data');
    server = inNs(NS.server, [join(ROOT, 'test', 'support', 'certim.ts'), 'server', '--data-dir', dataDir, '--host', '10.201.0.1', '--port', '0', '--tls-port', '0', '--http-port', '0', '--proxy-port', '0', '--json']);
    await server.waitFor((o) => o.includes('"event":"ready"'), 'server ready', 120_000);
    const ready = lines(server).find((l) => l.event === 'ready')!;
    for (const [u, p] of [['alice', 'alice-pw-1'], ['bob', 'bob-pw-1']]) {
      const r = await runCli(['admin', 'user', 'add', u!, '--password-stdin', '--legacy-login', '--data-dir', dataDir], {}, { input: `${p}\n` });
      assert.equal(r.code, 0, r.stderr);
    }
    const peer = join(ROOT, 'test', 'support', 'netns-peer.ts');
    const common = ['10.201.0.1', String(ready.oscar), String(ready.proxy)];
    const bytes = 8 * 1024 * 1024;
    const bob = inNs(NS.b, [peer, 'recv', ...common, 'bob', 'bob-pw-1']);
    await bob.waitFor((o) => o.includes('"signed-on"'), 'bob signed on', 60_000);
    const alice = inNs(NS.a, [peer, 'send', ...common, 'alice', 'alice-pw-1', 'bob', String(bytes), '10.201.2.2:9']);
    const [ra, rb] = await Promise.all([alice.finish(120_000), bob.finish(120_000)]);
    assert.equal(ra.code, 0, `alice: ${ra.stdout} ${ra.stderr}`);
    assert.equal(rb.code, 0, `bob: ${rb.stdout} ${rb.stderr}`);
    const probe = lines(alice).find((l) => l.event === 'probe')!;
    t.diagnostic(`direct connect from alice's namespace to bob's: ${String(probe.result)}`);
    assert.notEqual(probe.result, 'connected', 'the clients must not reach each other directly');
    const proposal = lines(bob).find((l) => l.event === 'proposal')!;
    assert.deepEqual([proposal.ip, proposal.viaProxy], ['10.201.0.1', true], 'the ack named the server namespace address');
    const sent = lines(alice).find((l) => l.event === 'sent')!;
    const received = lines(bob).find((l) => l.event === 'received')!;
    assert.deepEqual([received.bytes, received.sha256], [bytes, sent.sha256]);
  } finally {
    await server?.stop();
    tearDown();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('certim file transfer across namespaces: through the proxy when the clients cannot reach each other, directly when routing allows', { timeout: 600_000 }, async (t) => {
  const available = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
  if (!available) assert.fail('NETWORK NAMESPACES UNAVAILABLE: this test needs root and iproute2 (`ip netns`); it did NOT run');
  const tmp = mkdtempSync(join(tmpdir(), 'certim-netns-files-'));
  let server: RunningCli | undefined;
  tearDown();
  try {
    setUp();
    const dataDir = join(tmp, 'data');
    server = inNs(NS.server, [join(ROOT, 'test', 'support', 'certim.ts'), 'server', '--data-dir', dataDir, '--host', '10.201.0.1', '--port', '0', '--tls-port', '0', '--http-port', '0', '--proxy-port', '0', '--json']);
    await server.waitFor((o) => o.includes('"event":"ready"'), 'server ready', 120_000);
    const ready = lines(server).find((l) => l.event === 'ready')!;
    const users = { alice: NS.a, bob: NS.b } as const;
    const env = (u: string): Record<string, string> => ({ CERTIM_PASSWORD: `${u}-pw-1`, CERTIM_PASSPHRASE: `${u} pass`, CERTIM_KEY_SIZE: '2048' });
    const cli = (u: keyof typeof users, args: string[]): RunningCli => {
      const p = new RunningCli(spawn('ip', ['netns', 'exec', users[u], ...CLI.slice(0, 3), CLI[3]!, ...args, '--profile', join(tmp, u)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env(u) } }));
      return p;
    };
    for (const u of ['alice', 'bob'] as const) {
      const r = await runCli(['admin', 'user', 'add', u, '--password-stdin', '--data-dir', dataDir], {}, { input: `${u}-pw-1\n` });
      assert.equal(r.code, 0, r.stderr);
      const k = await cli(u, ['keys', 'init', '--server', `10.201.0.1:${String(ready.oscarTls)}`, '--user', u, '--https', `https://10.201.0.1:${String(ready.https)}`, '--ca-fingerprint', String(ready.caFingerprint)]).finish(180_000);
      assert.equal(k.code, 0, k.stderr);
    }
    const file = join(tmp, 'payload.bin');
    const data = randomBytes(8 * 1024 * 1024);
    writeFileSync(file, data);
    const proxy = ['--proxy', `10.201.0.1:${String(ready.proxy)}`];
    const transfer = async (dir: string): Promise<string> => {
      const bob = cli('bob', ['file', 'receive', '--dir', dir, '--json', '--accept-from', 'alice', ...proxy]);
      await bob.waitFor((o) => o.includes('"event":"ready"'), 'bob ready', 120_000);
      const alice = cli('alice', ['file', 'send', 'bob', file, '--json', ...proxy]);
      const [ra, rb] = await Promise.all([alice.finish(180_000), bob.finish(180_000)]);
      assert.equal(ra.code, 0, `alice: ${ra.stdout} ${ra.stderr}`);
      assert.equal(rb.code, 0, `bob: ${rb.stdout} ${rb.stderr}`);
      assert.equal(createHash('sha256').update(readFileSync(join(dir, 'payload.bin'))).digest('hex'), createHash('sha256').update(data).digest('hex'));
      return String(lines(bob).find((l) => l.event === 'received')!.route);
    };
    mkdirSync(join(tmp, 'in-1'));
    assert.equal(await transfer(join(tmp, 'in-1')), 'proxy', 'no route between the clients: the proxy carries it');
    // Now let the server namespace route between the two client networks.
    sh('netns', 'exec', NS.server, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    sh('-n', NS.a, 'route', 'add', '10.201.2.0/24', 'via', '10.201.1.1');
    sh('-n', NS.b, 'route', 'add', '10.201.1.0/24', 'via', '10.201.2.1');
    mkdirSync(join(tmp, 'in-2'));
    const route = await transfer(join(tmp, 'in-2'));
    t.diagnostic(`with routing: ${route}`);
    assert.equal(route, 'direct', 'routing allows: the clients connect directly');
  } finally {
    await server?.stop();
    tearDown();
    rmSync(tmp, { recursive: true, force: true });
  }
});
